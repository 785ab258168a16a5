"""Verdicts kept, so that nothing is checked twice: a task's outcomes stored under a key of
everything its checks read, and reused while that key is the same.

The key of a task is a digest of: the checker itself (every file of this package: a new checker
judges again); the task folder as the sandbox copied it (paths, modes, contents; submodules
included, since they are copied checked out); what the checks read of the repository outside
the task folder (.gitmodules, the gitlinks git records, the origin's URL, where the task
folders sit); and the ID of every base image the task's Dockerfiles name (a new `ubuntu:latest`
judges again). A task is stored only when every check of it gave a verdict: a run that
errored, was stopped, or checked only the files leaves nothing.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from softy_pinko_docker import dockerfiles
from softy_pinko_docker.check import files
from softy_pinko_docker.check.registry import Outcome, Status
from softy_pinko_docker.docker import image

PACKAGE = Path(__file__).resolve().parents[1]


class Missing:
    id = "missing"


def default_folder() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "softy-pinko-check" / "verdicts"


@functools.cache
def checker_digest() -> str:
    """Every file of the package, by path and content: the checker's own version."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(PACKAGE)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def tree_digest(folder: Path) -> str:
    """A folder's paths, kinds, executable bits and contents (a link by its target)."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder)).encode()
        if path.is_symlink():
            digest.update(b"L" + rel + b"\0" + os.readlink(path).encode() + b"\0")
        elif path.is_file():
            mode = b"x" if os.access(path, os.X_OK) else b"f"
            digest.update(mode + rel + b"\0" + hashlib.sha256(path.read_bytes()).digest())
        elif path.is_dir():
            digest.update(b"d" + rel + b"\0")
    return digest.hexdigest()


def base_references(folder: Path) -> list[str]:
    """The bases the folder's Dockerfiles name."""
    bases: set[str] = set()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "Dockerfile" in path.name:
            try:
                bases.update(dockerfiles.bases(dockerfiles.read(path)))
            except Exception:  # noqa: BLE001 - a Dockerfile the checks will judge: no base
                continue
    return sorted(bases)


@dataclasses.dataclass(frozen=True)
class Inputs:
    """What a task's checks read, taken before they run: they write into the sandbox's copy (a
    stack's Compose file), which a key read after them would count as a change."""

    parts: tuple[str, ...]
    bases: tuple[str, ...]

    def key(self) -> str:
        """The key, with the bases' IDs as they are now: after a check, the IDs of the bases it
        needed (a stand-in may have been built meanwhile), `=missing` for one not here."""
        ids = [f"{ref}={(image(ref) or Missing).id}" for ref in self.bases]
        return hashlib.sha256("\0".join([*self.parts, *ids]).encode()).hexdigest()[:32]


def task_inputs(task: str, root: Path, original: Path) -> Inputs:
    """Everything the task's checks read (see the module's docstring)."""
    gitmodules = original / ".gitmodules"
    parts = (
        checker_digest(),
        task,
        tree_digest(root / task),
        gitmodules.read_text(errors="replace") if gitmodules.is_file() else "",
        repr(files.submodules(original)),
        files.origin_owner(original),
        files.nested_tasks(original),
    )
    return Inputs(parts, tuple(base_references(root / task)))


@dataclasses.dataclass
class Stored:
    outcomes: list[Outcome]
    stored_at: float
    seconds: float


class Verdicts:
    """The folder of kept verdicts, one JSON file per key."""

    def __init__(self, folder: Path):
        self.folder = folder

    def get(self, key: str) -> Stored | None:
        from softy_pinko_docker.check import CHECKS  # every task's, loaded on first use

        try:
            said = json.loads((self.folder / f"{key}.json").read_text())
            checks = {chk.id: chk for task in CHECKS.values() for chk in task}
            outcomes = [
                Outcome(
                    checks[o["id"]],
                    Status(o["status"]),
                    o["message"],
                    o["fix"],
                    o["file"],
                    o["line"],
                    o["seconds"],
                    o["details"],
                    o["blocks"],
                )
                for o in said["outcomes"]
            ]
            return Stored(outcomes, said["stored_at"], said["seconds"])
        except (OSError, ValueError, KeyError, TypeError):
            return None  # none, or one an older checker wrote: checked again

    def put(self, key: str, task: str, outcomes: Iterable[Outcome]) -> bool:
        """Keep the task's outcomes, unless one of them is not a verdict; True when kept."""
        kept = list(outcomes)
        if not kept or any(o.status == Status.ERROR for o in kept):
            return False
        self.folder.mkdir(parents=True, exist_ok=True)
        record: dict[str, Any] = {
            "task": task,
            "stored_at": time.time(),
            "seconds": round(sum(o.seconds for o in kept), 1),
            "outcomes": [
                {
                    "id": o.check.id,
                    "status": o.status.value,
                    "message": o.message,
                    "fix": o.fix,
                    "file": o.file,
                    "line": o.line,
                    "seconds": o.seconds,
                    "details": o.details,
                    "blocks": o.blocks,
                }
                for o in kept
            ],
        }
        # Written whole, then renamed: a batch's workers side by side never read half a file.
        partial = self.folder / f".{key}.{os.getpid()}.tmp"
        partial.write_text(json.dumps(record))
        partial.replace(self.folder / f"{key}.json")
        return True

    def durations(self) -> dict[str, list[float]]:
        """Each task's past durations, for an estimate of what is left."""
        found: dict[str, list[float]] = {}
        for path in self.folder.glob("*.json"):
            try:
                said = json.loads(path.read_text())
                found.setdefault(said["task"], []).append(float(said["seconds"]))
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return found
