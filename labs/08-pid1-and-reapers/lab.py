# 谁收养孤儿进程,谁回收它: PID 1, a child subreaper, and a parent that ignores SIGCHLD.
import ctypes
import os
import signal

from forklab.checkpoint import checkpoint

PR_SET_CHILD_SUBREAPER = 36           # from <linux/prctl.h>
libc = ctypes.CDLL(None, use_errno=True)
main = os.getpid()

# 1. 没有 subreaper: main forks a middle process, which forks an orphan and dies.
# The orphan goes to PID 1, not to its grandparent main (unless main *is* PID 1,
# as in variant python-pid1).  It stays alive until the end of the lab, so every
# later snapshot shows it too.
seen_r, seen_w = os.pipe()            # orphan -> main: "I have been seen adopted"
end_r, end_w = os.pipe()              # main -> orphan: "the lab is over"
middle = os.fork()
if middle == 0:
    middle = os.getpid()
    if os.fork() == 0:
        while os.getppid() == middle:
            pass                      # until middle has died and someone else has adopted us
        if os.getppid() == main:      # main is PID 1 itself: nobody else could adopt us
            print("孤儿进程%d: 父进程%d死了,收养我的是祖父进程%d,因为它是 PID 1"
                  % (os.getpid(), middle, main), flush=True)
        else:
            print("孤儿进程%d: 父进程%d死了,收养我的是%d,不是祖父进程%d"
                  % (os.getpid(), middle, os.getppid(), main), flush=True)
        checkpoint("adopted", middle=middle, orphan=os.getpid())
        os.write(seen_w, b".")
        os.read(end_r, 1)
        os._exit(0)
    os._exit(0)                       # the middle process dies, leaving an orphan
os.read(seen_r, 1)
os.waitpid(middle, 0)

# 2. subreaper: a process that called prctl(PR_SET_CHILD_SUBREAPER) adopts the
# orphans of its descendants instead of PID 1, and must reap them itself.
subreaper = os.fork()
if subreaper == 0:
    subreaper = os.getpid()
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")
    print("%d 调用了 prctl(PR_SET_CHILD_SUBREAPER, 1)" % subreaper, flush=True)
    seen2_r, seen2_w = os.pipe()      # orphan2 -> subreaper: "I have been seen adopted"
    middle2 = os.fork()
    if middle2 == 0:
        middle2 = os.getpid()
        if os.fork() == 0:
            while os.getppid() == middle2:
                pass
            print("孤儿进程%d: 父进程%d死了,收养我的是%d" % (os.getpid(), middle2, os.getppid()), flush=True)
            checkpoint("adopted-by-subreaper", subreaper=subreaper, middle2=middle2, orphan2=os.getpid())
            os.write(seen2_w, b".")
            os._exit(0)
        os._exit(0)
    os.read(seen2_r, 1)
    os.waitpid(middle2, 0)
    # orphan2 is our child now: wait until it has exited, leave it a zombie
    # (WNOWAIT) to look at, then reap it like any child.
    orphan2 = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOWAIT).si_pid
    checkpoint("orphan2-zombie", orphan2=orphan2)
    son_pid, status = os.wait()
    print("subreaper %d 回收了孤儿进程%d,状态 %d" % (subreaper, son_pid, status), flush=True)
    checkpoint("subreaper-reaped")
    os._exit(0)
os.waitpid(subreaper, 0)

# 3. 忽略 SIGCHLD: the kernel reaps main's children as soon as they exit; none
# becomes a zombie, nobody can read their exit status, and waitpid() finds no child.
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
child = os.fork()
if child == 0:
    checkpoint("ignoring-sigchld", child=os.getpid())
    os._exit(0)
try:
    # waitpid() for this one child: when main is PID 1 (variant python-pid1) the
    # orphan of part 1 is main's child too, and os.wait() would wait for it as well.
    os.waitpid(child, 0)              # blocks until the child has exited, then finds nothing
except ChildProcessError:
    print("忽略 SIGCHLD 时 os.waitpid() 抛出 ChildProcessError: 子进程已被内核回收", flush=True)
while True:                           # kill(pid, 0) finds a zombie too: the child is not even that
    try:
        os.kill(child, 0)
    except ProcessLookupError:
        break
checkpoint("after-child-exit", child=child)
signal.signal(signal.SIGCHLD, signal.SIG_DFL)   # as before part 3: what becomes of the orphan is PID 1's doing

os.write(end_w, b".")                 # the lab is over: the orphan from part 1 may exit now
