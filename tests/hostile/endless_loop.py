# Never ends, and neither does its child.
import os

if os.fork() == 0:
    print("the child loops too", flush=True)
while True:
    pass
