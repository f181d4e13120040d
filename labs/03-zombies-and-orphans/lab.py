# 僵尸进程与孤儿进程: the tutorial's "进程产生垃圾" section, with its moments made visible.
import os

from forklab.checkpoint import checkpoint

# 1. 僵尸进程 (zombie): the child dies first; the parent has not collected it yet.
pid = os.fork()
if pid == 0:
    data = b"x" * (64 * 1024 * 1024)  # 64 MiB the child really uses
    print("我是子进程%s,我用了%d MiB内存,我要先死掉了" % (os.getpid(), len(data) >> 20), flush=True)
    checkpoint("child-alive", parent=os.getppid(), child=os.getpid())
    os._exit(0)

# Wait until the child has exited but leave it unreaped (WNOWAIT): from here
# on it is a zombie, and nothing has to line up in time.
os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
checkpoint("zombie", parent=os.getpid(), child=pid)

print("我要收集子进程资源:", flush=True)
son_pid, result = os.wait()
print(son_pid, result, flush=True)
checkpoint("after-wait", parent=os.getpid(), child=pid)

# 2. 孤儿进程 (orphan): the middle process dies while its own child lives on.
# Pipes put the three processes in a fixed order, so every run shows the same moments.
may_die_r, may_die_w = os.pipe()      # orphan -> middle: "you may die now"
reaped_r, reaped_w = os.pipe()        # parent -> orphan: "the middle process is reaped"
done_r, done_w = os.pipe()            # orphan -> parent: "I have been seen adopted"
middle = os.fork()
if middle == 0:
    orphan = os.fork()
    if orphan == 0:
        first_parent = os.getppid()
        checkpoint("before-orphaned", middle=first_parent, orphan=os.getpid())
        os.write(may_die_w, b".")
        while os.getppid() == first_parent:
            pass                          # until someone else has adopted us
        os.read(reaped_r, 1)
        print("我是孤儿进程%s,收养我的是%s" % (os.getpid(), os.getppid()), flush=True)
        checkpoint("adopted", orphan=os.getpid())
        os.write(done_w, b".")
        os._exit(0)
    os.read(may_die_r, 1)
    os._exit(0)                           # the middle process dies, leaving an orphan

os.waitpid(middle, 0)
print("中间进程%s已被回收" % middle, flush=True)
os.write(reaped_w, b".")
os.read(done_r, 1)                        # the parent outlives the orphan's checkpoint
