"""Fixtures shared by every test module: the browser, the task stacks, and copies of a task that
a test changes and ships."""
import contextlib
import sys
import time
from collections.abc import Callable
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
    """One task's stack on a free 127.0.0.1 port, as its own Compose project. `task` is a task
    name or the path of a folder that holds a docker-compose.yml."""

    def __init__(self, task: str, project: str | None = None):
        self.task, self.project = task, project or f"sp-test-{Path(task).name}"
        self.env = {"PROXY_PORT": str(free_port())}
        self.url = f"http://127.0.0.1:{self.env['PROXY_PORT']}"

    def up(self, replicas: int | None = None):
        stack.down(self.project)
        seconds = stack.up(self.task, self.project, replicas=replicas, env=self.env)
        print(f"{self.task} healthy after {seconds:.1f}s")

    def deploy(self, replicas: int | None = None) -> list[str]:
        """What `make up` does to the running stack (roll what changed); the lines it printed."""
        lines: list[str] = []
        seconds = stack.up(self.task, self.project, replicas=replicas, env=self.env,
                           say=lines.append)
        print("\n" + "\n".join(lines) + f"\ndeployed in {seconds:.1f}s")
        return lines

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

    def hostnames(self) -> list[str]:
        """The X-Served-By of every running API replica."""
        return [c.hostname for c in stack.project_containers(self.project, "back-end")
                if c.state == "running"]

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


@contextlib.contextmanager
def started_on_first_use(make: Callable[[str], Stack], api_replicas: int):
    """get(task): that task's stack, made and started the first time it is asked for (task6
    with `api_replicas` API replicas); every one is removed at the end."""
    started: dict[str, Stack] = {}

    def get(task: str) -> Stack:
        if task not in started:
            started[task] = make(task)
            started[task].up(replicas=api_replicas if task == "task6" else None)
        return started[task]

    try:
        yield get
    finally:
        for running_stack in started.values():
            running_stack.down()
            assert stack.containers(running_stack.project) == []


@pytest.fixture(scope="session")
def stacks():
    """A task's stack, started on first use (task6 with 3 replicas)."""
    with started_on_first_use(Stack, api_replicas=3) as get:
        yield get


class Release(Stack):
    """A copy of a task that a test changes and ships, as `make up` would ship a change to it.

    Its own folder, project and image tags (`:release-test-taskN`), so a changed image never
    reaches another test's stack."""

    def __init__(self, task: str, root: Path):
        self.root, self.tag = root, f"release-test-{task}"
        stack.copy_task(task, root, self.tag)
        super().__init__(str(root), f"sp-test-release-{task}")

    def change(self, path: str, old: str, new: str) -> None:
        """Edit one file of the copy (`old` must be in it)."""
        file = self.root / path
        text = file.read_text()
        assert old in text, f"{old!r} not in {path}"
        file.write_text(text.replace(old, new, 1))

    @contextlib.contextmanager
    def changed(self, path: str, old: str, new: str):
        """The file edited for the length of the block, then as it was before."""
        file = self.root / path
        before = file.read_text()
        self.change(path, old, new)
        try:
            yield
        finally:
            file.write_text(before)

    def down(self):
        super().down()
        stack.remove_images(self.tag)


@pytest.fixture(scope="session")
def releases(tmp_path_factory):
    """A task's copy, started on first use (task6 with 2 API replicas)."""
    with started_on_first_use(lambda task: Release(task, tmp_path_factory.mktemp("release") / task),
                              api_replicas=2) as get:
        yield get
