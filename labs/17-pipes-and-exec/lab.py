# ls | wc -l, built by hand: the reader sees end-of-file only when every copy of
# the pipe's write end is closed, the parent's included.
import os

from forklab.checkpoint import checkpoint

parent = os.getpid()
os.makedirs("/tmp/demo", exist_ok=True)            # a folder with three files for ls to list
for name in ("a.txt", "b.txt", "c.txt"):
    open("/tmp/demo/" + name, "w").close()

r, w = os.pipe()                                   # r: the read end, w: the write end
print("管道: 读端 fd %d, 写端 fd %d" % (r, w), flush=True)

writer = os.fork()
if writer == 0:                                    # ls: stdout becomes the write end
    os.dup2(w, 1)
    os.close(r)
    os.close(w)
    os.execvp("ls", ["ls", "/tmp/demo"])

reader = os.fork()
if reader == 0:                                    # wc -l: stdin becomes the read end
    os.dup2(r, 0)
    os.close(r)
    os.close(w)                                    # the reader's own copy of the write end
    os.execvp("wc", ["wc", "-l"])

os.close(r)                                        # the parent keeps w open, on purpose
_, status = os.waitpid(writer, 0)
print("ls: 退出码 %d" % os.waitstatus_to_exitcode(status), flush=True)


def state(pid):
    """The state letter ps shows for pid (R, S, Z, ...), read from /proc."""
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def wchan(pid):
    """Where in the kernel pid sleeps: pipe_read (anon_pipe_read on newer kernels) while it reads a pipe."""
    with open("/proc/%d/wchan" % pid) as f:
        return f.read()


# ls has ended and its lines are in the pipe; wc reads them and waits for more,
# because one write end is still open: the parent's.
while not (state(reader) == "S" and wchan(reader).endswith("pipe_read")):
    pass
print("wc: 状态 %s, 在读管道 (read), 还没有打印" % state(reader), flush=True)
checkpoint("parent-holds-write-end", parent=parent, reader=reader)

print("父进程关闭写端 fd %d" % w, flush=True)
os.close(w)                                        # the last write end: wc now reads end-of-file
_, status = os.waitpid(reader, 0)
print("wc -l: 退出码 %d" % os.waitstatus_to_exitcode(status), flush=True)
checkpoint("all-reaped", parent=parent)
