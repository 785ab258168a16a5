"""The Softy-Pinko Docker curriculum's checks on a learner's repository.

Every message names what the person typed: `make check REPO=…` when make runs it (the Makefile
says so in SOFTY_PINKO_CHECK_VIA), else the command's own name and flags. Whatever the person
can get wrong (the folder, the tasks, where results go) is checked before any check starts. The
module's top level imports only the standard library: the checks load inside `main`, under the
handler that turns Ctrl-C into one line, whenever it comes.
"""

from __future__ import annotations

import os
import signal
import sys


def _interrupted_while_starting(signum: int, frame: object) -> None:
    """Ctrl-C before the checker has loaded, let alone started anything: one line, no traceback,
    nothing to tear down."""
    named = globals().get("words")  # defined once this module has loaded its imports
    sys.stderr.write(f"{named(sys.argv[0]).command}: interrupted\n" if named else "interrupted\n")
    sys.stderr.flush()
    os._exit(130)  # nothing has started yet: nothing to unwind, no cleanup to wait for


if __name__ == "__main__":  # `python -m softy_pinko_docker.check`: from here on, never a traceback
    signal.signal(signal.SIGINT, _interrupted_while_starting)

import argparse  # noqa: E402 - after the handler: Ctrl-C while these load is one line too
import dataclasses  # noqa: E402
import tempfile  # noqa: E402
import textwrap  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING, NoReturn  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable

    from softy_pinko_docker.check.registry import Outcome
    from softy_pinko_docker.check.sandbox import Sandbox
    from softy_pinko_docker.check.verdicts import Stored, Verdicts

DOCS = "https://github.com/softy-pinko/softy-pinko-docker/blob/main/docs/check.md"
EXIT_CODES = """\
exit codes:
  0    every check passed (warnings allowed)
  1    a check failed: each failure is printed with its reason, file and fix
  2    the checker could not run or finish: the one line on stderr says why
  130  interrupted (Ctrl-C)"""


class UsageError(Exception):
    """The person's own mistake in how they ran the checker: one line, exit 2."""


@dataclasses.dataclass(frozen=True)
class Words:
    """How a message names what the person typed."""

    command: str  # what they ran, to repeat it in a message
    repository: str
    tasks: str
    files_only: str
    output: str


def words(argv0: str) -> Words:
    if os.environ.get("SOFTY_PINKO_CHECK_VIA") == "make":
        return Words(
            "make check", "make check REPO=path/to/repository", "TASKS", "FILES_ONLY=1", "OUTPUT"
        )
    from softy_pinko_docker.cli import called_as

    command = called_as(argv0, "softy_pinko_docker.check")
    return Words(command, f"{command} PATH", "--tasks", "--files-only", "--output")


def version() -> str:
    from importlib import metadata

    try:
        return metadata.version("softy-pinko-docker")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "1.0.0 (from a checkout)"


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, not argparse's usage block: what was wrong and where help is."""
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def parse(argv: list[str], said: Words) -> argparse.Namespace:
    parser = Parser(
        prog=said.command,
        description=textwrap.fill(
            "The Softy-Pinko Docker curriculum's checks on a learner's repository: each task's "
            "files read, its images built, its containers started and its pages opened in a "
            "browser, every failure with its reason, file, line and fix.",
            78,
        ),
        epilog=f"{EXIT_CODES}\n\nEvery check, what it proves and the statement it comes from: "
        f"{DOCS}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("path", nargs="?", help="the learner's repository: a folder")
    parser.add_argument(
        "--tasks",
        default="",
        metavar="LIST",
        help="comma-separated, e.g. task0,task3 (default: all seven, task0 to task6)",
    )
    parser.add_argument(
        "--files-only",
        action="store_true",
        help="read the files only: build, start and open nothing (seconds, not minutes)",
    )
    parser.add_argument(
        "--output",
        metavar="DIR",
        help="where results.json and junit.xml go (default: reports/check here, or, when here "
        "is inside the repository checked, ~/.cache/softy-pinko-check/NAME: never into the "
        "learner's own repository)",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="print only what did not pass, and a summary"
    )
    verdict_options(parser)
    parser.add_argument("--list", action="store_true", help="print every check and exit")
    parser.add_argument(
        "--statements",
        action="store_true",
        help="print every check with the statement's words it comes from, as Markdown, and exit",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    parser.add_argument("--run-id", default="", help=argparse.SUPPRESS)  # the batch's, to sweep
    return parser.parse_args(argv)


def verdict_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--verdicts",
        metavar="DIR",
        help="keep each task's verdict in DIR and reuse it while nothing the task's checks read "
        "has changed (its folder, the checker, its base images); default: keep none",
    )
    parser.add_argument(
        "--fresh", action="store_true", help="with --verdicts: check every task again, and keep"
    )


def listing() -> str:
    from softy_pinko_docker.check import CHECKS, TASKS

    lines = []
    for task in TASKS:
        lines.append(task)
        for chk in CHECKS[task]:
            needs = f"  [needs {', '.join(chk.needs)}]" if chk.needs else ""
            kind = " (recommended)" if chk.advisory else ""
            lines.append(f"  {chk.id:48} {chk.requirement}{kind}{needs}")
    return "\n".join(lines)


def tasks_asked(text: str, said: Words) -> list[str]:
    from softy_pinko_docker.check import TASKS

    tasks = [t.strip() for t in text.replace(" ", ",").split(",") if t.strip()] or TASKS
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise UsageError(f"no task {', '.join(unknown)}: {said.tasks} takes {', '.join(TASKS)}")
    return tasks


def default_output(repository: Path) -> Path:
    """reports/check here; when here is inside the repository checked, where `git add .` would
    take it into the learner's work, the user's cache folder instead."""
    here = Path.cwd().resolve() / "reports" / "check"
    if not here.is_relative_to(repository):
        return here
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "softy-pinko-check" / (repository.name or "repository")


def writable(folder: Path, said: Words) -> Path:
    """The results folder, made and written to once now, not found unwritable after the checks."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".softy-pinko-check-"):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise UsageError(
            f"{said.output} {folder}: results cannot be written there ({reason.lower()}): "
            "name a folder you can write to"
        ) from None
    return folder


def what_to_check(args: argparse.Namespace, said: Words) -> tuple[Path, list[str], Path]:
    """The repository, the tasks and the results folder asked for, each checked before any work
    starts; then that an engine answers."""
    from softy_pinko_docker.docker import Missing, run

    if not args.path:
        raise UsageError(f"name the repository to check: {said.repository}")
    original = Path(args.path).expanduser()
    if not original.is_dir():
        what = "is not a folder" if original.exists() else "does not exist"
        raise UsageError(f"{args.path} {what}: {said.repository}")
    tasks = tasks_asked(args.tasks, said)
    output = Path(args.output).expanduser() if args.output else default_output(original.resolve())
    writable(output, said)
    try:
        engine = run(["docker", "info", "--format", "{{.ServerVersion}}"], check=False, timeout=30)
    except Missing:
        raise UsageError("the checker needs Docker: no `docker` command here; install it") from None
    if engine.returncode != 0:
        raise UsageError(
            "the checker needs a running Docker Engine (`docker info` failed): start it, or "
            "set DOCKER_HOST to one"
        )
    return original, tasks, output


class Kept:
    """The verdicts --verdicts keeps: the tasks reused, and each task checked stored when done."""

    def __init__(self, args: argparse.Namespace, sandbox: Sandbox, tasks: list[str]):
        from softy_pinko_docker.check.verdicts import Verdicts, task_inputs

        self.sandbox = sandbox
        self.store = (
            Verdicts(Path(args.verdicts)) if args.verdicts and not args.files_only else None
        )
        # Read now, from the copy as the repository has it, before any check writes into it.
        self.inputs = (
            {t: task_inputs(t, sandbox.root, sandbox.original) for t in tasks} if self.store else {}
        )
        self.reused: dict[str, Stored] = {}
        self.outcomes: dict[str, list[Outcome]] = {}
        if self.store and not args.fresh:
            self.look_up(self.store, tasks)

    def look_up(self, store: Verdicts, tasks: list[str]) -> None:
        """The tasks whose key is unchanged, once, before anything is checked (after, the
        verdicts just stored would look reused)."""
        for task in tasks:
            found = store.get(self.inputs[task].key())
            if found:
                self.reused[task] = found
                when = time.strftime("%Y-%m-%d %H:%M", time.localtime(found.stored_at))
                print(f"{task}: unchanged since its check of {when}: its verdict is reused "
                      "(--fresh checks it again)", flush=True)  # fmt: skip

    def reused_outcomes(self, tasks: list[str]) -> list[Outcome]:
        return [o for t in tasks if t in self.reused for o in self.reused[t].outcomes]

    def collect(self, shown: Callable[[Outcome], None]) -> Callable[[Outcome], None]:
        def collected(outcome: Outcome) -> None:
            self.outcomes.setdefault(outcome.check.task, []).append(outcome)
            shown(outcome)

        return collected

    def done(self, task: str) -> None:
        """After a task's containers: its stack removed, then its verdict kept."""
        self.sandbox.stop(task)
        if self.store:
            self.store.put(self.inputs[task].key(), task, self.outcomes.get(task, []))


def check(args: argparse.Namespace, said: Words) -> int:
    from softy_pinko_docker.check import CHECKS, report
    from softy_pinko_docker.check.registry import Context, Status, run_checks
    from softy_pinko_docker.check.sandbox import Sandbox

    if args.list:
        print(listing())
        return 0
    if args.statements:
        print(report.statements_markdown(), end="")
        return 0
    original, tasks, output = what_to_check(args, said)
    colour = report.colour_wanted()
    started = time.monotonic()
    print(f"checking {original.resolve()} ({', '.join(tasks)})", flush=True)
    with Sandbox(original, args.run_id) as sandbox:
        for left_out in sandbox.left_out:
            print(f"  note: {left_out} is a link out of the repository: left out", flush=True)

        def context(task: str) -> Context:
            return Context(task, sandbox.root, sandbox.original, sandbox)

        def shown(outcome: Outcome) -> None:
            if not args.quiet or outcome.status in (Status.FAIL, Status.WARN, Status.ERROR):
                print(report.terminal_line(outcome, colour), flush=True)

        kept = Kept(args, sandbox, tasks)
        for outcome in kept.reused_outcomes(tasks):
            shown(outcome)
        to_check = [t for t in tasks if t not in kept.reused]
        checked = run_checks(to_check, context, kept.collect(shown), args.files_only, kept.done)
        by_id = {o.check.id: o for o in [*kept.reused_outcomes(tasks), *checked]}
        outcomes = [by_id[c.id] for t in tasks for c in CHECKS.get(t, [])]
    seconds = time.monotonic() - started
    not_run = report.not_run(outcomes, said.files_only) if args.files_only else ""
    print()
    for line in report.summary_lines(outcomes):
        print(line)
    if not_run:
        print(not_run)
    written = report.write(outcomes, str(original), seconds, output, not_run, set(kept.reused))
    report.github(outcomes, str(original))
    print(f"{report.overall(outcomes)} in {seconds:.0f}s; {', '.join(str(p) for p in written)}")
    return report.exit_code(outcomes)


def main(argv: list[str]) -> int:
    """Exit 2 when the checker itself cannot run or finish (1 means a check failed), with one
    line naming why in the words of the command the person typed."""
    from softy_pinko_docker.docker import ToolError

    said = words(argv[0] if argv else "")
    try:
        return check(parse(argv[1:], said), said)
    except UsageError as error:
        print(f"{said.command}: {error}", file=sys.stderr)
        return 2
    except ToolError as error:  # the engine failed the checker: 2, not cli's 1
        print(f"{said.command}: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # What reads the output (`| head`) has gone: nothing more can be shown, so stop now.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print(
            f"{said.command}: stopped: what read its output closed it (piped into head?); "
            "to see less, use --quiet",
            file=sys.stderr,
        )
        return 2


def entry() -> None:
    """The installed command (pyproject.toml's [project.scripts])."""
    signal.signal(signal.SIGINT, _interrupted_while_starting)
    from softy_pinko_docker import cli

    # From here Ctrl-C is a KeyboardInterrupt again: it tears down whatever the check started.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(cli.run_main(main, name=words(sys.argv[0]).command))


if __name__ == "__main__":
    entry()
