# Abuses the checkpoint socket every other way: a line without end, a crowd of
# connections at once, requests whose replies are never read; then checkpoints.
import json
import os
import socket

from forklab.checkpoint import checkpoint

path = os.environ["FORKLAB_SOCKET"]


def connect():
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.connect(path)
    return connection


endless = connect()
try:
    endless.sendall(b"x" * (4 * 1024 * 1024))
    print("the runner took a 4 MiB line", flush=True)
except OSError:
    print("the runner hung up on a 4 MiB line", flush=True)
crowd = [connect() for _ in range(300)]
unread = []
for number in range(20):
    connection = connect()
    request = {"op": "checkpoint", "name": "unread-%d" % number, "roles": {}}
    connection.sendall((json.dumps(request) + "\n").encode())
    unread.append(connection)
checkpoint("after", me=os.getpid())
print("checkpoint() still works", flush=True)
