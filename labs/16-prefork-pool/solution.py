# 练习 16: 预先 fork 一组工作进程, 用 SIGCHLD 处理函数回收它们, 不留僵尸进程.
import os
import signal

from forklab.checkpoint import checkpoint

WORKERS = 3
JOBS = 12


# ---- Given: what each worker does.  Do not change this part. -----------------
def work(jobs):
    """A worker: take one job (a byte) at a time from the pipe until it is empty and closed."""
    while True:
        job = os.read(jobs, 1)
        if not job:                            # every write end is closed: no more jobs
            os._exit(0)
        print("任务%d: %d" % (job[0], job[0] * job[0]), flush=True)
# ---- End of the given part. ---------------------------------------------------


# 1. SIGCHLD 处理函数: 一个信号可能代表好几个结束了的子进程, 所以循环回收.
reaped = []                                    # (pid, exit code) of each worker reaped
wake_r, wake_w = os.pipe()                     # the handler writes one byte per worker it reaps


def reap_workers(signum, frame):
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:              # no children left
            return
        if pid == 0:                           # children, but none has exited
            return
        reaped.append((pid, os.waitstatus_to_exitcode(status)))
        os.write(wake_w, b".")


signal.signal(signal.SIGCHLD, reap_workers)

# 2. 预先 fork 工作进程: 它们都从同一根管道里取任务.
jobs_r, jobs_w = os.pipe()
for _ in range(WORKERS):
    if os.fork() == 0:
        os.close(jobs_w)                       # else no worker ever sees the end of the jobs
        work(jobs_r)                           # never returns
os.close(jobs_r)

# 3. 分发任务, 然后关闭写端: 工作进程读到末尾就退出.
os.write(jobs_w, bytes(range(1, JOBS + 1)))
os.close(jobs_w)

# 4. 等处理函数回收每一个工作进程: 每回收一个, 管道里就多一个字节.
for _ in range(WORKERS):
    os.read(wake_r, 1)
checkpoint("all-reaped", parent=os.getpid())
for pid, code in reaped:
    print("回收了工作进程%d, 退出码 %d" % (pid, code), flush=True)
