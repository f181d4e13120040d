# fork() 也会失败, 也有代价: the pids limit, RLIMIT_NPROC, and what fork() costs a big parent.
import errno
import mmap
import os
import resource
import signal
import sys
import time

from forklab.checkpoint import checkpoint

# 1. The container's pids limit (lab.yaml lowers it to 16).  Each child stops
# itself (SIGSTOP): a stopped process runs no code but keeps its pid.  So they
# pile up until fork() fails; then all are let go and reaped.
children = []
while True:
    try:
        pid = os.fork()
    except BlockingIOError as error:
        print("fork() 成功了 %d 次, 第 %d 次抛出 BlockingIOError, errno %d (%s)"
              % (len(children), len(children) + 1, error.errno, errno.errorcode[error.errno]), flush=True)
        break
    if pid == 0:
        os.kill(os.getpid(), signal.SIGSTOP)   # until the parent sends SIGCONT
        os._exit(0)
    os.waitpid(pid, os.WUNTRACED)     # returns once the child has stopped
    children.append(pid)
made = len(children)
# The snapshot needs a pid too, for ps: let one child go first.
os.kill(children[-1], signal.SIGCONT)
os.waitpid(children.pop(), 0)
checkpoint("one-pid-free", **{"stopped%d" % n: pid for n, pid in enumerate(children, 1)})
for pid in children:
    os.kill(pid, signal.SIGCONT)
for pid in children:
    os.waitpid(pid, 0)
print("%d 个子进程都已退出并被回收" % made, flush=True)
checkpoint("all-reaped")

# 2. RLIMIT_NPROC limits the processes of a user id: every process of uid 1000
# on the whole host counts, in this container or not.  Only a limit of 1 gives
# the same answer everywhere: this process alone reaches it.
soft, hard = resource.getrlimit(resource.RLIMIT_NPROC)
resource.setrlimit(resource.RLIMIT_NPROC, (1, hard))
try:
    if os.fork() == 0:
        os._exit(0)                   # not reached: fork() fails
except BlockingIOError as error:
    print("RLIMIT_NPROC 设为 1: fork() 抛出 BlockingIOError (%s)" % errno.errorcode[error.errno], flush=True)
resource.setrlimit(resource.RLIMIT_NPROC, (soft, hard))
pid = os.fork()
if pid == 0:
    os._exit(0)
os.waitpid(pid, 0)
print("RLIMIT_NPROC 改回原来的值: fork() 成功", flush=True)


# 3. What fork() costs a parent that holds 0, 64 or 128 MiB: the kernel copies
# the parent's page tables (one 8-byte entry per 4 KiB page), not its memory.
# Times differ from run to run, so they are printed only with --times.
def page_tables_kb():
    with open("/proc/self/status") as f:
        return int(next(line for line in f if line.startswith("VmPTE:")).split()[1])


show_times = "--times" in sys.argv
print("父进程内存  fork()  子进程的页表比 0 MiB 时多" + ("  fork() 用时" if show_times else ""), flush=True)
for mib in (0, 64, 128):
    data = None
    if mib:
        data = mmap.mmap(-1, mib << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        data.madvise(mmap.MADV_NOHUGEPAGE)   # 4 KiB pages, whatever the host's huge page setting
        for i in range(0, len(data), mmap.PAGESIZE):
            data[i] = 1                      # touch every page: the parent really holds mib MiB
    tables_r, tables_w = os.pipe()
    start = time.perf_counter()
    pid = os.fork()
    took = time.perf_counter() - start
    if pid == 0:
        tables = page_tables_kb()            # what fork() gave the child
        checkpoint("fork-with-%dMiB" % mib, **{"child%d" % mib: os.getpid()})
        os.write(tables_w, b"%d" % tables)
        os._exit(0)
    tables = int(os.read(tables_r, 20))
    os.waitpid(pid, 0)
    if mib == 0:
        baseline = tables
    # Python's own page tables vary by a few KiB from run to run: round to 64 KiB.
    print("%7d MiB  成功    %5d KiB" % (mib, round((tables - baseline) / 64) * 64)
          + ("  %.2f ms" % (took * 1000) if show_times else ""), flush=True)
    if data is not None:
        data.close()
