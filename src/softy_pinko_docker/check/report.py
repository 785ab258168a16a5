"""What a check run says: a line per check in the terminal and a summary per task,
`results.json` (docs/check.md gives its schema; it follows Exercism's test-runner interface),
JUnit XML, and on GitHub Actions an annotation per failure and warning, and the job summary."""

from __future__ import annotations

import json
import os
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Collection
from pathlib import Path
from typing import Any

from softy_pinko_docker.check.registry import Outcome, Status

SCHEMA_VERSION = 1
MARKS = {
    Status.PASS: "PASS",
    Status.FAIL: "FAIL",
    Status.WARN: "WARN",
    Status.SKIP: "SKIP",
    Status.ERROR: "ERROR",
}
COLOURS = {
    Status.PASS: "32",
    Status.FAIL: "31",
    Status.WARN: "33",
    Status.SKIP: "2",
    Status.ERROR: "35",
}


def where(outcome: Outcome) -> str:
    if not outcome.file:
        return ""
    return f"{outcome.file}:{outcome.line}" if outcome.line else outcome.file


def terminal_line(outcome: Outcome, colour: bool) -> str:
    mark = MARKS[outcome.status]
    if colour:
        mark = f"\033[{COLOURS[outcome.status]}m{mark}\033[0m"
    head = f"{mark:>5} {outcome.check.id}"
    if outcome.status == Status.PASS:
        return f"{head}  {outcome.message}" if outcome.message else head
    lines = [f"{head}  {outcome.check.requirement}", f"        {outcome.message}"]
    if outcome.fix:
        at = where(outcome)
        lines.append(f"        fix: {outcome.fix}" + (f"  ({at})" if at else ""))
    return "\n".join(lines)


def overall(outcomes: list[Outcome]) -> str:
    statuses = {o.status for o in outcomes}
    if Status.ERROR in statuses:
        return "error"
    return "fail" if Status.FAIL in statuses else "pass"


def exit_code(outcomes: list[Outcome]) -> int:
    return {"pass": 0, "fail": 1, "error": 2}[overall(outcomes)]


def task_summaries(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    tasks: dict[str, Counter[Status]] = {}
    for outcome in outcomes:
        tasks.setdefault(outcome.check.task, Counter())[outcome.status] += 1
    return [
        {
            "name": task,
            "status": overall([o for o in outcomes if o.check.task == task]),
            "passed": counts[Status.PASS],
            "failed": counts[Status.FAIL],
            "warned": counts[Status.WARN],
            "skipped": counts[Status.SKIP],
            "errors": counts[Status.ERROR],
            "duration_s": round(sum(o.seconds for o in outcomes if o.check.task == task), 1),
        }
        for task, counts in tasks.items()
    ]


def summary_lines(outcomes: list[Outcome]) -> list[str]:
    lines = []
    for task in task_summaries(outcomes):
        first = next(
            (
                o
                for o in outcomes
                if o.check.task == task["name"] and o.status in (Status.FAIL, Status.ERROR)
            ),
            None,
        )
        said = f"  first failure: {first.check.name}" if first else ""
        lines.append(
            f"{task['name']}: {task['status'].upper():5} {task['passed']} passed, "
            f"{task['failed']} failed, {task['warned']} warnings, {task['skipped']} "
            f"skipped, {task['duration_s']:.0f}s{said}"
        )
    return lines


def not_run(outcomes: list[Outcome], files_only_flag: str) -> str:
    """What a files-only run left unchecked, and how to check it: a pass on the files alone is
    not a pass of the tasks."""
    skipped = [o for o in outcomes if o.status == Status.SKIP and o.check.runs_containers]
    if not skipped:
        return ""
    return (
        f"only the files were checked: {len(skipped)} check(s) that build images, start "
        f"containers and open pages were not run; run again without {files_only_flag} for them"
    )


def results(
    outcomes: list[Outcome],
    repository: str,
    seconds: float,
    note: str = "",
    reused: Collection[str] = (),
) -> dict[str, Any]:
    """What results.json holds. A task's `reused`: its verdict was kept from an earlier check of
    the same files (--verdicts), not judged again."""
    status = overall(outcomes)
    failed = [o for o in outcomes if o.status in (Status.FAIL, Status.ERROR)]
    said = [] if status == "pass" else [f"{len(failed)} check(s) did not pass"]
    return {
        "version": SCHEMA_VERSION,
        "status": status,
        "message": "; ".join([*said, note] if note else said) or None,
        "repository": repository,
        "duration_s": round(seconds, 1),
        "tasks": [{**t, "reused": t["name"] in reused} for t in task_summaries(outcomes)],
        "tests": [
            {
                "name": o.check.id,
                "task_id": o.check.task,
                "requirement": o.check.requirement,
                "needs": [f"{o.check.task}.{n}" for n in o.check.needs],
                "status": o.status.value,
                "message": o.message or None,
                "fix": o.fix or None,
                "file": o.file,
                "line": o.line,
                "duration_s": round(o.seconds, 2),
            }
            for o in outcomes
        ],
    }


def junit(outcomes: list[Outcome]) -> bytes:
    suites = ET.Element("testsuites", name="softy-pinko-check")
    for task in task_summaries(outcomes):
        mine = [o for o in outcomes if o.check.task == task["name"]]
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=task["name"],
            tests=str(len(mine)),
            failures=str(task["failed"]),
            errors=str(task["errors"]),
            skipped=str(task["skipped"]),
            time=f"{sum(o.seconds for o in mine):.2f}",
        )
        for outcome in mine:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=task["name"],
                name=outcome.check.name,
                time=f"{outcome.seconds:.2f}",
            )
            text = f"{outcome.message}\nfix: {outcome.fix}" + (
                f" ({where(outcome)})" if outcome.file else ""
            )
            if outcome.status == Status.FAIL:
                ET.SubElement(case, "failure", message=outcome.message).text = text
            elif outcome.status == Status.ERROR:
                ET.SubElement(case, "error", message=outcome.message).text = text
            elif outcome.status == Status.SKIP:
                ET.SubElement(case, "skipped", message=outcome.message)
            elif outcome.status == Status.WARN:
                ET.SubElement(case, "system-out").text = f"warning: {text}"
    data: bytes = ET.tostring(suites, encoding="utf-8", xml_declaration=True)
    return data


def _escape(value: str, property_: bool = False) -> str:
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return value.replace(":", "%3A").replace(",", "%2C") if property_ else value


def github(outcomes: list[Outcome], repository: str) -> None:
    """Annotations on stdout, and the job summary: only on GitHub Actions (or act)."""
    if os.environ.get("GITHUB_ACTIONS") != "true":
        return
    for outcome in outcomes:
        if outcome.status not in (Status.FAIL, Status.WARN, Status.ERROR):
            continue
        level = "warning" if outcome.status == Status.WARN else "error"
        properties = [f"title={_escape(outcome.check.id, True)}"]
        if outcome.file:
            properties.insert(0, f"file={_escape(outcome.file, True)}")
            if outcome.line:
                properties.insert(1, f"line={outcome.line}")
        text = _escape(f"{outcome.message} | fix: {outcome.fix}")
        print(f"::{level} {','.join(properties)}::{text}")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as out:
            out.write(markdown(outcomes, repository))
    step_outputs = os.environ.get("GITHUB_OUTPUT")  # the reusable workflow's `status` output
    if step_outputs:
        with open(step_outputs, "a", encoding="utf-8") as out:
            out.write(f"status={overall(outcomes)}\n")


def markdown(outcomes: list[Outcome], repository: str) -> str:
    lines = [
        f"## softy-pinko-check: {overall(outcomes)}",
        "",
        "| task | result | passed | failed | warnings | skipped |",
        "|---|---|---|---|---|---|",
    ]
    for task in task_summaries(outcomes):
        lines.append(
            f"| {task['name']} | {task['status']} | {task['passed']} | {task['failed']} | "
            f"{task['warned']} | {task['skipped']} |"
        )
    problems = [o for o in outcomes if o.status in (Status.FAIL, Status.WARN, Status.ERROR)]
    if problems:
        lines += ["", "| check | status | found | fix | where |", "|---|---|---|---|---|"]
        for o in problems:
            cells = [o.check.id, o.status.value, o.message, o.fix, where(o)]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n\n"


def write(
    outcomes: list[Outcome],
    repository: str,
    seconds: float,
    folder: Path,
    note: str = "",
    reused: Collection[str] = (),
) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "results.json", folder / "junit.xml"]
    said = results(outcomes, repository, seconds, note, reused)
    written[0].write_text(json.dumps(said, indent=2) + "\n")
    written[1].write_bytes(junit(outcomes))
    return written


def colour_wanted() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def statements_markdown() -> str:
    """Every check, the statement's words it comes from, and whether it fails or warns: the
    table docs/check.md holds (`python -m softy_pinko_docker.check --statements` writes it)."""
    from softy_pinko_docker.check import CHECKS, STATEMENTS, TASKS

    lines = ["| check | the statement says | a check that does not pass |", "|---|---|---|"]
    for task in TASKS:
        for chk in CHECKS[task]:
            words, warns = STATEMENTS[task][chk.name]
            if warns.startswith("always: "):  # a recommendation, or what a task only inherits
                verdict = f"warns: {warns.removeprefix('always: ')}"
            else:
                verdict = "fails" + (f"; warns for {warns}" if warns else "")
            cells = [f"`{chk.id}`", words, verdict]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"
