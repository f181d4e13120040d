# 关于wait()的三个误解: kill -9 on a zombie, one wait() for three children, and
# wait() in a child.  Every child has ended before the parent looks
# (waitid(WNOWAIT) waits for that without collecting it), so every run
# prints the same lines and the checkpoints see the same states.
import os
import signal

from forklab.checkpoint import checkpoint

parent = os.getpid()


def state(pid):
    """The state letter ps shows for pid (R, S, Z, ...), read from /proc."""
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def ended(pid):
    """Wait until the child has exited, and leave it a zombie (WNOWAIT)."""
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)


# 1. kill -9 一个僵尸进程.
pid = os.fork()
if pid == 0:
    os._exit(5)
ended(pid)
print("1. 子进程%d已经退出, 状态 %s" % (pid, state(pid)), flush=True)
checkpoint("zombie", parent=parent, zombie=pid)
os.kill(pid, signal.SIGKILL)                 # the same as `kill -9 PID` in a shell
print("1. os.kill(%d, SIGKILL) 没有报错, 状态仍是 %s" % (pid, state(pid)), flush=True)
checkpoint("after-kill", parent=parent, zombie=pid)
collected, status = os.waitpid(pid, 0)
print("1. waitpid 回收了子进程%d, 退出码 %d: SIGKILL没有改变任何事"
      % (collected, os.waitstatus_to_exitcode(status)), flush=True)
checkpoint("after-wait", parent=parent, zombie=pid)

# 2. 三个僵尸进程, 一次 os.wait().
children = []
for number in (1, 2, 3):
    pid = os.fork()
    if pid == 0:
        os._exit(number)
    children.append(pid)
for pid in children:
    ended(pid)
z1, z2, z3 = children
checkpoint("three-zombies", parent=parent, z1=z1, z2=z2, z3=z3)
son_pid, status = os.wait()
left = [pid for pid in children if pid != son_pid]
print("2. 一次 os.wait() 回收了子进程%d(退出码 %d), 还剩%d个僵尸进程"
      % (son_pid, os.waitstatus_to_exitcode(status), len(left)), flush=True)
checkpoint("one-wait", parent=parent, z1=z1, z2=z2, z3=z3)
for _ in left:
    os.wait()
print("2. 又调用了%d次 os.wait(), 才把它们都回收" % len(left), flush=True)
checkpoint("all-waited", parent=parent, z1=z1, z2=z2, z3=z3)

# 3. 在没有子进程的子进程里调用 os.wait().
pid = os.fork()
if pid == 0:
    try:
        os.wait()
        print("3. 子进程的 os.wait() 返回了", flush=True)
    except ChildProcessError as error:
        print("3. 子进程调用 os.wait(): ChildProcessError: %s" % error.strerror, flush=True)
    checkpoint("child-waited", parent=parent, waiter=os.getpid())
    os._exit(0)
os.waitpid(pid, 0)
print("3. 父进程回收了这个子进程", flush=True)
