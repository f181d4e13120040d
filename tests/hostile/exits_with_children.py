# Exits while its three children still run; they print after it is gone.
import os

parent = os.getpid()
for n in range(3):
    if os.fork() == 0:
        while True:
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                break
        print("child %d outlived its parent" % n, flush=True)
        os._exit(0)
print("parent leaves now", flush=True)
