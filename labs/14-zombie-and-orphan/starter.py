# 练习 14: 按需制造一个僵尸进程和一个孤儿进程, 用检查点证明它们.
import os

from forklab.checkpoint import checkpoint

# Part 1. A zombie: a child that has exited and that its parent has not reaped yet.
#
# TODO 1: fork a child that exits at once (os._exit(0)).  In the parent, wait
#         until the child has exited WITHOUT reaping it, then call
#             checkpoint("zombie", parent=os.getpid(), zombie=pid)
#         No sleep(): the check must hold in every run.
#
# TODO 2: now reap it, then call
#             checkpoint("reaped", parent=os.getpid())

# Part 2. An orphan: a process whose parent has died while it still runs.
#
# TODO 3: the parent forks a "middle" process, which forks the "orphan".  In the
#         orphan, while the middle process is still its parent, call
#             checkpoint("before-orphaned", middle=os.getppid(), orphan=os.getpid())
#
# TODO 4: then the middle process exits, and the parent reaps it.  The orphan waits
#         until it has been adopted and the middle process is reaped, prints
#             孤儿进程<its pid>的新父进程是<its new parent's pid>
#         and calls
#             checkpoint("adopted", orphan=os.getpid())
#         Pipes can tell each process when the others are done.
#
# TODO 5: the parent must not exit before the orphan's checkpoint is taken.
