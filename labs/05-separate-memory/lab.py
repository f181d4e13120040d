# 进程之间不共享变量: the tutorial's third snippet, then what fork() really copies.
import os
import tempfile

from forklab.checkpoint import checkpoint

# The tutorial's snippet.  It made the parent sleep(3) so the child printed
# first; waiting for the child does that without guessing a time.
num = 100
pid = os.fork()
# 子进程当中
if pid == 0:
    print("这里是子进程:")
    print(num)
    num = 10
    print(num, flush=True)
    os._exit(0)
# 主进程中
else:
    os.waitpid(pid, 0)
    print("这里是主进程:")
    print(num, flush=True)

# Does the child "copy all memory into extra memory"?  Give the parent 100 MiB,
# fork, and watch the memory only each process has (private) and the
# container's total, before and after the child writes to its copy.
data = bytearray(b"x" * (100 * 1024 * 1024))
checkpoint("before-fork", parent=os.getpid())
go_r, go_w = os.pipe()
done_r, done_w = os.pipe()
pid = os.fork()
if pid == 0:
    os.read(go_r, 1)                      # wait until the parent has looked
    for i in range(0, len(data), 4096):   # write one byte in every page
        data[i] = 0
    checkpoint("child-wrote", parent=os.getppid(), child=os.getpid())
    os.write(done_w, b".")
    os.read(go_r, 1)
    os._exit(0)
checkpoint("after-fork", parent=os.getpid(), child=pid)
os.write(go_w, b".")
os.read(done_r, 1)
os.write(go_w, b".")
os.waitpid(pid, 0)
del data

# What fork() shares: an open file, and its offset.  The child reads first,
# and moves the offset for the parent too.  (buffering=0: Python's own read
# buffer would read ahead and hide how far the child really read.)
with tempfile.TemporaryFile(buffering=0) as f:
    f.write(b"0123456789")
    f.seek(0)
    pid = os.fork()
    if pid == 0:
        print("子进程读到:", f.read(4).decode(), flush=True)
        os._exit(0)
    os.waitpid(pid, 0)
    print("父进程读到:", f.read(4).decode(), flush=True)
