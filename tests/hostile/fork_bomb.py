# Forks without end: every process keeps forking.  The pids limit stops it.
import os
import sys

told = False
while True:
    try:
        os.fork()
    except BlockingIOError as error:
        if not told:
            print("fork failed: %r" % error, file=sys.stderr, flush=True)
            told = True
