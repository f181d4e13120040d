# Closes its stdout and stderr, then keeps working with a child.
import os

print("before closing", flush=True)
os.close(1)
os.close(2)
pid = os.fork()
if pid == 0:
    os._exit(7)
os.waitpid(pid, 0)
