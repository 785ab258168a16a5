"""python -m tools.check [--tasks task0,task3] [--files-only] [--list] [--output DIR] PATH

Exit code: 0 every check passed (warnings allowed), 1 a check failed, 2 the checker could not run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tools import cli
from tools.check import CHECKS, TASKS, report
from tools.check.registry import Context, Outcome, run_checks
from tools.check.sandbox import Sandbox
from tools.docker import ToolError, run


def listing() -> str:
    lines = []
    for task in TASKS:
        lines.append(task)
        for chk in CHECKS[task]:
            needs = f"  [needs {', '.join(chk.needs)}]" if chk.needs else ""
            kind = " (recommended)" if chk.advisory else ""
            lines.append(f"  {chk.id:48} {chk.requirement}{kind}{needs}")
    return "\n".join(lines)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="softy-pinko-check", description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", help="the learner's repository (a folder)")
    parser.add_argument(
        "--tasks", default="", help="comma-separated, e.g. task0,task3 (default: all)"
    )
    parser.add_argument("--list", action="store_true", help="print every check and exit")
    parser.add_argument(
        "--statements",
        action="store_true",
        help="print every check with the statement's words it comes from, as Markdown, and exit",
    )
    parser.add_argument(
        "--files-only", action="store_true", help="read the files; build and start nothing"
    )
    parser.add_argument(
        "--output", default="reports/check", help="where results.json and junit.xml go"
    )
    parser.add_argument("--run-id", default="", help=argparse.SUPPRESS)  # the batch's, to sweep
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    """Exit 2, not cli's 1, when the checker itself cannot run: 1 means a check failed."""
    try:
        return check(parse(argv[1:]))
    except ToolError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def what_to_check(args: argparse.Namespace) -> tuple[Path, list[str]]:
    """The repository and the tasks asked for, and an engine to check them with."""
    if not args.path:
        raise ToolError("name the repository to check: make check REPO=path/to/repository")
    original = Path(args.path).expanduser()
    if not original.is_dir():
        raise ToolError(f"{args.path} is not a folder: make check REPO=path/to/repository")
    tasks = [t.strip() for t in args.tasks.replace(" ", ",").split(",") if t.strip()] or TASKS
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise ToolError(f"no task {', '.join(unknown)}: TASKS takes {', '.join(TASKS)}")
    engine = run(["docker", "info", "--format", "{{.ServerVersion}}"], check=False, timeout=30)
    if engine.returncode != 0:
        raise ToolError(
            "the checker needs a running Docker Engine (`docker info` failed): start "
            "one, or run `make bootstrap`"
        )
    return original, tasks


def check(args: argparse.Namespace) -> int:
    if args.list:
        print(listing())
        return 0
    if args.statements:
        print(report.statements_markdown(), end="")
        return 0
    original, tasks = what_to_check(args)
    colour = report.colour_wanted()
    started = time.monotonic()
    print(f"checking {original.resolve()} ({', '.join(tasks)})", flush=True)
    with Sandbox(original, args.run_id) as sandbox:
        for left_out in sandbox.left_out:
            print(f"  note: {left_out} is a link out of the repository: left out", flush=True)

        def context(task: str) -> Context:
            return Context(task, sandbox.root, sandbox.original, sandbox)

        def said(outcome: Outcome) -> None:
            print(report.terminal_line(outcome, colour), flush=True)

        outcomes = list(run_checks(tasks, context, said, args.files_only, sandbox.stop))
    seconds = time.monotonic() - started
    print()
    for line in report.summary_lines(outcomes):
        print(line)
    written = report.write(outcomes, str(original), seconds, Path(args.output))
    report.github(outcomes, str(original))
    print(f"{report.overall(outcomes)} in {seconds:.0f}s; {', '.join(str(p) for p in written)}")
    return report.exit_code(outcomes)


def entry() -> None:
    """The installed command (pyproject.toml's [project.scripts])."""
    sys.exit(cli.run_main(main))


if __name__ == "__main__":
    entry()
