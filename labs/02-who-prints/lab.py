# 子进程的输出会不会出现: the tutorial's first snippet (corrected), where the parent
# does not wait for its child.
import os

from forklab.checkpoint import checkpoint

parent = os.getpid()
pid = os.fork()
if pid == 0:
    # The child is slow on purpose: it prints only once its parent has ended
    # and is gone (kill(pid, 0) works while a process exists, even as a zombie).
    while True:
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            break
    print("我是子进程%s,我的父进程是%s" % (os.getpid(), os.getppid()), flush=True)
else:
    checkpoint("forked", parent=os.getpid(), child=pid)
    print("我是父进程%s,我创建了子进程%s" % (os.getpid(), pid), flush=True)
    # The parent ends here, without waiting for its child.
