# 练习 13: fork N 个子进程, 按创建的顺序回收它们, 打印每个子进程的退出码.
import os

from forklab.checkpoint import checkpoint

N = 4


# ---- Given: what each child does.  Do not change this part. ------------------
# The children end youngest first while their parent waits: child N goes once
# the parent is asleep in a wait, then each child goes once the next one is
# reaped, or is a zombie its parent is not waking up for.  (The kernel wakes a
# parent that waits for any child before the dead child shows as Z, and only
# such a parent: so a parent that reaps "whichever child ends first" has
# always reaped child k + 1 before child k ends, and sees them backwards.)
def state(pid):
    """The state letter of pid (R, S, Z, ...), or "gone" once it has been reaped."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:                            # no such process any more
        return "gone"


batons = [os.pipe() for _ in range(N + 1)]     # child k reads batons[k]; child k + 1 writes it


def child(number):
    """Child number (1 to N): it ends with exit code 10 + number, after every younger child."""
    if number == N:
        while state(os.getppid()) != "S":      # until the parent sleeps in a wait
            pass
    else:
        younger = int(os.read(batons[number][0], 32))
        while True:                            # until the next child is reaped, or left a zombie
            now = state(younger)
            if now == "gone" or (now == "Z" and state(os.getppid()) == "S"):
                break
    os.write(batons[number - 1][1], b"%d" % os.getpid())
    os._exit(10 + number)
# ---- End of the given part. ---------------------------------------------------


# TODO 1: fork N children.  Child number k (1 to N) calls child(k), which never
#         returns.  Keep their pids in a list, in the order you made them.
#
# TODO 2: reap them in that order: child 1 first, although child N ends first.
#         For each child print one line, with its exit code (not the raw wait
#         status: see os.waitstatus_to_exitcode), for example
#             第1个回收: 子进程1234, 退出码 11
#
# TODO 3: once every child is reaped, call
#             checkpoint("all-reaped", parent=os.getpid())
