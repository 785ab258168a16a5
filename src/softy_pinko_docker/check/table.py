"""A batch's table: a row per repository, a column per task (pass, fail, warn, or why it was
not judged), the first failure's reason; as Markdown, CSV and an HTML page with each
repository's failures in detail; where the cohort's time went; and the rows as JSON, which
shards of a cohort checked on several runners are merged from (`--merge`)."""

from __future__ import annotations

import csv
import dataclasses
import html
import io
import json
import shutil
from pathlib import Path
from typing import Any

from softy_pinko_docker.check import TASKS
from softy_pinko_docker.docker import ToolError

JUDGED = ("pass", "fail")  # a verdict on the learner's work; anything else is not one


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
    index: int = 0  # its place in the cohort's list: shards merge back into that order


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


PHASES = ("reading", "building", "starting", "answering")


def phase_of(check: str) -> str:
    """Where a check's time goes, by what it does (its name says)."""
    name = check.split(".", 1)[-1]
    if "build" in name:
        return "building"
    if "start" in name or "config_loads" in name:
        return "starting"  # a stack up and healthy, or `nginx -t` in a one-off container
    if any(w in name for w in ("answer", "page_", "served", "routes_both", "under_load", "turn")):
        return "answering"  # requests, the browser, the load test
    return "reading"


def time_spent(rows: list[Row]) -> str:
    """Where the cohort's time went, per task and phase, in seconds (verdicts reused: none)."""
    spent: dict[str, dict[str, float]] = {t: dict.fromkeys(PHASES, 0.0) for t in TASKS}
    reused = {
        (row.repository, t["name"]) for row in rows for t in row.results.get("tasks", [])
        if t.get("reused")
    }  # fmt: skip
    for row in rows:
        for test in row.results.get("tests", []):
            if (row.repository, test["task_id"]) not in reused:
                spent[test["task_id"]][phase_of(test["name"])] += test["duration_s"] or 0.0
    lines = ["| task | " + " | ".join(PHASES) + " | in all |", "|---|" + "---:|" * 5]
    for task, phases in spent.items():
        cells = [f"{phases[p]:.0f}" for p in PHASES]
        lines.append(f"| {task} | " + " | ".join(cells) + f" | {sum(phases.values()):.0f} |")
    checked = sum(row.seconds for row in rows)
    lines.append(f"\nIn all {checked:.0f}s of checkers' time, seconds per task and phase above.")
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


def merged(shards: list[Path], output: Path) -> list[Row]:
    """The rows of shards checked apart (each folder a batch's output), in the cohort's order;
    each repository's own folder copied beside the merged table."""
    rows = []
    for shard in shards:
        listed = shard / "batch.json"
        if not listed.is_file():
            raise ToolError(f"{shard}: no batch.json: was this shard checked? (--merge DIR...)")
        for fields in json.loads(listed.read_text()):
            rows.append(Row(**fields))
            if fields["folder"] and shard.resolve() != output.resolve():
                shutil.copytree(shard / fields["folder"], output / fields["folder"],
                                dirs_exist_ok=True)  # fmt: skip
    return sorted(rows, key=lambda row: row.index)


def write(rows: list[Row], output: Path) -> list[Path]:
    written = [output / "batch.md", output / "batch.csv", output / "batch.html"]
    written += [output / "time.md", output / "batch.json"]
    written[0].write_text(markdown(rows))
    written[3].write_text("# Where the time went\n\n" + time_spent(rows))
    written[4].write_text(json.dumps([dataclasses.asdict(row) for row in rows]) + "\n")
    written[1].write_text(comma_separated(rows))
    written[2].write_text(page(rows))
    return written
