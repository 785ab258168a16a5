"""Many repositories, one table: `make check REPOS="path-or-url ..."` (or REPOS=@file, one a
line), for reviewers.

Each repository is checked in turn by its own checker process (`softy-pinko-check`), in its
own sandbox and within its own time limit: a build that never ends is stopped at the limit, what
it started is swept by its run's label, and the batch goes on. A URL (https://…, git@…, or
github:owner/name) is cloned first, with its submodules. The table, repository by task (pass,
fail, warn, the first failure's reason), is written as Markdown, CSV and an HTML page with each
repository's failures in detail, next to each repository's own results.json and junit.xml.

Repositories are checked side by side (--jobs), and each task's verdict is kept (--cache) and
reused while nothing it reads has changed: a batch run again re-checks only what changed, and one
stopped halfway resumes. The exit code says whether every repository was judged.

Usage: softy-pinko-check-batch [--jobs N] [--tasks LIST] [--files-only] [--fresh] REPO... (or @FILE)
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import dataclasses
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from rich.console import Console

from softy_pinko_docker import REPO, cli
from softy_pinko_docker.check import TASKS
from softy_pinko_docker.check.progress import Progress, estimate, shown
from softy_pinko_docker.check.sandbox import sweep
from softy_pinko_docker.check.table import JUDGED, Row, markdown, merged, time_spent, write
from softy_pinko_docker.check.verdicts import Verdicts, default_folder
from softy_pinko_docker.docker import ToolError, run

TIMEOUT = 1200.0  # seconds per repository: a cold check of all seven tasks takes about 7 min


def sources(arguments: list[str]) -> list[str]:
    """The repositories named: each argument, or with @, each line of that file (# comments; a
    relative path is the file's folder's, as a reviewer writes the list beside the clones)."""
    found = []
    for argument in arguments:
        if argument.startswith("@"):
            listed = Path(argument[1:])
            if not listed.is_file():
                raise ToolError(
                    f"{argument}: no file {listed}: REPOS=@file names a file listing the "
                    "repositories, one a line"
                )
            entries = [ln.split("#", 1)[0].strip() for ln in listed.read_text().splitlines()]
            found += [
                e if is_url(e) or Path(e).is_absolute() else str(listed.parent / e)
                for e in entries
                if e
            ]
        else:
            found.append(argument)
    return found


def is_url(source: str) -> bool:
    return bool(re.match(r"^(https?://|git@|github:)", source))


def name_of(source: str, parts: int = 1) -> str:
    """A folder name for a repository's results: its name, or with `parts=2` its owner's too."""
    if is_url(source):
        words = re.split(r"[/:]", source.rstrip("/").removesuffix(".git"))
        return "+".join(p for p in words[-2:] if p)
    return "+".join(p for p in Path(source).resolve().parts[-parts:] if p != "/") or "repository"


def folder_names(repositories: list[str]) -> dict[str, str]:
    """A folder of its own for each repository's results: forks share a name (two learners'
    atlas-softy-pinko-docker), so a shared one is told apart by its owner, then by a number."""
    first = {source: name_of(source) for source in repositories}
    shared = {n for n in first.values() if list(first.values()).count(n) > 1}
    names: dict[str, str] = {}
    for source in repositories:
        name = name_of(source, 2) if first[source] in shared else first[source]
        taken = set(names.values())
        unique, number = name, 2
        while unique in taken:
            unique, number = f"{name}-{number}", number + 1
        names[source] = unique
    return names


def clone(source: str, into: Path, timeout: float) -> str:
    """Clone a URL with its submodules; "" when done, else why not (one line)."""
    url = (
        f"https://github.com/{source.removeprefix('github:')}"
        if source.startswith("github:")
        else source
    )
    said = run(
        [
            "git",
            "clone",
            "--quiet",
            "--depth",
            "1",
            "--recurse-submodules",
            "--shallow-submodules",
            url,
            str(into),
        ],
        timeout=timeout,
        check=False,
    )
    if said.returncode != 0:
        return (said.stderr.strip().splitlines() or ["git clone failed"])[-1]
    return ""


@dataclasses.dataclass(frozen=True)
class Options:
    """What every repository's checker is asked, as for one repository."""

    timeout: float = TIMEOUT
    tasks: str = ""
    files_only: bool = False
    verdicts: Path | None = None  # where verdicts are kept and reused (None: none)
    fresh: bool = False

    def arguments(self) -> list[str]:
        return [
            *(["--tasks", self.tasks] if self.tasks else []),
            *(["--files-only"] if self.files_only else []),
            *(["--verdicts", str(self.verdicts)] if self.verdicts else []),
            *(["--fresh"] if self.fresh else []),
        ]


def check_one(source: str, output: Path, scratch: Path, options: Options, name: str = "") -> Row:
    """One repository checked by its own checker process, within the time limit; its results
    and the checker's own output (checker.log) in `output/name`."""
    name = name or name_of(source)
    timeout, tasks = options.timeout, options.tasks
    started = time.monotonic()
    path = Path(source).resolve()  # the checker runs from the repository's root, not from here
    asked = tasks.split(",") if tasks else TASKS  # a repository not checked: only these cells

    def unchecked(status: str, why: str) -> Row:
        took = time.monotonic() - started
        return Row(source, status, took, dict.fromkeys(asked, status), why, name=name)

    if is_url(source):
        path = scratch / name
        why = clone(source, path, min(timeout, 300))
        if why:
            return unchecked("unavailable", f"clone: {why}")
    elif not path.is_dir():
        return unchecked("unavailable", "not a folder")
    run_id = secrets.token_hex(4)
    folder = output / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").unlink(missing_ok=True)  # a previous batch's is not this one's
    command = [
        sys.executable,
        "-m",
        "softy_pinko_docker.check",
        *options.arguments(),
        "--output",
        str(folder),
        "--run-id",
        run_id,
        str(path),
    ]
    if not stopped_in_time(command, timeout, scratch, folder / "checker.log"):
        sweep(run_id)  # whatever the stopped checker had not removed itself
        why = f"not done within {timeout:.0f}s (a build or a server that never ends?)"
        return unchecked("timeout", why)
    row = row_of(source, folder, output, time.monotonic() - started)
    row.name = name
    return row


def stopped_in_time(command: list[str], timeout: float, scratch: Path, log: Path) -> bool:
    """Run a checker to its end within `timeout`, what it prints into `log`; past it, stop it
    as Ctrl-C would (SIGTERM to its process group, the docker CLI it runs included, so that the
    engine cancels a build), and False. A checker that does not clean up within a minute is
    killed."""
    with (
        open(log, "wb") as written,
        subprocess.Popen(
            command,
            cwd=REPO,
            env={**os.environ, "TMPDIR": str(scratch), "NO_COLOR": "1"},
            stdout=written,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        ) as checker,
    ):
        with RUNNING_LOCK:
            RUNNING.add(checker.pid)
        try:
            checker.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            os.killpg(checker.pid, signal.SIGTERM)
            try:
                checker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(checker.pid, signal.SIGKILL)
                checker.wait()
            return False
        finally:
            with RUNNING_LOCK:
                RUNNING.discard(checker.pid)


# The checkers running now (their process groups): a stopped batch stops them, as Ctrl-C would.
RUNNING: set[int] = set()
RUNNING_LOCK = threading.Lock()


def stop_running() -> None:
    with RUNNING_LOCK:
        for pid in RUNNING:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGTERM)


def row_of(source: str, folder: Path, output: Path, seconds: float) -> Row:
    try:
        results = json.loads((folder / "results.json").read_text())
    except (OSError, ValueError):
        return Row(source, "error", seconds, first=f"the checker stopped: {last_words(folder)}")
    row = Row(
        source, results["status"], seconds, results=results, folder=str(folder.relative_to(output))
    )
    for task in results["tasks"]:
        row.tasks[task["name"]] = (
            "warn" if task["status"] == "pass" and task["warned"] else task["status"]
        )
    failed = next((t for t in results["tests"] if t["status"] in ("fail", "error")), None)
    if failed:
        row.first = f"{failed['name']}: {failed['message']}"
    return row


def last_words(folder: Path) -> str:
    """Why a checker ended without results: the last line it printed (its one-line reason)."""
    try:
        lines = (folder / "checker.log").read_text(errors="replace").strip().splitlines()
    except OSError:
        lines = []
    return lines[-1].strip() if lines else "it printed nothing"


def shard(named: dict[str, str], which: str | None) -> dict[str, tuple[str, int]]:
    """Each repository's folder name and its place in the whole list; with `which` (I/N), only
    the I-th of N parts: every N-th repository from the I-th, so the parts are even."""
    placed = {source: (name, index) for index, (source, name) in enumerate(named.items())}
    if not which:
        return placed
    part, _, parts = which.partition("/")
    if not (part.isdigit() and parts.isdigit() and 1 <= int(part) <= int(parts)):
        raise ToolError(f"--shard {which}: I/N, with 1 <= I <= N (2/4: the second of four)")
    return dict(list(placed.items())[int(part) - 1 :: int(parts)])


def default_jobs() -> tuple[int, str]:
    """How many repositories at once, and why: one per core, at most one per 4 GiB (a
    checker's stacks, builds and browser), and at most four."""
    cores = os.cpu_count() or 1
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    gib = pages / 2**30
    jobs = max(1, min(cores, int(gib // 4), 4))
    return jobs, f"{cores} cores, {gib:.0f} GiB: one per core, at most one per 4 GiB, and 4"


def check_all(
    named: dict[str, tuple[str, int]], output: Path, options: Options, jobs: int, console: Console
) -> list[Row]:
    """Every repository checked, `jobs` at a time, each by its own checker; rows in the order
    the repositories were named, whatever order they finish in."""
    durations = Verdicts(options.verdicts).durations() if options.verdicts else {}
    asked = options.tasks.split(",") if options.tasks else TASKS
    per_repository = estimate(durations, asked) if not options.files_only else 5.0
    tracker = Progress(len(named), jobs, per_repository, console)
    with (
        tempfile.TemporaryDirectory(prefix="softy-pinko-batch-", ignore_cleanup_errors=True) as tmp,
        shown(tracker),
        concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool,
    ):

        def one(source: str, name: str, index: int) -> Row:
            tracker.started(name, output / name / "checker.log")
            row = check_one(source, output, Path(tmp), options, name)
            row.index = index
            first = f": {row.first}" if row.first else ""
            tracker.finished(name, f"{source}: {row.status} in {row.seconds:.0f}s{first}")
            return row

        futures = [pool.submit(one, source, *placed) for source, placed in named.items()]
        try:
            return [future.result() for future in futures]
        except BaseException:  # Ctrl-C, SIGTERM: what is running stops and cleans up, then this
            pool.shutdown(cancel_futures=True, wait=False)
            stop_running()
            raise


def interrupted(*_: object) -> None:
    raise KeyboardInterrupt


def parse(argv: list[str]) -> argparse.Namespace:
    jobs, why = default_jobs()
    parser = cli.parser(argv, "softy_pinko_docker.check.batch", __doc__.splitlines()[0])
    parser.add_argument("repositories", nargs="*", help="folders, URLs, or @file (one a line)")
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds per repository")
    parser.add_argument("--output", default="reports/check", help="where the table goes")
    parser.add_argument("--tasks", default="", help="comma-separated, as for one repository")
    parser.add_argument("--files-only", action="store_true", help="read the files only")
    parser.add_argument(
        "--jobs", type=int, default=jobs, help=f"repositories at once (default: {jobs}; {why})"
    )
    parser.add_argument(
        "--cache",
        default=str(default_folder()),
        help="where each task's verdict is kept, and reused while nothing it reads changed "
        "(default: %(default)s); a stopped batch run again resumes from there",
    )
    parser.add_argument("--fresh", action="store_true", help="check every task again")
    parser.add_argument(
        "--shard",
        metavar="I/N",
        help="check only the I-th of N parts of the list (1/4: the 1st, 5th, 9th, ...)",
    )
    parser.add_argument(
        "--merge",
        nargs="+",
        metavar="DIR",
        help="check nothing: merge the tables of shards checked apart into one",
    )
    args = parser.parse_args(argv[1:])
    if bool(args.repositories) == bool(args.merge):
        raise ToolError("name the repositories to check, or --merge the shards' folders")
    if args.jobs < 1:
        raise ToolError(f"--jobs {args.jobs}: at least 1")
    return args


def main(argv: list[str]) -> int:
    """Exit 0 when every repository was judged (pass or fail), 1 when one could not be (its
    reason in the table and on the last lines), 2 when the batch itself could not run."""
    try:
        return grade(argv)
    except ToolError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def grade(argv: list[str]) -> int:
    args = parse(argv)
    signal.signal(signal.SIGTERM, interrupted)  # CI cancelling the job: stopped as by Ctrl-C
    output = Path(args.output).resolve()
    output.mkdir(parents=True, exist_ok=True)
    if args.merge:
        rows = merged([Path(shard) for shard in args.merge], output)
    else:
        options = Options(args.timeout, args.tasks, args.files_only, Path(args.cache), args.fresh)
        named = shard(folder_names(sources(args.repositories)), args.shard)
        console = Console(highlight=False)
        console.print(f"checking {len(named)} repositories, {args.jobs} at a time")
        rows = check_all(named, output, options, args.jobs, console)
    written = write(rows, output)
    print(markdown(rows))
    print(time_spent(rows))
    print(", ".join(str(p) for p in written))
    unjudged = [row for row in rows if row.status not in JUDGED]
    for row in unjudged:
        print(f"not judged: {row.repository}: {row.status}: {row.first}", file=sys.stderr)
    return 1 if unjudged else 0


def entry() -> None:
    """The installed command (pyproject.toml's [project.scripts])."""
    sys.exit(cli.run_main(main))


if __name__ == "__main__":
    entry()
