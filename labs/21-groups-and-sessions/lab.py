# 进程组与会话: setpgid from both sides, one signal to a whole group (killpg),
# SIGSTOP and SIGCONT to a group, and the double-fork + setsid daemon.
# Pipes, waitpid(WUNTRACED / WCONTINUED) and checkpoints order every moment; no sleep().
import os
import signal

from forklab.checkpoint import checkpoint

parent = os.getpid()


def stat(pid):
    """state, ppid, pgid, sid and tty_nr of pid, from /proc/PID/stat."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return fields[0], int(fields[1]), int(fields[2]), int(fields[3]), int(fields[4])


def comm(pid):
    with open("/proc/%d/comm" % pid) as f:
        return f.read().strip()


def has_terminal():
    """Whether this process has a controlling terminal: can it open /dev/tty?"""
    try:
        os.close(os.open("/dev/tty", os.O_RDWR))
        return "有控制终端"
    except OSError as error:
        return "没有控制终端 (打开 /dev/tty: %s)" % error.strerror


def sleeping(pid):
    """Wait until pid sleeps again (state S) after SIGCONT."""
    while stat(pid)[0] != "S":
        pass


print("0. 父进程%d: 进程组%d, 会话%d, %s" % (parent, os.getpgid(0), os.getsid(0), has_terminal()), flush=True)

# 1a. Only the child calls setpgid, and it has not run yet.
go_r, go_w = os.pipe()
pid = os.fork()
if pid == 0:
    os.read(go_r, 1)                                # the child is slow: it waits for the parent
    os.setpgid(0, 0)                                # the child's own call: already done, still fine
    os._exit(0)
checkpoint("before-setpgid", parent=parent, child=pid)
try:
    os.killpg(pid, 0)                               # is there a group pid yet?
except ProcessLookupError:
    print("1. setpgid 之前: killpg(%d, 0) 抛出 ProcessLookupError, 还没有这个进程组" % pid, flush=True)
os.setpgid(pid, pid)                                # the parent's call: the group exists from now on
os.killpg(pid, 0)
print("1. 父进程调用 setpgid(%d, %d) 之后: 子进程%d的进程组是%d" % (pid, pid, pid, os.getpgid(pid)), flush=True)
checkpoint("after-setpgid", parent=parent, child=pid)
os.write(go_w, b"x")
os.waitpid(pid, 0)

# 1b. Only the parent calls setpgid, and the child has already exec'd.
pid = os.fork()
if pid == 0:
    os.dup2(go_r, 0)
    os.execvp("cat", ["cat"])                       # cat reads the pipe until the parent closes it
os.close(go_r)
while not (comm(pid) == "cat" and stat(pid)[0] == "S"):
    pass
try:
    os.setpgid(pid, pid)
except PermissionError as error:
    print("1. 子进程%d已经 exec 了 cat: setpgid(%d, %d) 抛出 PermissionError: %s"
          % (pid, pid, pid, error.strerror), flush=True)
checkpoint("after-exec", parent=parent, cat=pid)
os.close(go_w)
os.waitpid(pid, 0)

# 2. A group of three: setpgid in parent and child both, then one signal for all of them.
hold_r, hold_w = os.pipe()
group = []
for n in range(3):
    pid = os.fork()
    if pid == 0:
        os.close(hold_w)
        os.setpgid(0, group[0] if group else 0)     # the child's call
        os.read(hold_r, 1)                          # sleeps in read: the parent never writes
        os._exit(0)
    try:
        os.setpgid(pid, group[0] if group else pid)  # the parent's call, the same group
    except PermissionError:                         # the child may have moved on first; it is in the group
        pass
    group.append(pid)
os.close(hold_r)
leader, m1, m2 = group
print("2. 进程组%d: %s" % (leader, ", ".join("子进程%d" % p for p in group)), flush=True)
for pid in group:
    sleeping(pid)
checkpoint("group", parent=parent, leader=leader, m1=m1, m2=m2)

os.killpg(leader, signal.SIGSTOP)
for pid in group:
    os.waitpid(pid, os.WUNTRACED)                   # returns once pid has stopped
print("2. killpg(%d, SIGSTOP): %s" % (leader, ", ".join("%d %s" % (p, stat(p)[0]) for p in group)), flush=True)
checkpoint("stopped", parent=parent, leader=leader, m1=m1, m2=m2)

os.killpg(leader, signal.SIGCONT)
for pid in group:
    os.waitpid(pid, os.WCONTINUED)                  # returns once pid has been continued
    sleeping(pid)
print("2. killpg(%d, SIGCONT): %s" % (leader, ", ".join("%d %s" % (p, stat(p)[0]) for p in group)), flush=True)
checkpoint("continued", parent=parent, leader=leader, m1=m1, m2=m2)

os.killpg(leader, signal.SIGTERM)                   # one call, three processes
for pid in group:
    son, status = os.waitpid(pid, 0)
    print("2. 子进程%d 被 %s 结束" % (son, signal.Signals(os.WTERMSIG(status)).name), flush=True)
os.close(hold_w)
checkpoint("after-killpg", parent=parent, leader=leader, m1=m1, m2=m2)

# 3. The double fork + setsid daemon.
go_r, go_w = os.pipe()
done_r, done_w = os.pipe()
first = os.fork()
if first == 0:
    os.setsid()                                     # a new session and group, without a controlling terminal
    me = os.getpid()
    print("3. setsid 之后, 第一个子进程%d: 进程组%d, 会话%d, 会话首进程: %s, %s"
          % (me, os.getpgid(0), os.getsid(0), "是" if os.getsid(0) == me else "不是", has_terminal()), flush=True)
    daemon = os.fork()
    if daemon == 0:
        os.close(go_w)
        os.close(done_r)
        os.read(go_r, 1)                            # until the parent has reaped first
        me = os.getpid()
        state, ppid, pgid, sid, tty = stat(me)
        print("3. 守护进程%d: 父进程%d, 进程组%d, 会话%d, 会话首进程: %s, %s"
              % (me, ppid, pgid, sid, "是" if sid == me else "不是", has_terminal()), flush=True)
        checkpoint("daemon", parent=parent, first=sid, daemon=me)
        os._exit(0)                                 # closes done_w: the parent reads end-of-file
    os._exit(0)
os.close(go_r)
os.close(done_w)
os.waitpid(first, 0)
print("3. 父进程回收了第一个子进程%d" % first, flush=True)
os.write(go_w, b"x")
os.read(done_r, 1)                                  # end-of-file: the daemon has exited
print("3. 守护进程结束了", flush=True)
