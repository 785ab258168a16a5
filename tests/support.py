"""Helpers shared by every container-level test: build, run, wait on health, ask over HTTP."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import requests

import stack
from stack import free_port  # noqa: F401  (re-exported for the tests)

REPO = Path(__file__).resolve().parent.parent
REPORTS = REPO / "reports"
_built: dict[str, float] = {}


def build_image(context: Path, tag: str) -> float:
    """Build an image once per test session; seconds the build took."""
    if tag not in _built:
        started = time.monotonic()
        proc = subprocess.run(["docker", "build", "--quiet", "-t", tag, str(context)],
                              capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, f"docker build {context} failed:\n{proc.stdout}{proc.stderr}"
        _built[tag] = time.monotonic() - started
    return _built[tag]


def inspect(obj: str, template: str) -> str:
    return subprocess.run(["docker", "inspect", "--format", template, obj],
                          capture_output=True, text=True, check=True).stdout.strip()


def image_size_mb(image: str) -> float:
    return int(inspect(image, "{{.Size}}")) / 1e6


def base_of(dockerfile: Path) -> str:
    import baseimages
    return baseimages.bases_in_dockerfile(dockerfile.read_text())[-1]


def wait_until(predicate, timeout: float, what: str, interval: float = 0.2):
    """Poll `predicate` until it returns a truthy value; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as error:  # noqa: BLE001 - reported if the wait times out
            last_error = error
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}"
                         + (f" (last error: {last_error})" if last_error else ""))


@contextlib.contextmanager
def running(image: str, container_port: int, env: dict | None = None, args: list | None = None,
            host_port: int | None = None):
    """Run an image detached with its port published on 127.0.0.1 (a free port unless
    `host_port` is given); yield (container name, base URL)."""
    name = f"sp-test-{uuid.uuid4().hex[:8]}"
    cmd = ["docker", "run", "--detach", "--name", name,
           "--publish", f"127.0.0.1:{host_port or ''}:{container_port}"]
    for key, value in (env or {}).items():
        cmd += ["--env", f"{key}={value}"]
    subprocess.run(cmd + (args or []) + [image], check=True, capture_output=True)
    try:
        stack.wait_container_healthy(name, timeout=60)
        host_port = inspect(name, f'{{{{(index (index .NetworkSettings.Ports "{container_port}/tcp") 0).HostPort}}}}')
        yield name, f"http://127.0.0.1:{host_port}"
    finally:
        subprocess.run(["docker", "rm", "--force", name], capture_output=True)


def process_uids(name: str) -> set[str]:
    """The uids of every process running in a container, as the host's `ps` sees them."""
    out = subprocess.run(["docker", "top", name, "-eo", "uid,pid,comm"], capture_output=True,
                         text=True, check=True).stdout.splitlines()
    return {line.split()[0] for line in out[1:] if line.strip()}


def get(url: str, **kwargs) -> requests.Response:
    kwargs.setdefault("timeout", 5)
    return requests.get(url, **kwargs)


def json_body(response: requests.Response) -> dict:
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    return json.loads(response.text)



# --- browser ----------------------------------------------------------------------------------
# Debian's chromium (installed by tools/bootstrap.sh), or a Chrome already there; CHROMIUM wins.
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("google-chrome") \
    or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]


def screenshot(page, name: str) -> Path:
    path = REPORTS / "screenshots" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


def dynamic_content(page, state: str, timeout_s: float = 15) -> str:
    """Wait until #dynamic-content reaches `state` (ready | error); return its text."""
    page.wait_for_selector(f"#dynamic-content[data-state={state}]", timeout=timeout_s * 1000)
    return page.inner_text("#dynamic-content").strip()


def check_page_hello_then_error(page, url: str, stop_back_end, name: str) -> None:
    """The page shows the API's answer; with the API stopped it shows its error state."""
    errors: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.goto(url)
    assert dynamic_content(page, "ready") == "Hello, World!"
    screenshot(page, f"{name}-hello")
    assert not [e for e in errors if "Content Security Policy" in e], errors
    stop_back_end()
    page.reload()
    message = dynamic_content(page, "error")
    assert "Could not reach the back-end" in message, message
    screenshot(page, f"{name}-error")


# --- load while something happens -----------------------------------------------------------
class Load:
    """Steady GET traffic from a few threads, bounded in time, tallying outcomes.

    Use as a context manager around an operation (scaling, killing a replica, ...). Every
    response is recorded with its time, status and X-Served-By; a connection error or a
    non-2xx answer counts as a failure.
    """

    def __init__(self, url: str, threads: int = 4, max_seconds: float = 120,
                 max_requests: int | None = None):
        import threading
        self.url, self.max_seconds, self.max_requests = url, max_seconds, max_requests
        self.records: list[tuple[float, int, str]] = []  # (monotonic time, status, served by)
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self):
        session = requests.Session()
        deadline = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            with self._lock:
                if self.max_requests is not None and len(self.records) >= self.max_requests:
                    return
            try:
                response = session.get(self.url, timeout=10)
                record = (time.monotonic(), response.status_code,
                          response.headers.get("X-Served-By", ""))
            except requests.RequestException as error:
                record = (time.monotonic(), 0, "")
                self.errors.append(f"{type(error).__name__}: {error}")
                time.sleep(0.05)  # a client backs off a little instead of spinning on errors
            with self._lock:
                self.records.append(record)

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)

    def wait(self):
        """Block until the request budget (max_requests or max_seconds) is spent."""
        for thread in self._threads:
            thread.join(timeout=self.max_seconds + 15)

    def wait_for(self, count: int, timeout: float = 30):
        wait_until(lambda: len(self.records) >= count, timeout, f"{count} requests to be sent")

    @property
    def failures(self) -> list[tuple[float, int, str]]:
        return [r for r in self.records if not 200 <= r[1] < 300]

    def shares(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _, status, served_by in self.records:
            if 200 <= status < 300:
                counts[served_by] = counts.get(served_by, 0) + 1
        return counts

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
        for _, status, _ in self.failures:
            statuses[status] = statuses.get(status, 0) + 1
        return (f"{len(self.records)} requests, {len(self.failures)} failed"
                + (f" (status: count {statuses})" if statuses else "")
                + (f" (first errors: {self.errors[:3]})" if self.errors else "")
                + f", per replica: {self.shares()}")
