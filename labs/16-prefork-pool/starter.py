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


# TODO 1: write a SIGCHLD handler that reaps every worker that has exited, without
#         ever blocking (one SIGCHLD may stand for several children), records
#         (pid, exit code) of each, and lets the main program know.  Install it
#         with signal.signal before the first fork.  Do not print in the handler.
#
# TODO 2: make a pipe for the jobs and fork WORKERS workers.  Each worker calls
#         work(read end), which never returns.  Think about who must close which
#         end, so that the workers see the end of the jobs.
#
# TODO 3: write the jobs 1 to JOBS into the pipe (one byte each: bytes(range(1, JOBS + 1)))
#         and close the write end.
#
# TODO 4: wait until the handler has reaped all WORKERS workers (no sleep(), no
#         wait in the main program: the handler does the reaping), then call
#             checkpoint("all-reaped", parent=os.getpid())
#         and print one line per reaped worker:
#             回收了工作进程<pid>, 退出码 <exit code>
