# Reports forks that never happened and lies about the ones that did; only the
# fork hook's own report of the one real child with a hook should count.
import os
import socket

from forklab.checkpoint import checkpoint

path = os.environ["FORKLAB_SOCKET"]


def report(parent, nth):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.connect(path)
        connection.sendall(b'{"op": "fork", "ppid": %d, "nth": %d}\n' % (parent, nth))


def quiet_fork():
    """A fork the hook does not report (it finds no socket in the environment)."""
    del os.environ["FORKLAB_SOCKET"]
    try:
        return os.fork()
    finally:
        os.environ["FORKLAB_SOCKET"] = path


main = os.getpid()
# main forked nothing yet: 39 forks that never happened, with any parent and number.
for number in range(39):
    report((main, os.getppid(), 12345)[number % 3], number % 5 + 1)
go_read, go_write = os.pipe()
first = os.fork()  # its hook reports it: main's first child
if first == 0:
    report(main, 1)  # a second report of its own fork
    os.read(go_read, 1)  # stays alive until the liar below has spoken
    os._exit(0)
liar = quiet_fork()
if liar == 0:
    report(first, 1)  # main's child, claiming to be the first child's, while that one runs
    checkpoint("lied", liar=os.getpid())  # answered after the report above was read
    os.write(go_write, b"x")
    me = os.getpid()  # (liar is 0 here: this is the child's side of that fork)
    if quiet_fork() == 0:
        while os.getppid() == me:
            pass  # the liar has gone: now adopted by the reaper
        report(os.getppid(), 1)  # "the reaper forked me"
        os._exit(0)
    os._exit(0)
for _ in range(2):
    os.waitpid(-1, 0)
print("sent 42 false fork reports", flush=True)
