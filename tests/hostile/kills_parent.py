# Kills its own parent: here that is PID 1, the kit's runner.
import os
import signal

parent = os.getppid()
for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGKILL):
    os.kill(parent, sig)
print("sent SIGTERM, SIGINT and SIGKILL to my parent, pid %d" % parent, flush=True)
