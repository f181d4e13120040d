# 练习 14: 按需制造一个僵尸进程和一个孤儿进程, 用检查点证明它们.
import os

from forklab.checkpoint import checkpoint

# 1. 僵尸进程: 子进程先结束, 父进程还没有回收它.
pid = os.fork()
if pid == 0:
    os._exit(0)
os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)     # 等它结束, 但不回收它
checkpoint("zombie", parent=os.getpid(), zombie=pid)
os.waitpid(pid, 0)                                     # 现在才回收
checkpoint("reaped", parent=os.getpid())

# 2. 孤儿进程: 中间进程先结束, 它的子进程还活着.
# 三根管道让三个进程按固定的顺序走, 每次运行都一样.
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
            pass                      # until someone else has adopted us
        os.read(reaped_r, 1)
        print("孤儿进程%d的新父进程是%d" % (os.getpid(), os.getppid()), flush=True)
        checkpoint("adopted", orphan=os.getpid())
        os.write(done_w, b".")
        os._exit(0)
    os.read(may_die_r, 1)
    os._exit(0)                       # the middle process dies, leaving an orphan

os.waitpid(middle, 0)
os.write(reaped_w, b".")
os.read(done_r, 1)                    # the parent outlives the orphan's checkpoint
