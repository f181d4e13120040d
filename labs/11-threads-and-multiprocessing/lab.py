# 线程与 fork: fork() copies only the thread that calls it; multiprocessing's three start methods.
import multiprocessing
import os
import threading

from forklab.checkpoint import checkpoint

greeting = "模块加载时的值"


def show(method, main_pid):
    """Runs in a multiprocessing child: what did it inherit, who is its parent?"""
    print("%s 子进程: greeting 是%s, 本模块的 __name__ 是 %s, 父进程%s main"
          % (method, greeting, __name__, "是" if os.getppid() == main_pid else "不是"), flush=True)
    if method == "fork":
        checkpoint("in-fork-child", fork_child=os.getpid())


# spawn and forkserver children import this file again (as __mp_main__), so the
# experiment runs only in the process started as `python3 lab.py`.
if __name__ == "__main__":
    # 1. fork() while another thread holds a lock.
    lock = threading.Lock()
    locked, done = threading.Event(), threading.Event()

    def holder():
        with lock:
            locked.set()
            done.wait()               # hold the lock until the parent says so

    thread = threading.Thread(target=holder)
    thread.start()
    locked.wait()
    print("父进程有 %d 个线程,另一个线程拿着锁,这时 fork()" % threading.active_count(), flush=True)
    pid = os.fork()
    if pid == 0:
        print("子进程有 %d 个线程" % threading.active_count(), flush=True)
        got = lock.acquire(timeout=0.5)   # lock.acquire() would wait forever
        print("子进程: lock.acquire(timeout=0.5) 返回 %s,没有线程会来释放它" % got, flush=True)
        checkpoint("child-of-threaded-parent", child=os.getpid())
        os._exit(0)
    os.waitpid(pid, 0)
    done.set()
    thread.join()
    print("父进程: 线程放开锁之后 lock.acquire(timeout=0.5) 返回 %s" % lock.acquire(timeout=0.5), flush=True)
    lock.release()

    # 2. multiprocessing: which start method, and what each child inherits.
    print("默认的启动方式: %s" % multiprocessing.get_start_method(), flush=True)
    greeting = "启动前改过的值"       # changed after this file was loaded
    for method in ("fork", "spawn", "forkserver"):
        child = multiprocessing.get_context(method).Process(target=show, args=(method, os.getpid()))
        child.start()
        child.join()
