"""Helpers shared by every container-level test: build, run, wait on health, ask over HTTP."""
from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import time
import uuid
from pathlib import Path

import requests

import stack

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


def wait_healthy(container: str, timeout: float = 60) -> None:
    def healthy():
        state = inspect(container, "{{.State.Status}} {{.State.Health.Status}}")
        if state.startswith(("exited", "dead")):
            logs = subprocess.run(["docker", "logs", container], capture_output=True, text=True)
            raise AssertionError(f"{container} stopped: {state}\n{logs.stdout}{logs.stderr}")
        return state == "running healthy"
    try:
        wait_until(healthy, timeout, f"container {container} to be healthy")
    except AssertionError:
        logs = subprocess.run(["docker", "logs", container], capture_output=True, text=True)
        raise AssertionError(f"{container} not healthy after {timeout}s:\n"
                             f"{logs.stdout[-2000:]}{logs.stderr[-2000:]}") from None


@contextlib.contextmanager
def running(image: str, container_port: int, env: dict | None = None, args: list | None = None):
    """Run an image detached with its port published on 127.0.0.1; yield (name, base URL)."""
    name = f"sp-test-{uuid.uuid4().hex[:8]}"
    cmd = ["docker", "run", "--detach", "--name", name, "--publish", f"127.0.0.1::{container_port}"]
    for key, value in (env or {}).items():
        cmd += ["--env", f"{key}={value}"]
    subprocess.run(cmd + (args or []) + [image], check=True, capture_output=True)
    try:
        wait_healthy(name)
        host_port = inspect(name, f'{{{{(index (index .NetworkSettings.Ports "{container_port}/tcp") 0).HostPort}}}}')
        yield name, f"http://127.0.0.1:{host_port}"
    finally:
        subprocess.run(["docker", "rm", "--force", name], capture_output=True)


def container_user(name: str) -> str:
    """The effective uid of the container's PID 1 and every other process in it."""
    out = subprocess.run(["docker", "top", name, "-o", "uid"], capture_output=True, text=True,
                         check=True).stdout.split()
    return " ".join(out[1:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, **kwargs) -> requests.Response:
    kwargs.setdefault("timeout", 5)
    return requests.get(url, **kwargs)


def json_body(response: requests.Response) -> dict:
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    return json.loads(response.text)


__all__ = ["REPO", "REPORTS", "build_image", "running", "wait_until", "stack", "get"]
