# 只读也会复制: a child that only reads Python objects still copies their pages.
import gc
import os
import zlib

from forklab.checkpoint import checkpoint

# Collections only where the lab calls gc.collect(), so every run sees the
# same thing: an automatic one would come when allocations pass a threshold.
gc.disable()
N = 1_000_000


def private_mib():
    """This process's private memory (pages no other process shares), in MiB."""
    with open("/proc/self/smaps_rollup") as f:
        return sum(int(line.split()[1]) for line in f if line.startswith("Private_")) // 1024


def copied(before):
    """What happened to the data's pages since `before`, in words: 20 MiB of
    data, or more, is copied; less than 8 MiB is not; the lab has no middle."""
    grew = private_mib() - before
    return "复制了" if grew >= 16 else "没有复制" if grew < 8 else "复制了一部分"

# 1. A list of a million ints (about 32 MiB of int objects).  The child only
#    reads them; but `for x in ints` takes a reference to each int and drops
#    it, which writes the int's reference count, in the int itself.
ints = list(range(1000, 1000 + N))
pid = os.fork()
if pid == 0:
    checkpoint("ints-before", ints_reader=os.getpid())
    before = private_mib()
    total = 0
    for x in ints:
        total += x
    checkpoint("ints-after", ints_reader=os.getpid())
    print("1. 子进程读了%d个int, 它们的和是%d: %s" % (len(ints), total, copied(before)), flush=True)
    os._exit(0)
os.waitpid(pid, 0)
del ints

# 2. The same 32 MiB as one bytes object: reading its bytes writes nothing,
#    only the one object's header (one page) has a count.
blob = bytes(range(256)) * (32 * 4096)
pid = os.fork()
if pid == 0:
    checkpoint("bytes-before", bytes_reader=os.getpid())
    before = private_mib()
    crc = zlib.crc32(blob)
    checkpoint("bytes-after", bytes_reader=os.getpid())
    print("2. 子进程读了%d个字节, crc32 = %08x: %s" % (len(blob), crc, copied(before)), flush=True)
    os._exit(0)
os.waitpid(pid, 0)
del blob

# 3. Half a million empty lists (about 34 MiB): the child does not even read
#    them, it only runs the cyclic garbage collector, which writes into the
#    header of every object it tracks.
lists = [[] for _ in range(N // 2)]
gc.collect()                       # the parent's own collection, before fork()
pid = os.fork()
if pid == 0:
    checkpoint("gc-before", gc_child=os.getpid())
    before = private_mib()
    gc.collect()
    checkpoint("gc-after", gc_child=os.getpid())
    print("3. 子进程只调用了gc.collect(): %s" % copied(before), flush=True)
    os._exit(0)
os.waitpid(pid, 0)

# 4. The same lists after gc.freeze(): they move to the permanent generation,
#    which no collection looks at.  gc.collect() in the child leaves them
#    alone; reading them still writes their reference counts.
gc.freeze()
frozen = gc.get_freeze_count() >= len(lists)
print("4. gc.freeze()之后, 这%d个列表都在永久代中: %s" % (len(lists), frozen), flush=True)
pid = os.fork()
if pid == 0:
    checkpoint("frozen-before", frozen_child=os.getpid())
    before = private_mib()
    gc.collect()
    checkpoint("frozen-collected", frozen_child=os.getpid())
    print("4. 子进程调用了gc.collect(): %s" % copied(before), flush=True)
    before = private_mib()
    for x in lists:
        pass
    checkpoint("frozen-read", frozen_child=os.getpid())
    print("4. 子进程又读了这%d个列表: %s" % (len(lists), copied(before)), flush=True)
    os._exit(0)
os.waitpid(pid, 0)
gc.unfreeze()
