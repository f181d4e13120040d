# Terminal controls, bidi overrides and HTML in argv, in a zombie's comm, in a
# checkpoint's name and on stdout: the reports must show them, not obey them.
import os
import sys

from forklab.checkpoint import checkpoint

ARGV = ["python3", "-c", "import os, sys; os.write(int(sys.argv[-2]), b'!'); os.read(int(sys.argv[-1]), 1)",
        "\x1b]0;PWNED\x07\x1b[2J", "\r\x08", "\u202eexe.txt", "\u2066iso\u2069", "<b>bold</b>", "&#x202e;",
        "a|b", "`tick", "two\nlines"]
NAME = "we`ird | <b>\x1b[2J\u202e\nname"

ready_r, ready_w = os.pipe()
go_r, go_w = os.pipe()
execs = os.fork()
if execs == 0:
    # Only these two ends reach the new program; the others close on exec, so
    # that it sees the end of "go" when the parent closes its end.
    os.set_inheritable(ready_w, True)
    os.set_inheritable(go_r, True)
    os.execv(sys.executable, ARGV + [str(ready_w), str(go_r)])
os.close(ready_w)
os.close(go_r)
os.read(ready_r, 1)  # the new program runs, with its argv in /proc

dies = os.fork()
if dies == 0:
    # A process may name itself anything (prctl PR_SET_NAME, 15 bytes); a
    # zombie's command is that name.
    with open("/proc/self/comm", "wb") as comm:
        comm.write("\x1b[2J\u202e\x07".encode())
    os._exit(0)
os.waitid(os.P_PID, dies, os.WEXITED | os.WNOWAIT)  # a zombie now, not yet reaped

checkpoint(NAME, execs=execs, dies=dies)
print("bidi: \u202etxt.exe\u202c, isolated \u2067x\u2069, \u200bhidden, C1 \x9b31m", flush=True)
os.waitpid(dies, 0)
os.close(go_w)
os.waitpid(execs, 0)
