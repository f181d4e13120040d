# Which outputs are possible?  Six short fork programs of the kind textbooks ask
# about (CS:APP's practice problems 8.2 to 8.4 and 8.11 to 8.21).  Each variant
# runs one of them; the report draws its process graph and counts the outputs
# it can print.  Outside the kit: FORKLAB_VARIANT=and-or python3 lab.py
import os
import sys


def hello_four():
    """fork(); fork(); print("hello"): four processes, one line each."""
    os.fork()
    os.fork()
    print("hello", flush=True)


def x_plus_minus():
    """CS:APP 8.2 in Python: the child prints two lines, the parent one."""
    x = 1
    if os.fork() == 0:
        x += 1
        print(f"p1: x={x}", flush=True)
    x -= 1
    print(f"p2: x={x}", flush=True)


def and_or():
    """(fork() && fork()) || fork(): five processes, every one prints x."""
    (os.fork() and os.fork()) or os.fork()
    print("x", flush=True)


def before_and_after_wait():
    """The parent prints A, then waits for the child (which prints B), then prints C."""
    pid = os.fork()
    if pid == 0:
        print("B", flush=True)
        os._exit(0)
    print("A", flush=True)
    os.waitpid(pid, 0)
    print("C", flush=True)


def loop_with_wait():
    """Two children one after the other; the parent waits for each before it goes on."""
    for i in range(2):
        pid = os.fork()
        if pid == 0:
            print(f"child {i}", flush=True)
            os._exit(0)
        os.waitpid(pid, 0)
        print(f"parent reaped {i}", flush=True)


def x_plus_minus_buffered():
    """CS:APP 8.2 again, without flush: on a pipe each process writes once, at its exit."""
    x = 1
    if os.fork() == 0:
        x += 1
        print(f"p1: x={x}")
    x -= 1
    print(f"p2: x={x}")


PROGRAMS = {
    "hello-four": hello_four,
    "x-plus-minus": x_plus_minus,
    "and-or": and_or,
    "wait": before_and_after_wait,
    "loop-wait": loop_with_wait,
    "buffered": x_plus_minus_buffered,
}

if __name__ == "__main__":
    name = os.environ.get("FORKLAB_VARIANT") or (sys.argv[1] if len(sys.argv) > 1 else "hello-four")
    if name not in PROGRAMS:
        sys.exit(f"no program {name!r}; choose one of: {', '.join(PROGRAMS)}")
    PROGRAMS[name]()
