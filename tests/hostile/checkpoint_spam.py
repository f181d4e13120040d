# Three thousand checkpoints in a row.
import os

from forklab.checkpoint import checkpoint

for number in range(3000):
    checkpoint("spam-%d" % number, me=os.getpid())
print("all 3000 checkpoints returned", flush=True)
