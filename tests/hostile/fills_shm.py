# Tries to fill /dev/shm, which engines otherwise mount writable at 64 MiB.
import os

written = 0
try:
    with open("/dev/shm/filler", "wb") as filler:
        while written < 64 * 1024 * 1024:
            filler.write(b"x" * (1024 * 1024))
            filler.flush()
            written += 1024 * 1024
except OSError as error:
    print("stopped after %d MiB: %s" % (written // (1024 * 1024), error.strerror))
else:
    print("wrote %d MiB" % (written // (1024 * 1024)))
os.unlink("/dev/shm/filler")
