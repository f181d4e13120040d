# Opens the checkpoint socket every half second and never sends a byte.
import os
import socket
import time

print("sitting on the socket", flush=True)
held = []
while True:
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.connect(os.environ["FORKLAB_SOCKET"])
    held.append(connection)
    time.sleep(0.5)
