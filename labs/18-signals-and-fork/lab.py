# 信号与fork: what a child gets of its parent's signals (handlers, ignored
# signals, the mask, pending signals), what exec resets, and two bugs of SIGCHLD
# handlers.  Pipes, blocked signals and waitid(WNOWAIT) order every moment; no sleep().
import os
import signal
import subprocess

from forklab.checkpoint import checkpoint

parent = os.getpid()
WATCHED = (signal.SIGUSR1, signal.SIGUSR2, signal.SIGCHLD)


def sig_fields(pid="self"):
    """The signal lines of /proc/PID/status, each as the watched signals it holds."""
    fields = {}
    with open("/proc/%s/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt"):
                mask = int(value, 16)
                fields[key] = [s.name for s in WATCHED if mask >> (s - 1) & 1]
    return fields


def disposition(sig, pid="self"):
    fields = sig_fields(pid)
    if sig.name in fields["SigCgt"]:
        return "有处理函数"
    return "被忽略" if sig.name in fields["SigIgn"] else "默认"


def state(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def comm(pid):
    with open("/proc/%d/comm" % pid) as f:
        return f.read().strip()


def wchan(pid):
    """Where in the kernel pid sleeps: pipe_read (anon_pipe_read on newer kernels) while it reads a pipe."""
    with open("/proc/%d/wchan" % pid) as f:
        return f.read()


calls = 0


def on_usr1(signum, frame):
    global calls
    calls += 1
    print("处理函数 on_usr1 在进程%d中运行" % os.getpid(), flush=True)


# 1. fork copies the handlers; exec resets a handler to the default, and keeps SIG_IGN.
signal.signal(signal.SIGUSR1, on_usr1)
signal.signal(signal.SIGUSR2, signal.SIG_IGN)
go_r, go_w = os.pipe()
pid = os.fork()
if pid == 0:
    print("1. fork之后, 子进程%d: SIGUSR1 %s, SIGUSR2 %s"
          % (os.getpid(), disposition(signal.SIGUSR1), disposition(signal.SIGUSR2)), flush=True)
    signal.raise_signal(signal.SIGUSR1)             # the parent's handler runs, in the child
    checkpoint("before-exec", parent=parent, inheritor=os.getpid())
    os.dup2(go_r, 0)                                # cat reads the pipe until the parent closes it
    os.execvp("cat", ["cat"])
os.close(go_r)
while not (comm(pid) == "cat" and state(pid) == "S" and wchan(pid).endswith("pipe_read")):  # cat reads the pipe
    pass
print("1. exec之后, 子进程%d (cat): SIGUSR1 %s, SIGUSR2 %s"
      % (pid, disposition(signal.SIGUSR1, pid), disposition(signal.SIGUSR2, pid)), flush=True)
checkpoint("after-exec", parent=parent, inheritor=pid)
os.close(go_w)
os.waitpid(pid, 0)

# 2. A pending signal stays with the parent: the child starts with none.
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
os.kill(parent, signal.SIGUSR1)                     # blocked, so it stays pending
f = sig_fields()
print("2. 父进程: SigBlk=%s SigPnd=%s ShdPnd=%s" % (f["SigBlk"], f["SigPnd"], f["ShdPnd"]), flush=True)
pid = os.fork()
if pid == 0:
    f = sig_fields()
    print("2. 子进程%d: SigBlk=%s SigPnd=%s ShdPnd=%s" % (os.getpid(), f["SigBlk"], f["SigPnd"], f["ShdPnd"]),
          flush=True)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1})
    print("2. 子进程解除阻塞之后, on_usr1 运行了%d次" % calls, flush=True)
    os._exit(0)
os.waitpid(pid, 0)
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1})   # the pending SIGUSR1 arrives now
print("2. 父进程解除阻塞之后, on_usr1 运行了%d次" % calls, flush=True)

# 3. The fork/SIGCHLD race: the child can end before the parent has noted its pid.
jobs = {}
stolen = []
chld_calls = 0


def reap_any(signum, frame):
    """A SIGCHLD handler that reaps every child that has ended: waitpid(-1)."""
    global chld_calls
    chld_calls += 1
    while True:
        try:
            son, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if son == 0:
            return
        name = jobs.pop(son, None)
        if name is None:
            stolen.append(os.waitstatus_to_exitcode(status))
            if part == 3:
                print("3. SIGCHLD: 子进程%d结束了, 但 jobs 里还没有它" % son, flush=True)
        else:
            print("3. SIGCHLD: %s (子进程%d) 结束, 退出码 %d" % (name, son, os.waitstatus_to_exitcode(status)),
                  flush=True)


part = 3
signal.signal(signal.SIGCHLD, reap_any)
pid = os.fork()
if pid == 0:
    os._exit(5)
while chld_calls == 0:                              # the parent is slow after fork: the child ends first
    pass
jobs[pid] = "任务A"
print("3. 父进程登记任务A (子进程%d): 太晚了, 它已经被回收" % pid, flush=True)
jobs.pop(pid, None)                                 # its SIGCHLD will never come

signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})     # the fix: block SIGCHLD around fork
pid = os.fork()
if pid == 0:
    os._exit(5)
os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)  # the child has ended; the handler cannot run yet
jobs[pid] = "任务B"
f = sig_fields()
print("3. 父进程登记任务B (子进程%d), 等待处理: ShdPnd=%s" % (pid, f["ShdPnd"]), flush=True)
checkpoint("sigchld-blocked", parent=parent, job=pid)
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})   # the handler runs now, and finds it

# 4. A waitpid(-1) reaper reaps subprocess's child too.  sh exits with 3 and leaves
# a background copy of itself that holds stdout open, and sends SIGCHLD again and
# again, until sh is reaped: so the handler, not subprocess, reaps sh, every time.
# (One SIGCHLD is not enough: if it lands just before subprocess starts to read,
# Python runs the handler only after that read, which would wait forever.)
part = 4
r = subprocess.run(["sh", "-c", "(while kill -0 $$ 2>/dev/null; do kill -CHLD $PPID; done) & exit 3"],
                   stdout=subprocess.PIPE, check=True)  # check=True: raise if the exit code is not 0
print("4. reap_any 回收了 subprocess 的子进程, 退出码 %s" % stolen[-1], flush=True)
print("4. sh 以 3 退出, subprocess.run(check=True) 没有抛出异常, 返回码 %d" % r.returncode, flush=True)


def reap_jobs(signum, frame):
    """The fix: reap only the children this program started itself."""
    for son in list(jobs):
        if os.waitpid(son, os.WNOHANG)[0] == son:
            del jobs[son]


signal.signal(signal.SIGCHLD, reap_jobs)
try:
    subprocess.run(["sh", "-c", "exit 3"], check=True)
except subprocess.CalledProcessError as e:
    print("4. 只回收自己的子进程: subprocess.run(check=True) 抛出 CalledProcessError, 返回码 %d" % e.returncode,
          flush=True)
