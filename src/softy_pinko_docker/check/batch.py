"""Many repositories, one table: `make check REPOS="path-or-url ..."` (or REPOS=@file, one a
line), for reviewers.

Each repository is checked in turn by its own checker process (`softy-pinko-check`), in its
own sandbox and within its own time limit: a build that never ends is stopped at the limit, what
it started is swept by its run's label, and the batch goes on. A URL (https://…, git@…, or
github:owner/name) is cloned first, with its submodules. The table, repository by task (pass,
fail, warn, the first failure's reason), is written as Markdown, CSV and an HTML page with each
repository's failures in detail, next to each repository's own results.json and junit.xml.

Usage: python -m softy_pinko_docker.check.batch [--timeout SECONDS] [--output DIR] REPO...
"""

from __future__ import annotations

import csv
import dataclasses
import html
import io
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from softy_pinko_docker import REPO, cli
from softy_pinko_docker.check import TASKS
from softy_pinko_docker.check.sandbox import sweep
from softy_pinko_docker.docker import ToolError, run

TIMEOUT = 1200.0  # seconds per repository: a cold check of all seven tasks takes about 7 min


@dataclasses.dataclass
class Row:
    repository: str
    status: str  # pass, fail, error (the checker could not), timeout, unavailable (no clone)
    seconds: float
    tasks: dict[str, str] = dataclasses.field(default_factory=dict)  # task -> pass/fail/warn
    first: str = ""  # the first failure: "task3.site_files: expected ..., found ..."
    results: dict[str, Any] = dataclasses.field(default_factory=dict)
    folder: str = ""  # where its results.json is, relative to the table
    name: str = ""  # its folder's name and its anchor on the page


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


def check_one(
    source: str, output: Path, scratch: Path, timeout: float, tasks: str = "", name: str = ""
) -> Row:
    """One repository checked by its own checker process, within `timeout` seconds; its results
    in `output/name`."""
    name = name or name_of(source)
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
    command = [
        sys.executable,
        "-m",
        "softy_pinko_docker.check",
        *(["--tasks", tasks] if tasks else []),
        "--output",
        str(folder),
        "--run-id",
        run_id,
        str(path),
    ]
    if not stopped_in_time(command, timeout, scratch):
        sweep(run_id)  # whatever the stopped checker had not removed itself
        why = f"not done within {timeout:.0f}s (a build or a server that never ends?)"
        return unchecked("timeout", why)
    row = row_of(source, folder, output, time.monotonic() - started)
    row.name = name
    return row


def stopped_in_time(command: list[str], timeout: float, scratch: Path) -> bool:
    """Run a checker to its end within `timeout`; past it, stop it as Ctrl-C would (SIGTERM to
    its process group, the docker CLI it runs included, so that the engine cancels a build),
    and False. A checker that does not clean up within a minute is killed."""
    with subprocess.Popen(
        command,
        cwd=REPO,
        env={**os.environ, "TMPDIR": str(scratch)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    ) as checker:
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


def row_of(source: str, folder: Path, output: Path, seconds: float) -> Row:
    try:
        results = json.loads((folder / "results.json").read_text())
    except (OSError, ValueError):
        return Row(source, "error", seconds, first="the checker wrote no results.json")
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


# --- the table ---------------------------------------------------------------------------------
def markdown(rows: list[Row]) -> str:
    lines = [
        "| repository | " + " | ".join(TASKS) + " | first failure |",
        "|---|" + "---|" * len(TASKS) + "---|",
    ]
    for row in rows:
        cells = [row.tasks.get(t, row.status if not row.tasks else "-") for t in TASKS]
        first = row.first.replace("|", "\\|")
        lines.append(f"| {row.repository} | " + " | ".join(cells) + f" | {first} |")
    return "\n".join(lines) + "\n"


def comma_separated(rows: list[Row]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["repository", "status", "seconds", *TASKS, "first_failure"])
    for row in rows:
        writer.writerow(
            [
                row.repository,
                row.status,
                f"{row.seconds:.0f}",
                *[row.tasks.get(t, "") for t in TASKS],
                row.first,
            ]
        )
    return out.getvalue()


STYLE = """body{font:15px/1.4 system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.35rem .6rem;text-align:left}
.pass{background:#e3f6e5}.fail,.error,.timeout,.unavailable{background:#fde2e1}.warn{background:#fff4d6}
details{margin:.6rem 0}code{background:#f4f4f4;padding:0 .2rem}"""


def page(rows: list[Row]) -> str:
    def cell(value: str) -> str:
        return f'<td class="{html.escape(value)}">{html.escape(value)}</td>'

    head = "".join(f"<th>{t}</th>" for t in TASKS)
    body = []
    for row in rows:
        cells = "".join(cell(row.tasks.get(t, row.status if not row.tasks else "-")) for t in TASKS)
        link = f'<a href="#{html.escape(row.name)}">{html.escape(row.repository)}</a>'
        body.append(f"<tr><td>{link}</td>{cells}<td>{html.escape(row.first)}</td></tr>")
    details = [detail(row) for row in rows]
    return (
        f"<!doctype html><html lang=en><meta charset=utf-8><title>softy-pinko-check</title>"
        f"<style>{STYLE}</style><h1>softy-pinko-check: {len(rows)} repositories</h1>"
        f"<table id=summary><tr><th>repository</th>{head}<th>first failure</th></tr>"
        f"{''.join(body)}</table>{''.join(details)}</html>\n"
    )


def detail(row: Row) -> str:
    tests = [t for t in row.results.get("tests", []) if t["status"] in ("fail", "warn", "error")]
    items = "".join(
        f"<li class={html.escape(t['status'])}><code>{html.escape(t['name'])}</code> "
        f"{html.escape(t['message'] or '')}<br>fix: {html.escape(t['fix'] or '')}"
        + (
            f" (<code>{html.escape(t['file'])}{':' + str(t['line']) if t['line'] else ''}</code>)"
            if t["file"]
            else ""
        )
        + "</li>"
        for t in tests
    )
    files = (
        f' · <a href="{html.escape(row.folder)}/results.json">results.json</a>'
        if row.folder
        else ""
    )
    return (
        f'<details id="{html.escape(row.name)}" open><summary>'
        f"{html.escape(row.repository)}: {row.status}, {row.seconds:.0f}s{files}</summary>"
        f"<ul>{items or '<li>every check passed</li>' if row.results else html.escape(row.first)}"
        "</ul></details>"
    )


def write(rows: list[Row], output: Path) -> list[Path]:
    written = [output / "batch.md", output / "batch.csv", output / "batch.html"]
    written[0].write_text(markdown(rows))
    written[1].write_text(comma_separated(rows))
    written[2].write_text(page(rows))
    return written


def main(argv: list[str]) -> int:
    parser = cli.parser(argv, "softy_pinko_docker.check.batch", __doc__.splitlines()[0])
    parser.add_argument("repositories", nargs="+", help="folders, URLs, or @file (one a line)")
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds per repository")
    parser.add_argument("--output", default="reports/check", help="where the table goes")
    parser.add_argument("--tasks", default="", help="comma-separated, as for one repository")
    args = parser.parse_args(argv[1:])
    output = Path(args.output).resolve()
    output.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory(
        prefix="softy-pinko-batch-", ignore_cleanup_errors=True
    ) as tmp:
        named = folder_names(sources(args.repositories))
        for source, name in named.items():
            print(f"checking {source} ...", flush=True)
            row = check_one(source, output, Path(tmp), args.timeout, args.tasks, name)
            print(
                f"  {row.status} in {row.seconds:.0f}s" + (f": {row.first}" if row.first else ""),
                flush=True,
            )
            rows.append(row)
    written = write(rows, output)
    print(markdown(rows))
    print(", ".join(str(p) for p in written))
    return 0


def entry() -> None:
    """The installed command (pyproject.toml's [project.scripts])."""
    sys.exit(cli.run_main(main))


if __name__ == "__main__":
    entry()
