"""Which bases the repository's Dockerfiles name, and the locks whose wheels a Python
stand-in holds."""

from __future__ import annotations

import os
from pathlib import Path

from softy_pinko_docker import REPO, dockerfiles

SKIP_DIRS = {".git", ".venv", "node_modules", "reports"}


def dockerfile_paths(root: Path = REPO) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            if (
                name == "Dockerfile"
                or name.startswith("Dockerfile.")
                or name.endswith(".Dockerfile")
            ):
                found.append(Path(dirpath) / name)
    return found


def bases_in_repo(root: Path = REPO) -> dict[str, list[Path]]:
    """Every base image in the repo, mapped to the Dockerfiles that name it."""
    result: dict[str, list[Path]] = {}
    for path in dockerfile_paths(root):
        for base in dockerfiles.bases(dockerfiles.read(path)):
            result.setdefault(base, []).append(path)
    return result


def requirements_files(root: Path = REPO) -> list[Path]:
    """Requirements files that Dockerfiles install: every requirements*.txt under task*/."""
    return sorted(p for p in root.glob("task*/**/requirements*.txt") if p.is_file())


def repo_requirements() -> dict[str, str]:
    """The requirements files a wheelhouse holds, by path: part of a Python stand-in's key."""
    return {str(p.relative_to(REPO)): p.read_text() for p in requirements_files()}
