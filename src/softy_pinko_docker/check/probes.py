"""How the checks ask a running task something: an HTTP request, a page in a real browser, and
which replica answered a request when the answers do not say.

Which replica answered is read from the engine, not from the answer (a learner's back-end sends
no header naming itself): the bytes each replica's network interface has received, read from the
host before and after each request, one request at a time. The replica whose count moved served
it (its answer has come back, so the request has been counted); the proxy's connections to the
others carry nothing meanwhile.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from softy_pinko_docker import browser
from softy_pinko_docker.docker import Container, ToolError, docker, run
from softy_pinko_docker.replicas import received_bytes


@dataclasses.dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: str


def get(url: str, headers: dict[str, str] | None = None, timeout: float = 5) -> Answer:
    """One GET; an HTTP error status is an answer too. OSError when nothing answers."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - 127.0.0.1
            body = response.read(65536).decode(errors="replace")
            return Answer(
                response.status, {k.lower(): v for k, v in response.headers.items()}, body
            )
    except urllib.error.HTTPError as error:
        body = error.read(65536).decode(errors="replace")
        return Answer(error.code, {k.lower(): v for k, v in error.headers.items()}, body)


# A proxy answers these while its upstream is still starting: worth waiting on. Any other
# answer is the server's own, and waiting longer would not change it.
NOT_YET = (502, 503, 504)


def wait_answer(url: str, timeout: float, decided: Callable[[], str | None]) -> Answer | str:
    """The server's answer to `url`, waited on for at most `timeout` seconds while nothing
    answers or a proxy says its upstream is not there yet; else why there is none: `decided()`
    says why no answer can come any more (a container that exited, a server listening on
    another port), or the wait ran out."""
    deadline = time.monotonic() + timeout
    last: Answer | str = ""
    while time.monotonic() < deadline:
        try:
            last = get(url, timeout=3)
            if last.status not in NOT_YET:
                return last
        except OSError as error:
            last = str(getattr(error, "reason", error))
        gone = decided()
        if gone:
            return gone
        time.sleep(0.5)
    if isinstance(last, Answer):
        return last
    return f"nothing answered within {timeout:.0f}s (last error: {last})"


_LISTENING = re.compile(
    r"(?:Running on|Listening at:?)\s+(?:all addresses \()?(?:https?://)?"
    r"(\[[^\]]*\]|[\w.-]+?):(\d+)"
)


def listens_elsewhere(container: Container, port: int) -> str | None:
    """What the server's own log says it listens on, when that cannot be reached on `port` from
    outside its container (Flask's default 127.0.0.1:5000), else None."""
    said = run(["docker", "logs", "--tail", "50", container.id], check=False, timeout=30)
    found = _LISTENING.findall(said.stdout + said.stderr)
    if not found or any(int(p) == port and h not in ("127.0.0.1", "localhost") for h, p in found):
        return None
    addresses = ", ".join(dict.fromkeys(f"{h}:{p}" for h, p in found))
    inside = all(h in ("127.0.0.1", "localhost") for h, _ in found)
    reason = " (its own loopback: nothing outside the container reaches it)" if inside else ""
    return f"the server listens on {addresses}{reason}, not on 0.0.0.0:{port}"


def exited(found: list[Container]) -> str | None:
    """Why one of these containers is no longer running (its last log line), or None."""
    for container in found:
        state = docker(
            "inspect",
            "--format",
            "{{.State.Status}} {{.State.ExitCode}}",
            container.id,
            check=False,
        ).split()
        if not state or state[0] in ("exited", "dead", "restarting"):
            said = last_log_line(container.id)
            code = state[1] if len(state) > 1 else "?"
            return f"{container.name or container.id[:12]} exited (code {code}): {said}"
    return None


def last_log_line(container_id: str) -> str:
    said = run(["docker", "logs", "--tail", "20", container_id], check=False, timeout=30)
    out = said.stdout + said.stderr  # the container's stderr comes out on the CLI's
    lines = [ln for ln in out.strip().splitlines() if ln.strip()]
    errors = [ln for ln in lines if re.search(r"error|emerg|Traceback|No such|not found", ln, re.I)]
    return (errors or lines or ["no output"])[-1].strip()[:300]


# --- the browser -------------------------------------------------------------------------------


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (browser.py chooses which), as a Playwright browser."""
    from playwright.sync_api import sync_playwright

    chosen, _ = browser.prepare()  # Debian's chromium, installed the first time it is needed
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chosen.path, headless=True, args=browser.CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@dataclasses.dataclass
class PageView:
    text: str | None  # the element's text; None when the page has no such element
    console: list[str]  # what the page's script said went wrong (a CORS refusal, say)


def rerouted(ports: dict[int, int]) -> Callable[[Any], None]:
    """A route handler for every request a page makes: to the learner's own localhost ports, as
    the checker published them; anything else is refused."""

    def reroute(route: Any) -> None:
        match = re.match(
            r"^(https?)://(localhost|127\.0\.0\.1)(?::(\d+))?(/.*)?$", route.request.url
        )
        if not match:
            route.abort()  # the page reaches nothing but the learner's own stack
            return
        port = int(match.group(3) or 80)
        if port not in ports:
            route.abort()
            return
        # Fetched here and handed to the page as the answer of the URL it asked for: the page
        # keeps its own origin, so CORS and a content security policy apply as they would.
        try:
            said = route.fetch(
                url=f"http://127.0.0.1:{ports[port]}{match.group(4) or '/'}",
                max_redirects=0,
                timeout=10000,
            )
        except Exception:  # noqa: BLE001 - nothing answered: the page sees a failed request
            route.abort()
            return
        route.fulfill(response=said)

    return reroute


def page_text(
    launched: Any, url: str, ports: dict[int, int], selector: str, expected: str, timeout: float
) -> PageView:
    """Open `url` in a fresh browser context and wait until `selector`'s text is `expected`
    (or `timeout`). `ports` maps a port the learner's files name (5252, 9000, 80) to where the
    checker published it: the page and its script see the learner's own URLs."""
    context = launched.new_context()
    console: list[str] = []
    try:
        context.route(re.compile(r".*"), rerouted(ports))
        # WebSockets are not routed above: the page opens none (the mock never connects).
        context.route_web_socket(re.compile(r".*"), lambda socket: socket.close())
        page = context.new_page()
        page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: console.append(str(e)))
        try:
            page.goto(url, wait_until="load", timeout=timeout * 1000)
        except Exception as error:  # noqa: BLE001 - Playwright's errors have no common base
            raise ToolError(
                f"the browser could not load {url}: {str(error).splitlines()[0]}"
            ) from None
        deadline = time.monotonic() + timeout
        text: str | None = None
        while True:
            found = page.query_selector(selector)
            text = found.inner_text().strip() if found else None
            if text == expected or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        return PageView(text, console)
    finally:
        context.close()


# --- which replica answered ----------------------------------------------------------------------
def replica_sequence(url: str, replicas: list[Container], requests: int) -> list[str]:
    """The replica that served each of `requests` GETs of `url`, one after another ("?" where
    no replica's counter moved, "!" for a request that failed)."""
    sequence = []
    with KeepAlive(url) as client:
        for _ in range(requests):
            before = {c.name: received_bytes(c) for c in replicas}
            try:
                failed = client.get() != 200
            except OSError:
                failed = True
            after = {c.name: received_bytes(c) for c in replicas}
            moved = {name: after[name] - before[name] for name in before}
            served = max(moved, key=lambda name: moved[name])
            sequence.append("!" if failed else served if moved[served] > 0 else "?")
    return sequence


class KeepAlive:
    """GETs of one URL on one connection, as a browser reloading a page sends them: Nginx's
    round-robin is each worker process's own (without a shared `zone`), and one connection
    stays with one worker, so the turns a learner sees are the turns counted here. A closed
    connection is opened again."""

    def __init__(self, url: str):
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.path = parts.path or "/"
        self.connection: http.client.HTTPConnection | None = None

    def __enter__(self) -> KeepAlive:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.connection is not None:
            self.connection.close()

    def get(self) -> int:
        for attempt in (1, 2):
            connection = self.connection or http.client.HTTPConnection(
                self.host, self.port, timeout=5
            )
            self.connection = connection
            try:
                connection.request("GET", self.path)
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                connection.close()
                self.connection = None
                if attempt == 2:
                    raise OSError("the connection failed twice") from None
                continue
            if response.will_close:
                connection.close()
                self.connection = None
            return response.status
        return 0


def direct_url(container: Container, port: int, path: str) -> str:
    """The container's own address on its first network: the host reaches it there."""
    address = next(
        (n.get("IPAddress") for n in container.networks.values() if n.get("IPAddress")), ""
    )
    return f"http://{address}:{port}{path}"


def every_replica_serves(url: str, replicas: list[Container], timeout: float) -> set[str]:
    """Requests one after another until each replica has served one, or `timeout`: the names
    of those that did."""
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while seen != {c.name for c in replicas} and time.monotonic() < deadline:
        seen.update(s for s in replica_sequence(url, replicas, 1) if s not in ("?", "!"))
    return seen


# The load test `locust -f loadtest` runs from a checkout: the package's own, here and installed.
LOADTEST = Path(__file__).resolve().parents[1] / "loadtest"


def load_test(url: str, replicas: int, seconds: int, reports: Path) -> dict[str, Any]:
    """`locust -f loadtest --headless` against `url` (ApiUser only: the statement asks nothing
    of the page under load), the replicas told apart by the engine; its verdict.json."""
    cmd = [sys.executable, "-m", "locust", "-f", str(LOADTEST), "--headless", "--only-summary"]
    cmd += ["-H", url, "-u", "10", "-r", "10", "-t", f"{seconds}s", "--stop-timeout", "2"]
    # The statement sets no latency: only the split and the failures are judged.
    cmd += ["--expected-replicas", str(replicas), "--max-p95-ms", "60000", "ApiUser"]
    env = {
        "REPORTS_DIR": str(reports),
        "PYTHONPATH": os.pathsep.join(
            # The folder that holds the package, for the locustfile's own imports.
            p
            for p in (str(LOADTEST.parents[1]), os.environ.get("PYTHONPATH", ""))
            if p
        ),
    }
    reports.mkdir(parents=True, exist_ok=True)
    # Run in its own folder: Locust reads a locust.conf or pyproject.toml where it starts.
    said = run(cmd, timeout=seconds + 90, check=False, env=env, cwd=reports)
    verdict = reports / "locust" / "verdict.json"
    if not verdict.is_file():
        raise ToolError(
            f"Locust gave no verdict (exit {said.returncode})",
            details=(said.stdout + said.stderr)[-3000:],
        )
    result: dict[str, Any] = json.loads(verdict.read_text())
    return result
