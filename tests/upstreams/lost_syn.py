"""An upstream whose first SYNs are lost, as the proxy's first SYNs to a container just connected
to the network were, measured while rolling the front-end.

It listens on port 9000 with its accept queue full (Linux then drops incoming SYNs and counts
each in TcpExt ListenOverflows), and starts accepting 0.2 s after the first SYN was dropped, so
the sender's retransmission, 1 s after its first SYN, gets in. Every answer carries
`X-Served-By: lost-syn`. Run with `python -c` in any image that has Python 3; with the
argument `--at-once` it drops nothing and serves from the start.
"""

import socket
import sys
import threading
import time

BODY = b"served by the lost-SYN upstream\n"
ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Served-By: lost-syn\r\n"
    b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
)


def listen_overflows() -> int:
    with open("/proc/net/netstat") as netstat:
        lines = netstat.read().splitlines()
    for names, values in zip(lines[::2], lines[1::2], strict=True):
        if names.startswith("TcpExt:"):
            return int(dict(zip(names.split(), values.split(), strict=True))["ListenOverflows"])
    raise SystemExit("no TcpExt line in /proc/net/netstat")


def serve(connection: socket.socket) -> None:
    with connection:
        connection.recv(65536)
        connection.sendall(ANSWER)


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("0.0.0.0", 9000))
server.listen(0)  # room for one waiting connection
if "--at-once" not in sys.argv:
    filler = socket.create_connection(("127.0.0.1", 9000))  # ... which this one takes
    time.sleep(0.1)
    dropped_before = listen_overflows()
    print("dropping SYNs", flush=True)
    while listen_overflows() == dropped_before:
        time.sleep(0.01)
    time.sleep(0.2)
    print("a SYN was dropped; accepting from now on", flush=True)
    server.accept()[0].close()
    filler.close()
server.listen(64)
print("serving", flush=True)
while True:
    threading.Thread(target=serve, args=(server.accept()[0],), daemon=True).start()
