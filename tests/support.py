"""Helpers shared by every container-level test: build, run, wait on health, ask over HTTP.
The Docker work itself goes through tools/ (docker.py, compose.py), as everywhere else."""

from __future__ import annotations

import contextlib
import json
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import requests

from softy_pinko_docker import REPO, browser
from softy_pinko_docker.check.__main__ import main as check_main
from softy_pinko_docker.docker import (
    Container,
    build,
    container,
    docker,
    image,
    poll,
    run,
    wait_container_healthy,
)

# The commands the curriculum's task statements print (../shared/CURRICULUM.md), run from inside
# each task's folder; task3 names its images and containers but prints no command, so task2's
# with those names. tests/test_curriculum.py runs them; each task's README shows them.
COMMANDS = {
    "task0": [
        "docker build -f ./Dockerfile -t softy-pinko:task0 .",
        "docker run -it --rm --name softy-pinko-task0 softy-pinko:task0",
    ],
    "task1": [
        "docker build -f ./Dockerfile -t softy-pinko:task1 .",
        "docker run -p 5252:5252 -it --rm --name softy-pinko-task1 softy-pinko:task1",
    ],
    "task2": [
        "docker build -f ./front-end/Dockerfile -t softy-pinko-front-end:task2 ./front-end",
        "docker run -p 9000:9000 -it --rm --name softy-pinko-front-end-task2 "
        "softy-pinko-front-end:task2",
    ],
    "task3": [
        "docker build -f ./back-end/Dockerfile -t softy-pinko-back-end:task3 ./back-end",
        "docker build -f ./front-end/Dockerfile -t softy-pinko-front-end:task3 ./front-end",
        "docker run -p 5252:5252 -it --rm --name softy-pinko-back-end-task3 "
        "softy-pinko-back-end:task3",
        "docker run -p 9000:9000 -it --rm --name softy-pinko-front-end-task3 "
        "softy-pinko-front-end:task3",
    ],
    "task4": ["docker-compose up"],
    "task5": ["docker-compose up"],
    "task6": ["docker-compose up --scale back-end=2"],
}
T = TypeVar("T")
REPORTS = REPO / "reports"
_built: dict[str, float] = {}


def build_image(context: Path, tag: str) -> float:
    """Build an image once per test session; seconds the build took."""
    if tag not in _built:
        started = time.monotonic()
        build(tag, context)
        _built[tag] = time.monotonic() - started
    return _built[tag]


def image_size_mb(reference: str) -> float:
    found = image(reference)
    assert found is not None, f"no image {reference}"
    return found.size / 1e6


def wait_until(
    predicate: Callable[[], T | None], timeout: float, what: str, interval: float = 0.2
) -> T:
    """docker.poll for tests: any exception in `predicate` counts as "not yet"."""
    return poll(predicate, timeout=timeout, what=what, interval=interval, retry_on=(Exception,))


def inspected(name: str) -> Container:
    found = container(name)
    assert found is not None, f"no container {name}"
    return found


@contextlib.contextmanager
def running(
    reference: str,
    container_port: int,
    env: dict[str, str] | None = None,
    args: list[str] | None = None,
    host_port: int | None = None,
    command: list[str] | None = None,
) -> Iterator[tuple[str, str]]:
    """Run an image detached with its port published on 127.0.0.1 (a free port unless
    `host_port` is given), `command` instead of its own; yield (container name, base URL)."""
    name = f"sp-test-{uuid.uuid4().hex[:8]}"
    cmd = [
        "run",
        "--detach",
        "--name",
        name,
        "--publish",
        f"127.0.0.1:{host_port or ''}:{container_port}",
    ]
    for key, value in (env or {}).items():
        cmd += ["--env", f"{key}={value}"]
    docker(*cmd, *(args or []), reference, *(command or []))
    try:
        wait_container_healthy(name, timeout=60)
        host_port = docker("port", name, f"{container_port}/tcp").split()[0].rsplit(":", 1)[1]
        yield name, f"http://127.0.0.1:{host_port}"
    finally:
        run(["docker", "rm", "--force", name], check=False)


def process_uids(name: str) -> set[str]:
    """The uids of every process running in a container, as the host's `ps` sees them."""
    out = docker("top", name, "-eo", "uid,pid,comm").splitlines()
    return {line.split()[0] for line in out[1:] if line.strip()}


def get(url: str, **kwargs: Any) -> requests.Response:
    kwargs.setdefault("timeout", 5)
    return requests.get(url, **kwargs)


def json_body(response: requests.Response) -> dict[str, Any]:
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    body: dict[str, Any] = json.loads(response.text)
    return body


# --- browser ----------------------------------------------------------------------------------
# Debian's chromium, a Chrome, or Playwright's own build: browser.py chooses (CHROMIUM=...).
CHROMIUM_ARGS = browser.CHROMIUM_ARGS


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


def checker(
    root: Path, tasks: list[str], output: Path, files_only: bool = False
) -> tuple[int, dict[str, Any]]:
    """The checker on `root`: its exit code and results.json. In this process when it only
    reads files (hundreds of runs stay fast); else as a process of its own, as a learner runs
    it: its browser is Playwright's sync API, which cannot start inside the event loop of a
    pytest-playwright page another test has opened."""
    args = ["--tasks", ",".join(tasks), "--output", str(output)]
    args += ["--files-only"] if files_only else []
    if files_only:
        code = check_main(["softy-pinko-check", *args, str(root)])
    else:
        said = run([sys.executable, "-m", "softy_pinko_docker.check", *args, str(root)],
                   timeout=1200, check=False, cwd=REPO)  # fmt: skip
        code = said.returncode
    return code, json.loads((output / "results.json").read_text())


# --- the checker's command -------------------------------------------------------------------
def mistakes(
    tmp_path: Path, command: str = "python -m softy_pinko_docker.check"
) -> dict[str, tuple[list[str], str]]:
    """A user's mistakes in running the checker: its arguments, and what the one line says."""
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a repository\n")
    return {
        "no repository": (
            [],
            f"name the repository to check: {command} PATH",
        ),
        "a folder that is not there": (["nowhere"], f"nowhere does not exist: {command}"),
        "a file": (
            [str(a_file)],
            f"notes.txt is not a folder: {command} PATH",
        ),
        "a task that is not one": (
            ["--tasks", "task0,task9", str(REPO)],
            "no task task9: --tasks takes task0, task1, task2, task3, task4, task5, task6",
        ),
        "results where nothing can be written": (
            ["--output", str(a_file / "out"), str(REPO)],
            f"--output {a_file / 'out'}: results cannot be written there",
        ),
        "an option that is not one": (
            ["--bogus", str(REPO)],
            f"unrecognized arguments: --bogus (see {command} --help)",
        ),
    }
