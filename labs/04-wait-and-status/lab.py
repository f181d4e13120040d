# os.wait(): the tutorial's second snippet, then every way a child can end.
import os
import signal
import sys

from forklab.checkpoint import checkpoint

# The tutorial's snippet: 父进程用os.wait() 可以进行资源回收
pid = os.fork()
if pid == 0:
    print("我是子进程%s,我的父进程是%s" % (os.getpid(), os.getppid()), flush=True)
    sys.exit(0)
# Let the child speak first (it ends, unreaped), so every run prints in the same order.
os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
print("我是父进程%s,我创建了子进程%s" % (os.getpid(), pid), flush=True)
print("我要收集子进程资源:", flush=True)
son_pid, result = os.wait()
print(son_pid, result, flush=True)

# Five children, five ways to end: (role, how it ends).
endings = [
    ("exit0", "sys.exit(0)", lambda: sys.exit(0)),
    ("exit3", "sys.exit(3)", lambda: sys.exit(3)),
    ("os-exit3", "os._exit(3)", lambda: os._exit(3)),
    ("sigkill", "SIGKILL", lambda: os.kill(os.getpid(), signal.SIGKILL)),
    ("sigterm", "SIGTERM", lambda: os.kill(os.getpid(), signal.SIGTERM)),
]
children = []
for role, label, end in endings:
    child = os.fork()
    if child == 0:
        end()
    children.append((child, role, label))

# Leave each one a zombie (WNOWAIT) until all five have ended, so one
# snapshot shows them side by side.
for child, _, _ in children:
    os.waitid(os.P_PID, child, os.WEXITED | os.WNOWAIT)
checkpoint("all-ended", **{role: child for child, role, _ in children})

# Now collect each one, in the order they were made, and decode its status.
for child, role, label in children:
    son_pid, status = os.waitpid(child, 0)
    if os.WIFEXITED(status):
        how = "WIFEXITED, WEXITSTATUS=%d" % os.WEXITSTATUS(status)
    else:
        how = "WIFSIGNALED, WTERMSIG=%d (%s)" % (os.WTERMSIG(status), signal.Signals(os.WTERMSIG(status)).name)
    print("%s: 状态是 %d, waitstatus_to_exitcode=%d, %s"
          % (label, status, os.waitstatus_to_exitcode(status), how), flush=True)

# No children left: wait() does not return a negative number, it raises.
try:
    os.wait()
except ChildProcessError as error:
    print("没有子进程了: os.wait() 抛出 ChildProcessError: %s" % error.strerror, flush=True)

# The trap: an exit code is one byte, so sys.exit(256) looks like success.
child = os.fork()
if child == 0:
    sys.exit(256)
son_pid, status = os.wait()
print("sys.exit(256): 状态是 %d, waitstatus_to_exitcode=%d" % (status, os.waitstatus_to_exitcode(status)), flush=True)
