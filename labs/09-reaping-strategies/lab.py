# 回收子进程的几种方法: a blocking wait, polling with WNOHANG, os.waitid, and a
# SIGCHLD handler, done right and done wrong.  Pipes and waitid(WNOWAIT) put
# every moment in the same order in every run; nothing waits with sleep().
import os
import signal

from forklab.checkpoint import checkpoint

parent = os.getpid()


def state(pid):
    """The state letter ps shows for pid (R, S, Z, ...), read from /proc."""
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


# 1. 阻塞等待: os.wait() puts the parent to sleep until a child has exited.
pid = os.fork()
if pid == 0:
    while state(parent) != "S":          # until the parent is asleep inside os.wait()
        pass
    checkpoint("blocked-in-wait", parent=parent, waited=os.getpid())
    os._exit(1)
son_pid, status = os.wait()
print("1. os.wait() 回收了子进程%d, 退出码 %d" % (son_pid, os.waitstatus_to_exitcode(status)), flush=True)
checkpoint("after-wait", parent=parent, waited=pid)

# 2. 轮询: waitpid(pid, WNOHANG) never sleeps; it returns (0, 0) while the child runs.
go_r, go_w = os.pipe()
pid = os.fork()
if pid == 0:
    os.read(go_r, 1)                     # runs until the parent says "go"
    os._exit(2)
polls = 0
while True:
    polls += 1
    son_pid, status = os.waitpid(pid, os.WNOHANG)
    if son_pid != 0:
        break
    print("2. 第%d次 waitpid(WNOHANG) 返回 (0, 0): 子进程还没结束, 父进程先去做别的事" % polls, flush=True)
    # 别的事.  Meanwhile the child ends: the lab lets it go and waits until it
    # has exited (WNOWAIT: without reaping it), so the snapshot sees the zombie.
    os.write(go_w, b".")
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
    checkpoint("between-polls", parent=parent, polled=pid)
print("2. 第%d次 waitpid(WNOHANG) 回收了子进程%d, 退出码 %d"
      % (polls, son_pid, os.waitstatus_to_exitcode(status)), flush=True)
checkpoint("after-poll", parent=parent, polled=pid)

# 3. os.waitid: says how the child ended, and with WNOWAIT only looks.
pid = os.fork()
if pid == 0:
    os._exit(7)
how = {os.CLD_EXITED: "CLD_EXITED", os.CLD_KILLED: "CLD_KILLED", os.CLD_DUMPED: "CLD_DUMPED"}
info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
print("3. waitid(WEXITED | WNOWAIT) 看到子进程%d: si_code=%s, si_status=%d, 但没有回收它"
      % (info.si_pid, how[info.si_code], info.si_status), flush=True)
checkpoint("peeked", parent=parent, peeked=pid)
info = os.waitid(os.P_PID, pid, os.WEXITED)
print("3. waitid(WEXITED) 回收了子进程%d" % info.si_pid, flush=True)
checkpoint("after-waitid", parent=parent, peeked=pid)


# 4 and 5. SIGCHLD: the kernel signals the parent when a child ends, and a
# handler reaps.  But a signal is a flag, not a counter: three children that
# end while one SIGCHLD is pending make one call of the handler.
reaped = []
calls = 0


def reap_all(signum, frame):
    """The right way: reap in a loop until no exited child is left."""
    global calls
    calls += 1
    while True:
        try:
            son_pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:        # no children at all
            return
        if son_pid == 0:                 # children, but none has exited
            return
        reaped.append(son_pid)


def reap_one(signum, frame):
    """The bug: one waitpid() per signal."""
    global calls
    calls += 1
    son_pid, status = os.waitpid(-1, os.WNOHANG)
    if son_pid != 0:
        reaped.append(son_pid)


def three_children_end_at_once(number, handler, names):
    global calls
    calls = 0
    reaped.clear()
    signal.signal(signal.SIGCHLD, handler)
    # Hold SIGCHLD back until all three have ended: "at once", in every run.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
    go_r, go_w = os.pipe()
    children = []
    for _ in names:
        pid = os.fork()
        if pid == 0:
            os.read(go_r, 1)
            os._exit(0)
        children.append(pid)
    os.write(go_w, b"." * len(children))
    for pid in children:
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
    pending = sorted(s.name for s in signal.sigpending())
    print("%d. %d个子进程都结束了, 等待处理的信号: %s" % (number, len(children), pending), flush=True)
    step = handler.__name__.replace("_", "-")
    checkpoint(step + "-ended", parent=parent, **dict(zip(names, children)))
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})    # the handler runs now
    print("%d. %s 被调用了%d次, 回收了%d个子进程" % (number, handler.__name__, calls, len(reaped)), flush=True)
    for pid in reaped:
        print("%d. %s 回收了子进程%d" % (number, handler.__name__, pid), flush=True)
    checkpoint(step + "-ran", parent=parent)


three_children_end_at_once(4, reap_all, ["all-1", "all-2", "all-3"])
three_children_end_at_once(5, reap_one, ["one-1", "one-2", "one-3"])
# The parent ends here.  The two zombies reap_one left are adopted by PID 1,
# which reaps them.
