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
from load import Load  # noqa: F401  (re-exported for the tests; shared with `make bench`)
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
