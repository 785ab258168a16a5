"""Fixtures shared by every test module: the browser, and the task5/task6 stacks."""
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# The one helper library (tools/) serves the Makefile and the tests alike.
sys.path.insert(0, str(REPO / "tools"))

import stack  # noqa: E402
from support import CHROMIUM, CHROMIUM_ARGS, free_port  # noqa: E402


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """Debian's Chromium, headless, driven by Playwright (no browser download needed)."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM,
            headless=True, args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 900})
        yield context
        context.close()


@pytest.fixture
def page(browser):
    page = browser.new_page()
    yield page
    page.close()


class Stack:
    """One task's stack on a free 127.0.0.1 port, as its own Compose project."""

    def __init__(self, task: str):
        self.task, self.project = task, f"sp-test-{task}"
        self.env = {"PROXY_PORT": str(free_port())}
        self.url = f"http://127.0.0.1:{self.env['PROXY_PORT']}"

    def up(self, replicas: int | None = None):
        stack.down(self.project)
        seconds = stack.up(self.task, self.project, replicas=replicas, env=self.env)
        print(f"{self.task} healthy after {seconds:.1f}s")

    def compose(self, *args: str, check: bool = True):
        return stack.compose(self.task, self.project, *args, env=self.env, capture=True,
                             check=check)

    def scale(self, replicas: int, wait: bool = True):
        """Change the number of API replicas in place; the proxy is not touched."""
        started = time.monotonic()
        # No `--wait`: it gives up at once on a replica that is unhealthy for the moment
        # (one just unpaused, say); wait_healthy polls until the deadline instead.
        self.compose("up", "--detach", "--no-recreate", "--scale", f"back-end={replicas}")
        if wait:
            stack.wait_healthy(self.project, timeout=60, expect={"back-end": replicas})
        print(f"[scale] {self.task} to {replicas} replicas in {time.monotonic() - started:.1f}s")

    def replicas(self) -> list[str]:
        return sorted(c["Names"] for c in stack.containers(self.project)
                      if c["Service"] == "back-end" and c["State"] == "running")

    def down(self):
        stack.down(self.project)

    def proxy_trouble(self) -> str:
        """The proxy's error-log lines and 5xx access-log lines: why a request failed."""
        out = self.compose("logs", "--no-log-prefix", "proxy").stdout.splitlines()
        lines = [l for l in out if not l.startswith("{") and "could not be resolved" not in l
                 or '"status":5' in l]
        return "\n".join(lines[-15:])


@pytest.fixture(scope="session")
def stacks():
    """Start a task's stack on first use (task6 with 3 replicas); remove them all at the end."""
    started: dict[str, Stack] = {}

    def get_stack(task: str) -> Stack:
        if task not in started:
            started[task] = Stack(task)
            started[task].up(replicas=3 if task == "task6" else None)
        return started[task]

    yield get_stack
    for running_stack in started.values():
        running_stack.down()
        assert stack.containers(running_stack.project) == []
