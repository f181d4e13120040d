# The classic daemon: fork, setsid, fork again; the daemon outlives everything.
import os

start = os.getpid()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        while True:
            try:
                os.kill(start, 0)
            except ProcessLookupError:
                break
        print("daemon in session %d, parent %d" % (os.getsid(0), os.getppid()), flush=True)
        os._exit(0)
    os._exit(0)
os.wait()
print("the starter leaves", flush=True)
