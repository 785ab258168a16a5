"""The curriculum's own commands, verbatim, from inside each task's folder, with what it says
they do: the greeting, the page, the container names, both replicas answering through the proxy.

The commands are those the task statements print (../shared/CURRICULUM.md); for task3, which
names its images and containers but prints no command, task2's commands with those names. They
run as a learner types them: in a shell, under a pseudo-terminal (they ask for `-it`), on the
curriculum's fixed host ports 5252, 9000 and 80, so those must be free. A long-running command
is stopped as a learner stops it, with Ctrl-C, and whatever it started is removed afterwards.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import signal
import socket
import struct
import subprocess
import termios
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from softy_pinko_docker.compose import ComposeProject
from softy_pinko_docker.docker import container, containers, image, poll, remove_images, run
from support import COMMANDS, REPO, check_page_hello_then_error, get, wait_until

pytestmark = pytest.mark.docker

UP_TIMEOUT = 300  # a command that builds what is missing first
# What a learner's shell would not have set: the variables that move this repository's host
# ports or rename a Compose project (the Makefile exports PROXY_PORT, CI sets it to 8080).
NOT_A_LEARNER_S = {"PROXY_PORT", "BACK_END_PORT", "FRONT_END_PORT", "REPLICAS"}


class Terminal:
    """One command in a shell under a pseudo-terminal, its output drained as it comes."""

    def __init__(self, command: str, folder: Path):
        self.command = command
        controller, terminal = pty.openpty()
        # An 80x24 terminal, as a learner's window is at least: progress output sizes itself.
        fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in NOT_A_LEARNER_S and not k.startswith("COMPOSE_")
        }
        # A terminal of its own and a session of its own: the command is what the learner's
        # shell would run, and nothing of it reads the test's standard input.
        self.process = subprocess.Popen(
            ["bash", "-c", command],
            cwd=folder,
            stdin=terminal,
            stdout=terminal,
            stderr=terminal,
            start_new_session=True,
            env={**env, "TERM": "xterm"},
        )
        os.close(terminal)
        self.controller = controller
        self.chunks: list[bytes] = []
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self) -> None:
        with contextlib.suppress(OSError):  # EIO once the command has closed the terminal
            while chunk := os.read(self.controller, 4096):
                self.chunks.append(chunk)

    @property
    def output(self) -> str:
        return b"".join(self.chunks).decode(errors="replace")

    def wait(self, timeout: float) -> int:
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"`{self.command}` still runs after {timeout:.0f}s:\n{self.output[-2000:]}")
        self.reader.join(10)
        return code

    def stop(self, timeout: float = 60) -> None:
        """Ctrl-C, then wait until the command has ended. `docker run -it` puts the terminal in
        raw mode and passes the keystroke to the container's own terminal; to Compose it is the
        SIGINT a terminal sends its job."""
        if self.process.poll() is not None:
            return
        if "docker run" in self.command:
            os.write(self.controller, b"\x03")
        else:
            os.killpg(self.process.pid, signal.SIGINT)
        self.wait(timeout)

    def close(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        # Every writer is gone, so the reader ends (EIO); only then may its descriptor close,
        # or the number could be reused under a read still blocked on it.
        self.reader.join()
        os.close(self.controller)


def finished(command: str, folder: Path, timeout: float = UP_TIMEOUT) -> str:
    """Run a command that ends by itself; its output, once it exited 0."""
    terminal = Terminal(command, folder)
    try:
        code = terminal.wait(timeout)
        assert code == 0, f"`{command}` exited {code}:\n{terminal.output[-3000:]}"
        return terminal.output
    finally:
        terminal.close()


def free_ports(*ports: int) -> None:
    for port in ports:
        with socket.socket() as sock:
            taken = sock.connect_ex(("127.0.0.1", port)) == 0
        assert not taken, (
            f"host port {port} is taken, and the curriculum's commands publish on it: stop what "
            f"listens there (a `make up` stack: `make down`)"
        )


def nothing_of_the_learner_s(names: list[str], project: str = "") -> None:
    """The names the curriculum gives are the ones a learner running it by hand has: the test
    would remove them afterwards, so it refuses to start where any of them exists."""
    found = [name for name in names if container(name) is not None]
    if project:
        found += [c.name for c in containers(f"label=com.docker.compose.project={project}")]
    assert not found, (
        f"{sorted(set(found))} exist already, and this test would remove them: remove them "
        f"first (docker rm -f ..., or `docker compose -p {project or 'NAME'} down`)"
    )


@contextlib.contextmanager
def started(command: str, folder: Path, removes: list[str]) -> Iterator[Terminal]:
    """A command that runs until Ctrl-C; afterwards, it must have ended and removed its
    containers (`removes`), or been made to."""
    terminal = Terminal(command, folder)
    try:
        yield terminal
        terminal.stop()
        left = [name for name in removes if container(name) is not None]
        assert not left, f"Ctrl-C left {left} behind (--rm removes a container as it exits)"
    finally:
        terminal.close()
        run(["docker", "rm", "--force", *removes], check=False)


def healthy(terminal: Terminal, *names: str) -> None:
    def all_up() -> bool:
        if terminal.process.poll() is not None:
            pytest.fail(f"`{terminal.command}` ended before {names} were up:\n{terminal.output}")
        found = [container(name) for name in names]
        return all(c is not None and c.running_and_healthy for c in found)

    poll(all_up, timeout=UP_TIMEOUT, what=f"{', '.join(names)} running and healthy", interval=1)


@contextlib.contextmanager
def docker_run(task: str, command: str) -> Iterator[Terminal]:
    """One of the curriculum's `docker run -p H:C -it --rm --name NAME` commands, healthy,
    until Ctrl-C; its name and host port come from the command itself."""
    (name,) = re.findall(r"--name (\S+)", command)
    nothing_of_the_learner_s([name])
    free_ports(*(int(port) for port in re.findall(r"-p (\d+):", command)))
    with started(command, REPO / task, [name]) as terminal:
        healthy(terminal, name)
        yield terminal


def hello(url: str) -> None:
    def answered() -> str:
        response = get(url)
        assert response.status_code == 200, f"{response.status_code} {response.text[:200]}"
        return response.text

    assert wait_until(answered, 60, f"a 200 from {url}") == "Hello, World!"


@contextlib.contextmanager
def compose_up(task: str, names: list[str]) -> Iterator[None]:
    """The task's Compose command in its folder, in the foreground; the project (named after
    the folder, as Compose names it) is removed afterwards, volumes included."""
    (command,) = COMMANDS[task]
    version = run(["docker-compose", "version", "--short"], check=False).stdout.strip()
    assert version and not version.lstrip("v").startswith("1."), (
        f"`docker-compose` on PATH is Compose {version or '(none)'}, whose container names the "
        "curriculum's do not match: run through make, which puts .venv/bin (Compose v2) first"
    )
    nothing_of_the_learner_s(names, task)
    # The printed command builds the images itself, as on a learner's first run.
    remove_images(f"softy-pinko-*:{task}")
    try:
        with started(command, REPO / task, []) as terminal:
            healthy(terminal, *names)
            yield
    finally:
        ComposeProject.for_task(task, task).down()


# --------------------------------------------------------------------------------------------
def test_task0_prints_hello_world_through_its_terminal():
    build, hello_run = COMMANDS["task0"]
    nothing_of_the_learner_s(["softy-pinko-task0"])
    finished(build, REPO / "task0")
    output = finished(hello_run, REPO / "task0", timeout=60)
    assert output == "Hello, World!\r\n", repr(output)  # a terminal ends lines with CR LF
    assert container("softy-pinko-task0") is None, "--rm removed it"


def test_task1_serves_hello_on_5252():
    build, serve = COMMANDS["task1"]
    finished(build, REPO / "task1")
    with docker_run("task1", serve):
        hello("http://127.0.0.1:5252/api/hello")


def test_task2_front_end_serves_the_page_on_9000():
    build, serve = COMMANDS["task2"]
    finished(build, REPO / "task2")
    with docker_run("task2", serve):
        page = wait_until(lambda: get("http://127.0.0.1:9000/"), 60, "the page on 9000")
        assert page.status_code == 200 and "Softy-Pinko" in page.text


@pytest.mark.browser
def test_task3_page_shows_the_back_end_s_hello_then_its_absence(page):
    builds, runs = COMMANDS["task3"][:2], COMMANDS["task3"][2:]
    for build in builds:
        finished(build, REPO / "task3")
    with docker_run("task3", runs[0]) as api, docker_run("task3", runs[1]):
        # The page calls http://localhost:5252 from http://localhost:9000, cross-origin.
        check_page_hello_then_error(page, "http://localhost:9000/", api.stop, "task3")
        assert page.locator("h1#dynamic-content").count() == 1


def test_task4_compose_up_starts_the_curriculum_s_containers():
    free_ports(5252, 9000)
    with compose_up("task4", ["task4-back-end-1", "task4-front-end-1"]):
        hello("http://127.0.0.1:5252/api/hello")
        assert "Softy-Pinko" in get("http://127.0.0.1:9000/").text
        for tag in ("softy-pinko-back-end:task4", "softy-pinko-front-end:task4"):
            assert image(tag) is not None, f"no image {tag}"


def test_task5_proxy_on_80_is_the_only_way_in():
    free_ports(80, 5252, 9000)
    with compose_up("task5", ["task5-proxy-1", "task5-back-end-1", "task5-front-end-1"]):
        hello("http://127.0.0.1/api/hello")
        assert "Softy-Pinko" in get("http://127.0.0.1/").text
        assert image("softy-pinko-proxy:task5") is not None
        for port in (5252, 9000):
            with socket.socket() as sock:
                assert sock.connect_ex(("127.0.0.1", port)) != 0, f"{port} is published"


def test_task6_scaling_command_starts_two_back_ends_answering_in_turn():
    names = ["task6-back-end-1", "task6-back-end-2", "task6-front-end-1", "task6-proxy-1"]
    free_ports(80)
    with compose_up("task6", names):
        hello("http://127.0.0.1/api/hello")
        served = [get("http://127.0.0.1/api/hello").headers["X-Served-By"] for _ in range(20)]
        replicas = {
            c.hostname for c in ComposeProject.for_task("task6", "task6").running("back-end")
        }
        assert set(served) == replicas, f"answered by {set(served)}, replicas {replicas}"
        assert all(a != b for a, b in zip(served, served[1:], strict=False)), (
            f"not in turn: {served}"
        )
        everything = ComposeProject.for_task("task6", "task6").containers()
        assert sorted(c.name for c in everything) == sorted(names)
