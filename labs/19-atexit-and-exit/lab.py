# atexit与os._exit: a child that ends with sys.exit() shuts Python down the
# normal way, and that runs what it copied from its parent: the atexit
# handlers the parent registered, and the flush of every buffered file the
# parent had open.  os._exit() ends the process at once and runs neither.
#
#   python3 lab.py sys.exit     the child ends with sys.exit(0)
#   python3 lab.py flush        the parent flushes the file before fork(); the child ends with sys.exit(0)
#   python3 lab.py os._exit     the child ends with os._exit(0)
import atexit
import os
import sys

from forklab.checkpoint import checkpoint

how = sys.argv[1] if len(sys.argv) > 1 else "sys.exit"
parent = os.getpid()
path = "/tmp/atexit-and-exit.txt"


def goodbye():
    """The parent's clean-up: it should run once, when the parent ends."""
    who = "父进程" if os.getpid() == parent else "子进程"
    print("atexit处理函数运行了, 在%s中" % who, flush=True)


atexit.register(goodbye)

f = open(path, "w")                   # a buffered file: write() puts the text in a buffer
f.write("fork之前写入文件的一行\n")    # still in the buffer ...
if how == "flush":
    f.flush()                         # ... unless the parent writes it out before fork()

pid = os.fork()                       # the child gets a copy of the buffer and of the atexit list
if pid == 0:
    if how == "os._exit":
        os._exit(0)                   # ends at once: no atexit handler, no flush
    sys.exit(0)                       # runs the atexit handlers, then flushes the buffered file
os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)   # the child has ended (not collected yet)
checkpoint("child-ended", child=pid)
os.waitpid(pid, 0)
checkpoint("collected", child=pid)
print("子进程用%s(0)结束了" % ("os._exit" if how == "os._exit" else "sys.exit"), flush=True)

f.write("父进程写入的一行\n")
f.close()
print("文件的内容:")
with open(path) as written:
    for line in written:
        print("    " + line, end="")
sys.stdout.flush()
