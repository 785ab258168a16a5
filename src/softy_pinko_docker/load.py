"""Steady keep-alive GET traffic that counts every outcome: the tests' and the benchmark's load.

A client here behaves like a browser tab: one HTTP/1.1 connection, reused request after request,
and before reusing it a check that the server has not closed it while it sat idle (browsers and
urllib3 do the same). Only a close that races a request can then fail one.

`retry_reused=True` adds what RFC 9112 §9.3.1 allows and browsers do: an idempotent request sent
on a *reused* connection that is closed before any byte of the answer arrives is sent once more,
on a new connection. A refused connection, a timeout or an HTTP error is never retried.

http.client rather than requests: urllib3 cannot tell a reused connection from a new one, and
the retry rule depends on exactly that.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import select
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

from softy_pinko_docker.docker import poll

# Closed before any answer: the peer reset or hung up, or our write hit a closed socket.
CLOSED_BEFORE_ANSWER = (
    http.client.RemoteDisconnected,
    ConnectionResetError,
    BrokenPipeError,
    ConnectionAbortedError,
)


@dataclasses.dataclass(frozen=True)
class Record:
    at: float  # time.monotonic() when the answer (or the error) came
    status: int  # HTTP status; 0 when no answer came at all
    served_by: str  # the X-Served-By header ("" when absent)
    seconds: float  # how long the request took, retries included
    error: str = ""  # why no answer came

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def outage_s(failures: list[Record]) -> float:
    return max(r.at for r in failures) - min(r.at for r in failures) if failures else 0.0


class KeepAliveClient:
    """One connection to one host, reused; see the module doc for the retry rule."""

    def __init__(self, url: str, timeout: float = 10, retry_reused: bool = False):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.timeout, self.retry_reused = timeout, retry_reused
        self.conn: http.client.HTTPConnection | None = None
        self.used = 0  # requests answered on the current connection
        self.retried = 0  # requests sent a second time under the retry rule

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn, self.used = None, 0

    def __enter__(self) -> KeepAliveClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _idle_connection_closed(self) -> bool:
        """The server closed (or wrote to) the connection while we were not asking anything."""
        sock = self.conn.sock if self.conn else None
        return sock is None or bool(select.select([sock], [], [], 0)[0])

    def get(
        self, path: str, headers: dict[str, str] | None = None
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        """(status, headers, body). Raises OSError/HTTPException when no answer came."""
        for attempt in (1, 2):
            if self.conn is not None and self._idle_connection_closed():
                self.close()
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            reused = self.used > 0
            try:
                self.conn.request("GET", path, headers=headers or {})
                response = self.conn.getresponse()
            except CLOSED_BEFORE_ANSWER:
                self.close()
                if self.retry_reused and reused and attempt == 1:
                    self.retried += 1
                    continue
                raise
            except (OSError, http.client.HTTPException):
                self.close()
                raise
            try:
                body = response.read()
            except (OSError, http.client.HTTPException):
                self.close()
                raise
            self.used += 1
            if response.will_close:
                self.close()
            return response.status, response.headers, body
        raise AssertionError("unreachable")


class Load:
    """GET traffic from a few keep-alive clients (one thread each), bounded in time, tallying
    every outcome. Use it as a context manager around an operation (a deploy, a scale, a kill):
    a connection error or a non-2xx answer counts as a failure."""

    def __init__(
        self,
        url: str,
        threads: int = 4,
        max_seconds: float = 120,
        max_requests: int | None = None,
        retry_reused: bool = False,
    ):
        parts = urlsplit(url)
        self.url, self.path = url, parts.path or "/"
        self.max_seconds, self.max_requests = max_seconds, max_requests
        self.retry_reused = retry_reused
        self.records: list[Record] = []
        self.errors: list[str] = []
        self.retried = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        client = KeepAliveClient(self.url, retry_reused=self.retry_reused)
        deadline = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            with self._lock:
                if self.max_requests is not None and len(self.records) >= self.max_requests:
                    break
            started = time.monotonic()
            try:
                status, headers, _ = client.get(self.path)
                record = Record(
                    time.monotonic(),
                    status,
                    headers.get("X-Served-By", ""),
                    time.monotonic() - started,
                )
            except (OSError, http.client.HTTPException) as error:
                message = f"{type(error).__name__}: {error}"
                record = Record(time.monotonic(), 0, "", time.monotonic() - started, message)
                self.errors.append(message)
                time.sleep(0.05)  # a client backs off a little instead of spinning on errors
            with self._lock:
                self.records.append(record)
        client.close()
        with self._lock:
            self.retried += client.retried

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)

    def wait(self) -> None:
        """Block until the request budget (max_requests or max_seconds) is spent."""
        for thread in self._threads:
            thread.join(timeout=self.max_seconds + 15)

    def wait_for(self, count: int, timeout: float = 30) -> None:
        """Block until `count` requests have been answered (or failed)."""
        poll(
            lambda: len(self.records) >= count,
            timeout=timeout,
            interval=0.05,
            what=f"{count} requests to be answered",
        )

    @property
    def failures(self) -> list[Record]:
        return [r for r in self.records if not r.ok]

    def shares(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for record in self.records:
            if record.ok:
                counts[record.served_by] = counts.get(record.served_by, 0) + 1
        return counts

    def outage_s(self) -> float:
        """From the first failed request to the last (0 when none failed)."""
        return outage_s(self.failures)

    def slowest(self) -> float:
        return max((r.seconds for r in self.records), default=0.0)

    def assert_even(self, replicas: int, max_pp: float = 2.0) -> None:
        """No failure, exactly `replicas` replicas served, each within `max_pp` percentage
        points of an even share; prints each replica's share."""
        shares = self.shares()
        total = sum(shares.values())
        assert not self.failures, self.summary()
        assert len(shares) == replicas, self.summary()
        for replica, count in sorted(shares.items()):
            deviation = abs(count / total - 1 / replicas) * 100
            print(f"  {replica}: {count} ({count / total:.2%}, {deviation:.2f} pp from even)")
            assert deviation <= max_pp, f"{replica} is {deviation:.2f} pp off an even share"

    def summary(self) -> str:
        statuses: dict[int, int] = {}
        for record in self.failures:
            statuses[record.status] = statuses.get(record.status, 0) + 1
        return (
            f"{len(self.records)} requests, {len(self.failures)} failed"
            + (f" (status: count {statuses})" if statuses else "")
            + (f", {self.retried} retried on a new connection" if self.retry_reused else "")
            + (f" (first errors: {self.errors[:3]})" if self.errors else "")
            + f", slowest {self.slowest() * 1000:.0f} ms, per replica: {self.shares()}"
        )


@dataclasses.dataclass
class Mix:
    """The traffic a deploy is measured under (tests/test_deploy.py, `make bench`): eight
    keep-alive clients, as a few browser tabs and API users would be."""

    api: Load  # plain clients of /api/hello
    retrying: Load  # clients of /api/hello that retry on a reused connection closed unanswered
    page: Load  # plain clients of the page

    def loads(self) -> tuple[Load, Load, Load]:
        return self.api, self.retrying, self.page

    def failed(self) -> dict[str, int]:
        return {
            "api_plain": len(self.api.failures),
            "api_retrying": len(self.retrying.failures),
            "page_plain": len(self.page.failures),
        }

    def requests(self) -> int:
        return sum(len(load.records) for load in self.loads())

    def outage_s(self) -> float:
        """From the first failed request to the last, over every client."""
        return outage_s([r for load in self.loads() for r in load.failures])

    def report(self, operation: str) -> str:
        return (
            f"{operation}:\n  api, plain:     {self.api.summary()}"
            f"\n  api, retrying:  {self.retrying.summary()}"
            f"\n  page, plain:    {self.page.summary()}"
        )


@contextlib.contextmanager
def mix(url: str, max_seconds: float = 300) -> Iterator[Mix]:
    """Start the mix against a stack's base URL, wait until every client is answered, run the
    operation inside, then go on for 200 more requests per client group before stopping."""
    with (
        Load(f"{url}/api/hello", threads=4, max_seconds=max_seconds) as api,
        Load(f"{url}/api/hello", threads=2, max_seconds=max_seconds, retry_reused=True) as retrying,
        Load(f"{url}/", threads=2, max_seconds=max_seconds) as page,
    ):
        flows = Mix(api, retrying, page)
        for load in flows.loads():
            load.wait_for(100)
        yield flows
        for load in flows.loads():
            load.wait_for(len(load.records) + 200)
