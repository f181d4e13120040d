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


# 1. fork N 个子进程, 按创建的顺序记下它们的 pid.
pids = []
for number in range(1, N + 1):
    pid = os.fork()
    if pid == 0:
        child(number)                          # never returns
    pids.append(pid)

# 2. 按创建的顺序回收: waitpid(pid) 只等这一个子进程, 哪怕别的子进程先结束.
for order, pid in enumerate(pids, start=1):
    pid, status = os.waitpid(pid, 0)
    print("第%d个回收: 子进程%d, 退出码 %d" % (order, pid, os.waitstatus_to_exitcode(status)), flush=True)

# 3. 所有子进程都回收了.
checkpoint("all-reaped", parent=os.getpid())
