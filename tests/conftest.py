"""Fixtures shared by every test module: the browser, the task stacks, and copies of a task that
a test changes and ships."""

import contextlib
import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from softy_pinko_docker import REPO, browser, stack
from softy_pinko_docker.compose import ComposeProject, copy_task, free_port
from softy_pinko_docker.docker import ToolError, remove_images
from support import CHROMIUM_ARGS


def pytest_runtest_makereport(item, call):
    """A ToolError's details (container logs, a command's output) go into the test's report."""
    error = call.excinfo.value if call.excinfo else None
    if isinstance(error, ToolError) and error.details:
        item.add_report_section(call.when, "ToolError details", error.details)


def pytest_collection_finish(session):
    """When the run selects a browser test, and only then, the browser is installed if needed
    and named once at the top of the run."""
    if any(item.get_closest_marker("browser") for item in session.items):
        try:
            _, said = browser.prepare()
        except ToolError as error:
            said = f"[browser] unusable: {error}"  # each browser test fails with it below
        session.config.pluginmanager.get_plugin("terminalreporter").write_line(said)


@pytest.fixture(scope="session")
def chromium(tmp_path_factory):
    """The browser browser.py chooses, headless, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    chosen = browser.choose()
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=chosen.path,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        yield context
        context.close()


@pytest.fixture
def page(chromium):
    page = chromium.new_page()
    yield page
    page.close()


class TaskStack(ComposeProject):
    """A task's stack as its own Compose project on a free 127.0.0.1 port: the class the tools
    drive Compose with, and what the tests ask of it besides."""

    @classmethod
    def create(cls, task: str, name: str | None = None) -> "TaskStack":
        """`task` is a task's name or the path of a folder that holds a docker-compose.yml."""
        return cls(
            REPO / task, name or f"sp-test-{Path(task).name}", {"PROXY_PORT": str(free_port())}
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.env['PROXY_PORT']}"

    def start(self, replicas: int | None = None) -> None:
        self.down()
        print(f"{self.task} healthy after {self.up(replicas):.1f}s")

    def deploy(self, replicas: int | None = None) -> list[str]:
        """What `make up` does to the running stack (roll what changed); the lines it printed."""
        lines: list[str] = []
        seconds = stack.up(self, replicas, say=lines.append)
        print("\n" + "\n".join(lines) + f"\ndeployed in {seconds:.1f}s")
        return lines

    def scale_api(self, replicas: int, wait: bool = True) -> None:
        """Change the number of API replicas in place; the proxy is not touched."""
        started = time.monotonic()
        self.scale("back-end", replicas, wait=wait)
        print(f"[scale] {self.task} to {replicas} replicas in {time.monotonic() - started:.1f}s")

    def hostnames(self) -> list[str]:
        """The X-Served-By of every running API replica."""
        return [c.hostname for c in self.running("back-end")]

    def replicas(self) -> list[str]:
        return sorted(c.name for c in self.running("back-end"))

    def proxy_trouble(self) -> str:
        """The proxy's error-log lines and 5xx access-log lines: why a request failed."""
        out = self.out("logs", "--no-log-prefix", "proxy").splitlines()
        lines = [
            line
            for line in out
            if not line.startswith("{")
            and "could not be resolved" not in line
            or '"status":5' in line
        ]
        return "\n".join(lines[-15:])


@contextlib.contextmanager
def started_on_first_use(make: Callable[[str], TaskStack], api_replicas: int):
    """get(task): that task's stack, made and started the first time it is asked for (task6
    with `api_replicas` API replicas); every one is removed at the end."""
    started: dict[str, TaskStack] = {}

    def get(task: str) -> TaskStack:
        if task not in started:
            started[task] = make(task)
            started[task].start(replicas=api_replicas if task == "task6" else None)
        return started[task]

    try:
        yield get
    finally:
        for running_stack in started.values():
            running_stack.down()
            assert running_stack.containers() == []


@pytest.fixture(scope="session")
def stacks():
    """A task's stack, started on first use (task6 with 3 replicas)."""
    with started_on_first_use(TaskStack.create, api_replicas=3) as get:
        yield get


@dataclasses.dataclass
class Release(TaskStack):
    """A copy of a task that a test changes and ships, as `make up` would ship a change to it.

    Its own folder, project and image tags (`:release-test-taskN`), so a changed image never
    reaches another test's stack. Changes pile up: each test ships its own on top of the last,
    like successive releases."""

    tag: str = ""  # its images' tag

    @classmethod
    def of(cls, task: str, root: Path) -> "Release":
        tag = f"release-test-{task}"
        return cls(
            copy_task(task, root, tag),
            f"sp-test-release-{task}",
            {"PROXY_PORT": str(free_port())},
            tag=tag,
        )

    def change(self, path: str, old: str, new: str) -> None:
        """Edit one file of the copy (`old` must be in it)."""
        file = self.directory / path
        text = file.read_text()
        assert old in text, f"{old!r} not in {path}"
        file.write_text(text.replace(old, new, 1))

    @contextlib.contextmanager
    def changed(self, path: str, old: str, new: str):
        """The file edited for the length of the block, then as it was before."""
        file = self.directory / path
        before = file.read_text()
        self.change(path, old, new)
        try:
            yield
        finally:
            file.write_text(before)

    def down(self, timeout: int = 10) -> None:
        super().down(timeout)
        remove_images(f"*:{self.tag}")


@pytest.fixture(scope="session")
def releases(tmp_path_factory):
    """A task's copy, started on first use (task6 with 2 API replicas)."""
    with started_on_first_use(
        lambda task: Release.of(task, tmp_path_factory.mktemp("release") / task), api_replicas=2
    ) as get:
        yield get
