"""What a check is, how one says it failed, and the order they run in.

A check is a function of one task's `Context`, declared with `@check(...)` in that task's module
(`check/task3.py` holds task3's): its name is the function's, its requirement is the line
of the statement it proves, and `needs` names the checks of the same task it builds on. It
passes by returning (a string, if there is something worth saying), and fails by raising
`Failed` with what was expected, what was found, and how to fix it.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from softy_pinko_docker.check.sandbox import Sandbox, Stack
    from softy_pinko_docker.docker import Container

CheckFunction = Callable[["Context"], "str | None"]


class Status(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"  # the statement recommends it, or the checker is not sure
    SKIP = "skip"  # a check it needs did not pass
    ERROR = "error"  # the checker itself could not run it


@dataclasses.dataclass(frozen=True)
class Check:
    task: str
    name: str
    requirement: str
    needs: tuple[str, ...]
    advisory: bool  # a failure is a warning: the statement recommends, it does not require
    runs_containers: bool  # builds or starts something: runs after every task's file checks
    function: CheckFunction

    @property
    def id(self) -> str:
        return f"{self.task}.{self.name}"


class Failed(Exception):
    """A check's failure: one line of what was expected and found, one line of the fix, and
    where (a path relative to the repository's root, and a line when there is one)."""

    def __init__(
        self,
        expected: str,
        found: str,
        fix: str,
        file: str | None = None,
        line: int | None = None,
        warning: bool = False,
        details: str = "",
        message: str = "",
        blocks: bool = False,
    ):
        super().__init__(message or f"expected {expected}, found {found}")
        self.expected, self.found, self.fix = expected, found, fix
        self.file, self.line, self.warning, self.details = file, line, warning, details
        self.blocks = blocks  # what needs this check cannot run (the image was not built)


def unsure(
    message: str, fix: str, file: str | None = None, line: int | None = None, blocks: bool = False
) -> Failed:
    """A warning the checker gives where it cannot tell: it never fails a repository. With
    `blocks`, the checks that need this one are skipped (what they would run does not exist)."""
    return Failed("", "", fix, file, line, warning=True, message=message, blocks=blocks)


@dataclasses.dataclass
class Outcome:
    check: Check
    status: Status
    message: str = ""
    fix: str = ""
    file: str | None = None
    line: int | None = None
    seconds: float = 0.0
    details: str = ""
    blocks: bool = False  # a warning whose dependents cannot run (see Failed.blocks)


def quoted(text: str, limit: int = 100) -> str:
    """A learner's text as a message shows it: in double quotes, cut at `limit` characters,
    a newline or a tab written \\n or \\t so that it can be seen."""
    shown = text if len(text) <= limit else text[:limit] + "…"
    if '"' in shown and "'" not in shown:  # HTML's attributes read better without escapes
        return "'" + json.dumps(shown, ensure_ascii=False)[1:-1].replace('\\"', '"') + "'"
    return json.dumps(shown, ensure_ascii=False)


def listed(items: Iterable[object], empty: str = "none") -> str:
    """`a, b and c`: a list as a sentence says it."""
    words = [str(i) for i in items]
    if not words:
        return empty
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


CHECKS: dict[str, list[Check]] = {}
# When a check that fails a learner's mistake only warns: what this machine could not judge.
UNJUDGED = "what the checker cannot judge here (no registry, a wheel or package offline)"


def check(
    requirement: str,
    needs: tuple[str | CheckFunction, ...] = (),
    advisory: bool = False,
    runs_containers: bool = False,
    task: str = "",
    name: str = "",
) -> Callable[[CheckFunction], CheckFunction]:
    """Declare a check of the task whose module this is (check.taskN), named for the
    function; `task` and `name` declare a shared function as one task's check."""

    def register(function: CheckFunction) -> CheckFunction:
        owner = task or function.__module__.rsplit(".", 1)[-1]
        called = name or function.__name__
        declared = CHECKS.get(owner, [])
        by_function = {c.function: c.name for c in declared}
        named = tuple(n if isinstance(n, str) else by_function.get(n, "") for n in needs)
        missing = [
            n for n, got in zip(needs, named, strict=True) if got not in {c.name for c in declared}
        ]
        if missing:  # a check needs only checks declared above it: the order is the reading order
            raise ValueError(f"{owner}.{called} needs undeclared {missing}")
        CHECKS.setdefault(owner, []).append(
            Check(owner, called, requirement, named, advisory, runs_containers, function)
        )
        return function

    return register


@dataclasses.dataclass
class Context:
    """One task's view of the learner's repository, and what its checks hand each other."""

    task: str
    root: Path  # the sandbox's copy of the repository
    original: Path  # the learner's repository itself: read (git), never written
    sandbox: Sandbox
    # What checks hand on to the checks that need them, each set by the one check named:
    raw: dict[str, Any] = dataclasses.field(default_factory=dict)  # compose_file_exists: the YAML
    model: dict[str, Any] = dataclasses.field(default_factory=dict)  # compose_reads_it: Compose's
    roles: dict[str, str] = dataclasses.field(default_factory=dict)  # role -> the learner's service
    images: dict[str, str] = dataclasses.field(default_factory=dict)  # a build's name -> its tag
    logs: dict[str, str] = dataclasses.field(default_factory=dict)  # a build's name -> its output
    ports: dict[str, int] = dataclasses.field(default_factory=dict)  # a server -> its host port
    servers: dict[str, Container] = dataclasses.field(default_factory=dict)  # a server started
    stack_images: dict[str, str] = dataclasses.field(default_factory=dict)  # service -> its tag
    started: Stack | None = None  # the task's stack, once it is up

    @property
    def stack(self) -> Stack:
        """The stack a check needs (a check that reads it needs the one that starts it)."""
        if self.started is None:
            raise RuntimeError(f"{self.task}: a check read the stack before one started it")
        return self.started

    @property
    def folder(self) -> Path:
        return self.root / self.task

    def rel(self, path: Path) -> str:
        return str(path.relative_to(self.root))

    def scrub(self, text: str) -> str:
        """A message in the repository's own terms: paths from its root, not the sandbox's,
        and the sandbox's containers by the names the learner's own run gives them."""
        text = text.replace(f"{self.root}/", "").replace(str(self.root), ".")
        rename = getattr(self.sandbox, "learner_names", None)
        return rename(text) if rename else text


def run_checks(
    tasks: list[str],
    make_context: Callable[[str], Context],
    report: Callable[[Outcome], None],
    files_only: bool = False,
    done: Callable[[str], None] = lambda task: None,
) -> Iterator[Outcome]:
    """Every check of `tasks`: first each task's checks that only read files, so that anything a
    learner's files would make unsafe is refused before anything is built or started; then the
    checks that build and run, task by task (none with `files_only`), calling `done(task)`
    after each. A check whose needs did not pass is skipped."""
    contexts = {task: make_context(task) for task in tasks}
    outcomes: dict[str, Outcome] = {}
    for phase in (False, True):
        for task in tasks:
            for chk in CHECKS.get(task, []):
                if chk.runs_containers != phase:
                    continue
                if phase and files_only:
                    outcome = Outcome(chk, Status.SKIP, "not run: only the files were checked")
                else:
                    outcome = _run_one(chk, contexts[task], outcomes)
                outcomes[chk.id] = outcome
                report(outcome)
            if phase:
                done(task)  # what this task started goes before the next task starts
    for task in tasks:
        for chk in CHECKS.get(task, []):
            yield outcomes[chk.id]


def _run_one(chk: Check, context: Context, done: dict[str, Outcome]) -> Outcome:
    for need in chk.needs:
        before = done[f"{chk.task}.{need}"]
        if before.status not in (Status.PASS, Status.WARN):
            return Outcome(chk, Status.SKIP, f"needs {chk.task}.{need}, which did not pass")
        if before.blocks:
            return Outcome(chk, Status.SKIP, f"needs {chk.task}.{need}, which could not be judged")
    started = time.monotonic()
    try:
        said = chk.function(context)
        outcome = Outcome(chk, Status.PASS, said or "")
    except Failed as failure:
        status = Status.WARN if failure.warning or chk.advisory else Status.FAIL
        outcome = Outcome(
            chk,
            status,
            str(failure),
            failure.fix,
            failure.file,
            failure.line,
            details=failure.details,
            blocks=failure.blocks and status == Status.WARN,
        )
    except Exception as error:  # noqa: BLE001 - the engine or the browser failed the checker
        said = str(error).splitlines()[0] if str(error) else type(error).__name__
        outcome = Outcome(
            chk,
            Status.ERROR,
            f"the checker could not run this check: {said}",
            "run it again; if it says the same, report it with VERBOSE=1's details",
            details=getattr(error, "details", ""),
        )
    outcome.seconds = time.monotonic() - started
    outcome.message, outcome.fix = context.scrub(outcome.message), context.scrub(outcome.fix)
    outcome.details = context.scrub(outcome.details)
    return outcome
