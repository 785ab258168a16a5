"""The keep-alive client of load.py against a local server that misbehaves on purpose.

The retry rule is the point: a request is sent again only when a *reused* connection is closed
before any byte of the answer, never on a new connection, and never after an answer began.
"""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from softy_pinko_docker.load import KeepAliveClient

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Served-By: test\r\n\r\nok"


@contextmanager
def server(handle: Callable[[socket.socket, int], None]) -> Iterator[str]:
    """A TCP server on 127.0.0.1; `handle(connection, n)` serves the n-th connection (from 0)."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def accept_all() -> None:
        n = 0
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                handle(conn, n)
            n += 1

    thread = threading.Thread(target=accept_all, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        listener.close()


def read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return data
        data += chunk
    return data


def test_a_plain_client_fails_when_a_reused_connection_is_dropped_unanswered():
    state = {"answered": 0}

    def handle(conn: socket.socket, n: int) -> None:
        while read_request(conn):
            if n == 0 and state["answered"]:
                return  # the reused connection is closed with no answer
            conn.sendall(OK)
            state["answered"] += 1

    with server(handle) as url, KeepAliveClient(url) as client:
        assert client.get("/")[0] == 200
        with pytest.raises(ConnectionError):
            client.get("/")
        assert client.retried == 0


def test_a_retrying_client_sends_it_again_on_a_new_connection():
    state = {"answered": 0, "connections": set()}

    def handle(conn: socket.socket, n: int) -> None:
        state["connections"].add(n)
        while read_request(conn):
            if n == 0 and state["answered"]:
                return
            conn.sendall(OK)
            state["answered"] += 1

    with server(handle) as url, KeepAliveClient(url, retry_reused=True) as client:
        assert client.get("/")[0] == 200
        status, headers, body = client.get("/")
        assert (status, body, headers["X-Served-By"]) == (200, b"ok", "test")
        assert client.retried == 1 and state["connections"] == {0, 1}


def test_a_new_connection_closed_unanswered_is_never_retried():
    calls = []

    def handle(conn: socket.socket, n: int) -> None:
        calls.append(n)
        read_request(conn)  # and close without an answer

    with server(handle) as url, KeepAliveClient(url, retry_reused=True) as client:
        with pytest.raises(ConnectionError):
            client.get("/")
        assert client.retried == 0 and calls == [0]


def test_an_answer_cut_after_it_began_is_never_retried():
    def handle(conn: socket.socket, n: int) -> None:
        read_request(conn)
        conn.sendall(OK)
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart")  # then close

    with server(handle) as url, KeepAliveClient(url, retry_reused=True) as client:
        assert client.get("/")[0] == 200
        with pytest.raises(http.client.IncompleteRead):
            client.get("/")
        assert client.retried == 0


def test_a_connection_closed_while_idle_is_replaced_before_it_is_reused():
    """A server that closes each connection after one answer (a keep-alive timeout): no request
    is lost and none needs a retry, because the client notices the close before it writes."""
    closed = threading.Semaphore(0)

    def handle(conn: socket.socket, n: int) -> None:
        read_request(conn)
        conn.sendall(OK)  # keep-alive promised, then closed while the client is idle
        conn.shutdown(socket.SHUT_RDWR)
        closed.release()

    with server(handle) as url, KeepAliveClient(url) as client:
        for _ in range(5):
            assert client.get("/")[0] == 200
            assert closed.acquire(timeout=5)
        assert client.retried == 0 and client.used <= 1
