"""What a batch shows while it runs. In a terminal, rich's live display: a line per repository
being checked (how long so far, the checker's latest line) under a line for the whole batch
(done, running, and an estimate of the time left from the tasks' past durations). Elsewhere (CI,
a pipe), a plain line per repository as it finishes, which a log keeps readable."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

DEFAULT_TASK_S = 60.0  # a task never checked on this machine: about a cold build and a start


def estimate(durations: dict[str, list[float]], tasks: list[str]) -> float:
    """Seconds one repository's tasks take, from their past durations here."""
    return sum(
        statistics.median(durations[t]) if durations.get(t) else DEFAULT_TASK_S for t in tasks
    )


def latest_line(log: Path) -> str:
    try:
        with open(log, "rb") as read:
            read.seek(0, 2)
            read.seek(max(0, read.tell() - 2000))
            lines = read.read().decode(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1].strip() if lines else ""


class Progress:
    """A batch's progress: `started(name, log)` and `finished(name, line)` from its workers."""

    def __init__(self, total: int, jobs: int, per_repository_s: float, console: Console):
        self.total, self.jobs, self.per_repository_s = total, jobs, per_repository_s
        self.console = console
        self.running: dict[str, tuple[float, Path]] = {}
        self.done = 0
        self.began = time.monotonic()
        self.lock = threading.Lock()

    def started(self, name: str, log: Path) -> None:
        with self.lock:
            self.running[name] = (time.monotonic(), log)

    def finished(self, name: str, line: str) -> None:
        with self.lock:
            self.running.pop(name, None)
            self.done += 1
            if not self.console.is_terminal:
                # One line each however long, as a log is read (and grepped); the checker's
                # words as they are, never markup.
                self.console.print(
                    f"[{self.done}/{self.total}] {line}",
                    highlight=False,
                    markup=False,
                    soft_wrap=True,
                )

    def left_s(self) -> float:
        """The work not done yet, spread over the workers: the repositories not started, and
        what the running ones have left of their estimate."""
        now = time.monotonic()
        waiting = self.total - self.done - len(self.running)
        running = sum(
            max(self.per_repository_s - (now - since), 0) for since, _ in self.running.values()
        )
        return (waiting * self.per_repository_s + running) / max(self.jobs, 1)

    def table(self) -> Table:
        with self.lock:
            left = self.left_s()
            grid = Table.grid(padding=(0, 2))
            grid.add_column(no_wrap=True, overflow="ellipsis")  # a line each, however long
            grid.add_row(
                f"[bold]{self.done}/{self.total} checked[/], {len(self.running)} running, "
                f"{time.monotonic() - self.began:.0f}s so far, about {left / 60:.0f} min left"
            )
            now = time.monotonic()
            for name, (since, log) in sorted(self.running.items()):
                line = escape(latest_line(log))  # the checker's words, not markup
                grid.add_row(f"  {name}: {now - since:.0f}s  [dim]{line}[/]")
            return grid


@contextmanager
def shown(progress: Progress) -> Iterator[Progress]:
    """The live display while the block runs, in a terminal; nothing more elsewhere."""
    if not progress.console.is_terminal:
        yield progress
        return
    with Live(get_renderable=progress.table, console=progress.console, refresh_per_second=2):
        yield progress
