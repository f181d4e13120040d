# 练习 15: 用 fork, pipe, dup2 和 exec 实现 shell 的管道 ls | wc -l.
import os

from forklab.checkpoint import checkpoint

os.chdir("shelf")                            # given: ls lists the 7 files of this folder

# TODO 1: make a pipe.  Fork the writer: its stdout (fd 1) must become the pipe's
#         write end (os.dup2), then it runs `ls` with os.execvp.
#
# TODO 2: fork the reader: its stdin (fd 0) must become the pipe's read end,
#         then it runs `wc -l`.  wc prints its count when it reads end-of-file,
#         which happens only once no process holds the write end any more.
#
# TODO 3: in every process, close the pipe's ends it does not need.
#
# TODO 4: the parent reaps both children, ls first; once both are reaped (so that
#         wc's count is printed before them) it prints their exit codes:
#             ls: 退出码 0
#             wc -l: 退出码 0
#         then calls
#             checkpoint("all-reaped", parent=os.getpid())
