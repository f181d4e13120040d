# 练习 15: 用 fork, pipe, dup2 和 exec 实现 shell 的管道 ls | wc -l.
import os

from forklab.checkpoint import checkpoint

os.chdir("shelf")                            # given: ls lists the 7 files of this folder

r, w = os.pipe()

writer = os.fork()
if writer == 0:                              # ls: its stdout becomes the pipe's write end
    os.dup2(w, 1)
    os.close(r)
    os.close(w)
    os.execvp("ls", ["ls"])

reader = os.fork()
if reader == 0:                              # wc -l: its stdin becomes the pipe's read end
    os.dup2(r, 0)
    os.close(r)
    os.close(w)                              # else wc holds a write end and never sees EOF
    os.execvp("wc", ["wc", "-l"])

os.close(r)
os.close(w)                                  # the parent's copies too
_, ls_status = os.waitpid(writer, 0)
_, wc_status = os.waitpid(reader, 0)              # once wc is reaped, its count is printed
print("ls: 退出码 %d" % os.waitstatus_to_exitcode(ls_status), flush=True)
print("wc -l: 退出码 %d" % os.waitstatus_to_exitcode(wc_status), flush=True)
checkpoint("all-reaped", parent=os.getpid())
