# fork() 的两个返回值: the tutorial's first snippet, as printed and then corrected.
import os

from forklab.checkpoint import checkpoint

# As printed in the tutorial: os.getpid without (), so it prints the function itself.
pid = os.fork()
if pid == 0:
    print("我是子进程%s,我的父进程是%s" % (os.getpid, os.getppid), flush=True)
    os._exit(0)
else:
    print("我是父进程%s,我创建了子进程%s" % (os.getpid, pid), flush=True)
    os.waitpid(pid, 0)                 # who printed first? parent and child race

# Corrected: call the functions, and show what fork() returned in each process.
pid = os.fork()
if pid == 0:
    print("fork() 在子进程中返回 %d" % pid, flush=True)
    print("我是子进程%s,我的父进程是%s" % (os.getpid(), os.getppid()), flush=True)
    checkpoint("in-child", parent=os.getppid(), child=os.getpid())
    os._exit(0)
else:
    os.waitpid(pid, 0)                 # let the child speak first
    print("fork() 在父进程中返回 %d" % pid, flush=True)
    print("我是父进程%s,我创建了子进程%s" % (os.getpid(), pid), flush=True)
