"""A cohort graded (`make check REPOS=…`, check/batch.py): workers side by side give the same
table as one, a rerun reuses every kept verdict and says so, a change in one task rechecks that
task alone, and a batch stopped halfway resumes from what it kept.

Three small repositories, task0 and task1 of this one (a few seconds each once the images are
cached): one as it is, one whose task1 answers the wrong greeting, one a folder that is not there.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import re
import shutil
import signal
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from rich.console import Console
from rich.text import Text

from softy_pinko_docker.docker import run
from support import REPO, REPORTS, wait_until

pytestmark = pytest.mark.docker

TASKS = "task0,task1"


def cohort(tmp_path: Path) -> list[str]:
    for name in ("ada", "bob"):
        for task in ("task0", "task1"):
            shutil.copytree(REPO / task, tmp_path / name / task)
    api = tmp_path / "bob/task1/api.py"
    api.write_text(api.read_text().replace("Hello, World!", "Hello World!"))
    return [str(tmp_path / "ada"), str(tmp_path / "bob"), str(tmp_path / "nobody")]


def batch(
    tmp_path: Path, *args: str, output: str = "table", tasks: str = TASKS
) -> subprocess.CompletedProcess[str]:
    said = run(
        [
            sys.executable,
            "-m",
            "softy_pinko_docker.check.batch",
            "--tasks",
            tasks,
            "--cache",
            str(tmp_path / "verdicts"),
            "--output",
            str(tmp_path / output),
            *args,
        ],
        timeout=600,
        check=False,
        cwd=tmp_path,
    )
    return subprocess.CompletedProcess([], said.returncode, said.stdout, said.stderr)


def reused(tmp_path: Path, output: str, name: str) -> dict[str, bool]:
    said = json.loads((tmp_path / output / name / "results.json").read_text())
    return {task["name"]: task["reused"] for task in said["tasks"]}


def test_two_workers_give_the_table_one_gives(tmp_path):
    repositories = cohort(tmp_path)
    one = batch(tmp_path, "--jobs", "1", "--fresh", *repositories, output="one")
    two = batch(tmp_path, "--jobs", "2", "--fresh", *repositories, output="two")
    assert one.returncode == two.returncode == 1, one.stderr + two.stderr  # nobody: not judged
    assert "checking 3 repositories, 2 at a time" in two.stdout
    assert (tmp_path / "one/batch.md").read_text() == (tmp_path / "two/batch.md").read_text()
    table = (tmp_path / "two/batch.md").read_text()
    assert "| pass | pass |" in table and "| pass | fail |" in table, table
    assert "task1.hello_answers_hello_world" in table or "Hello World!" in table, table
    assert two.stderr.strip().splitlines() == [
        f"not judged: {tmp_path / 'nobody'}: unavailable: not a folder"
    ]


def test_a_rerun_reuses_every_verdict_and_a_change_rechecks_its_task_alone(tmp_path):
    repositories = cohort(tmp_path)[:2]
    first = batch(tmp_path, *repositories, output="first")
    assert first.returncode == 0, first.stdout + first.stderr
    assert reused(tmp_path, "first", "ada") == {"task0": False, "task1": False}
    again = batch(tmp_path, *repositories, output="again")
    assert again.returncode == 0, again.stdout + again.stderr
    for name in ("ada", "bob"):
        assert reused(tmp_path, "again", name) == {"task0": True, "task1": True}, name
        log = (tmp_path / "again" / name / "checker.log").read_text()
        assert "task1: unchanged since its check of" in log and "is reused" in log, log
    assert (tmp_path / "first/batch.md").read_text() == (tmp_path / "again/batch.md").read_text()
    # Bob fixes task1 (his own way: the verdict of a folder exactly like Ada's would be hers,
    # reused): task1 is checked again, and passes; task0 is not.
    api = tmp_path / "bob/task1/api.py"
    api.write_text(api.read_text().replace("Hello World!", "Hello, World!") + "# fixed\n")
    assert batch(tmp_path, *repositories, output="fixed").returncode == 0
    assert reused(tmp_path, "fixed", "bob") == {"task0": True, "task1": False}
    assert reused(tmp_path, "fixed", "ada") == {"task0": True, "task1": True}
    assert "| pass | fail |" not in (tmp_path / "fixed/batch.md").read_text()
    # --fresh checks everything again (and keeps it).
    fresh = batch(tmp_path, "--fresh", *repositories, output="fresh")
    assert reused(tmp_path, "fresh", "ada") == {"task0": False, "task1": False}, fresh.stdout


def test_a_task_whose_stack_the_checker_starts_is_reused_too(tmp_path):
    # The checks of task4 to task6 write a Compose file into the sandbox's copy of the task: the
    # key is read before they run, or a rerun would never find what the first run kept.
    shutil.copytree(REPO / "task4", tmp_path / "ada/task4")
    first = batch(tmp_path, str(tmp_path / "ada"), output="first", tasks="task4")
    assert first.returncode == 0, first.stdout + first.stderr
    assert reused(tmp_path, "first", "ada") == {"task4": False}
    again = batch(tmp_path, str(tmp_path / "ada"), output="again", tasks="task4")
    assert again.returncode == 0, again.stdout + again.stderr
    assert reused(tmp_path, "again", "ada") == {"task4": True}
    assert (tmp_path / "first/batch.md").read_text() == (tmp_path / "again/batch.md").read_text()


def test_a_batch_stopped_halfway_resumes_from_what_it_kept(tmp_path):
    repositories = cohort(tmp_path)[:2]
    command = [
        sys.executable,
        "-m",
        "softy_pinko_docker.check.batch",
        "--jobs",
        "1",
        "--tasks",
        TASKS,
        "--cache",
        str(tmp_path / "verdicts"),
        "--output",
        str(tmp_path / "stopped"),
        *repositories,
    ]
    with subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    ) as stopped:  # fmt: skip
        # Ada's two tasks kept (one file each), then the batch is stopped as Ctrl-C stops it.
        wait_until(
            lambda: len(list((tmp_path / "verdicts").glob("*.json"))) >= 2,
            timeout=300,
            what="the first repository's verdicts kept",
        )
        os.killpg(stopped.pid, signal.SIGINT)
        stopped.wait(timeout=120)
    resumed = batch(tmp_path, *repositories, output="resumed")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert reused(tmp_path, "resumed", "ada") == {"task0": True, "task1": True}
    assert "| pass | fail |" in (tmp_path / "resumed/batch.md").read_text()


def test_in_a_terminal_a_live_line_per_repository_and_the_time_left(tmp_path):
    """The batch in a pseudo-terminal, as a reviewer runs it: while both repositories are being
    checked, the live display shows a line for each and an estimate of the time left. The last
    such frame is the README's picture (docs/screenshots/batch-progress.svg)."""
    repositories = cohort(tmp_path)[:2]
    stream = in_a_terminal(
        [sys.executable, "-m", "softy_pinko_docker.check.batch", "--jobs", "2", "--fresh",
         "--tasks", TASKS, "--cache", str(tmp_path / "verdicts"), "--output",
         str(tmp_path / "table"), *repositories],
        tmp_path,
    )  # fmt: skip
    frames = [
        frame
        for frame in re.split(r"\x1b\[2K(?:\x1b\[1A\x1b\[2K)+", stream)
        if "0/2 checked" in frame
        and "2 running" in frame
        and "  ada: " in frame
        and "  bob: " in frame
    ]
    assert frames, stream[-2000:]
    # A terminal's line ends (\r\n), and the \r before each redraw, are not the picture's.
    last = frames[-1].split("\x1b[?25h")[0].replace("\r\n", "\n").replace("\r", "")
    shown = Text.from_ansi(last.strip("\n"))
    assert "0/2 checked" in shown.plain and "min left" in shown.plain, shown.plain
    picture = Console(record=True, width=100, file=io.StringIO())
    picture.print(shown)
    (REPORTS / "screenshots").mkdir(parents=True, exist_ok=True)
    picture.save_svg(str(REPORTS / "screenshots/batch-progress.svg"), title="make check REPOS=…")


def in_a_terminal(command: list[str], cwd: Path) -> str:
    """What `command` writes to a pseudo-terminal of 100 columns, until it ends."""
    main, replica = pty.openpty()
    fcntl.ioctl(replica, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"}
    env.pop("NO_COLOR", None)
    chunks = []
    with subprocess.Popen(
        command, cwd=cwd, stdin=replica, stdout=replica, stderr=replica, env=env
    ) as batch:
        os.close(replica)
        while True:
            try:
                data = os.read(main, 65536)
            except OSError:  # the terminal's other end closed: the batch has ended
                break
            if not data:
                break
            chunks.append(data)
        batch.wait(timeout=600)
    os.close(main)
    return b"".join(chunks).decode(errors="replace")
