# fork()之后exec: a child that runs another program.  Three ways to start one:
# fork + os.execvp, os.posix_spawn and subprocess; what survives exec, and what not.
import os
import subprocess

from forklab.checkpoint import checkpoint

parent = os.getpid()
os.chdir("/")                                # the parent works in /
os.environ["LAB_GREETING"] = "你好"          # and adds to its environment

# Pipes between the parent and each program, so every moment comes in the same
# order: the program says "running" on one and waits for "go" on the other.
running_r, running_w = os.pipe()
go_r, go_w = os.pipe()
os.set_inheritable(running_w, True)          # Python opens every fd close-on-exec;
os.set_inheritable(go_r, True)               # these two must survive exec
kept = os.open("/dev/null", os.O_RDONLY)
os.set_inheritable(kept, True)               # an fd without close-on-exec
closed = os.open("/dev/null", os.O_RDONLY)   # an fd with close-on-exec (Python's default)
print("fd %d 没有close-on-exec, fd %d 有close-on-exec" % (kept, closed), flush=True)

# The program each child runs: /bin/sh, not Python.  $0 is a label, $1 and $2
# the two pipe ends, $3 and $4 the two fds to look for.
SCRIPT = ('echo "$0: pid=$$ ppid=$PPID 目录=$PWD LAB_GREETING=$LAB_GREETING"; echo >&$1; read go <&$2; r=; '
          'for fd in $3 $4; do [ -e /proc/$$/fd/$fd ] && r="$r, fd $fd 开着" || r="$r, fd $fd 关了"; done; echo "$0: ${r#, }"')
fds = [str(fd) for fd in (running_w, go_r, kept, closed)]


def look_then_go(name, **roles):
    """Once the program is running and waiting for "go": a snapshot, then "go"."""
    os.read(running_r, 1)
    [pid] = roles.values()
    while state(pid) != "S":                 # until it sleeps, waiting for "go"
        pass
    checkpoint(name, parent=parent, **roles)
    os.write(go_w, b"\n")


def state(pid):
    """The state letter ps shows for pid (R, S, Z, ...), read from /proc."""
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


# 1. fork, then exec in the child.  In between, the child runs any Python it likes.
pid = os.fork()
if pid == 0:
    data = bytearray(64 * 1024 * 1024)      # 64 MiB of Python objects in this process
    os.chdir("/tmp")
    print("fork+exec: 子进程%d, exec之前 (flush了)" % os.getpid(), flush=True)
    print("fork+exec: 子进程%d, exec之前 (没有flush)" % os.getpid())   # stays in Python's buffer
    os.write(running_w, b"\n")
    os.read(go_r, 1)
    os.execvp("sh", ["sh", "-c", SCRIPT, "fork+exec"] + fds)         # never returns
look_then_go("before-exec", child=pid)
look_then_go("after-exec", child=pid)
os.waitpid(pid, 0)

# 2. os.posix_spawn: fork and exec in one call; no Python runs in between.
pid = os.posix_spawn("/bin/sh", ["sh", "-c", SCRIPT, "posix_spawn"] + fds, os.environ)
look_then_go("posix-spawn", spawned=pid)
os.waitpid(pid, 0)

# 3. subprocess: it closes every fd but 0, 1, 2 and pass_fds (close_fds=True by default).
proc = subprocess.Popen(["sh", "-c", SCRIPT, "subprocess"] + fds, cwd="/tmp", pass_fds=(running_w, go_r))
look_then_go("subprocess", subprocess=proc.pid)
print("subprocess: 返回码 %d" % proc.wait(), flush=True)
