"""Hash-checked locks of the project's Python dependencies.

Each `requirements.in` (what is asked for: the top-level packages, pinned) sits beside its
`requirements.txt` (pip-compile's lock: every transitive dependency pinned, with the hashes of
its files). Images and .venv install the lock with `pip install --require-hashes`, so a file
that the lock does not name by hash is refused. pip-tools makes the locks because Dependabot
recognises its output and recompiles a lock when it bumps a pin.

    softy-pinko-docker lock refresh [--upgrade]   re-resolve every lock from its input (online)
    softy-pinko-docker lock check                 every lock agrees with its input (offline)
    softy-pinko-docker lock audit                 pip-audit of every lock (online)
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from softy_pinko_docker import REPO, cli
from softy_pinko_docker.docker import ToolError, run

# The machine's pip configuration (a find-links, an index) must not leak into a lock.
CLEAN_PIP = {"PIP_CONFIG_FILE": os.devnull, "PIP_FIND_LINKS": "", "PIP_INDEX_URL": ""}
COMPILE = [
    "--quiet",
    "--generate-hashes",
    "--allow-unsafe",  # pip and setuptools too: hash-checking mode needs every file hashed
    "--strip-extras",
    "--no-emit-find-links",
    "--no-emit-index-url",
]


def inputs(root: Path = REPO) -> list[Path]:
    """Every requirements*.in of the project: the host tools' and each back-end's."""
    found = [*root.glob("tools/requirements*.in"), *root.glob("task*/**/requirements*.in")]
    return sorted(found)


def lock_of(source: Path) -> Path:
    return source.with_suffix(".txt")


@dataclasses.dataclass(frozen=True)
class Pin:
    name: str  # canonical
    version: str
    hashes: int
    via: frozenset[str]  # what pulls it in: package names, or "-r <input>"


_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")


def read_lock(text: str) -> dict[str, Pin]:
    """pip-compile's output: `name==version \\`, its `--hash=` lines, then `# via` lines."""
    pins: dict[str, Pin] = {}
    name = version = ""
    hashes, via = 0, set[str]()
    in_via = False

    def close() -> None:
        if name:
            pins[name] = Pin(name, version, hashes, frozenset(via))

    for line in text.splitlines():
        stripped = line.strip()
        pin = _PIN.match(line)
        if pin:
            close()
            name, version = canonicalize_name(pin.group(1)), pin.group(2)
            hashes, via, in_via = 0, set(), False
        elif stripped.startswith("--hash="):
            hashes += 1
        elif stripped.startswith("# via"):
            rest = stripped.removeprefix("# via").strip()
            in_via = not rest
            if rest:
                via.add(rest)
        elif in_via and stripped.startswith("#") and not line.startswith("#"):
            via.add(stripped.lstrip("#").strip())
        else:
            in_via = False
    close()
    return pins


def read_input(text: str, source: Path) -> list[Requirement]:
    wanted = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        try:
            wanted.append(Requirement(line))
        except InvalidRequirement as error:
            raise ToolError(f"{source}:{number}: {error}") from None
    return wanted


def disagreements(source: Path, in_text: str, lock_text: str) -> list[str]:
    """Why the lock no longer matches its input (empty: it does), offline: each requirement is
    locked at a version it allows, nothing is locked only for a requirement that is gone, and
    every pin carries hashes."""
    pins = read_lock(lock_text)
    wanted = read_input(in_text, source)
    problems = []
    for requirement in wanted:
        pin = pins.get(canonicalize_name(requirement.name))
        if pin is None:
            problems.append(f"{requirement} is not locked")
        elif not requirement.specifier.contains(pin.version, prereleases=True):
            problems.append(f"{requirement} is wanted, {pin.name}=={pin.version} is locked")
    names = {canonicalize_name(r.name) for r in wanted}
    for pin in pins.values():
        if pin.via and all(v.startswith("-r ") for v in pin.via) and pin.name not in names:
            problems.append(f"{pin.name} is locked for {source.name}, which no longer asks for it")
        if pin.hashes == 0:
            problems.append(f"{pin.name}=={pin.version} has no hash")
    return problems


def check() -> int:
    failures = []
    for source in inputs():
        lock = lock_of(source)
        where = lock.relative_to(REPO)
        if not lock.exists():
            failures.append(f"{where} is missing")
            continue
        problems = disagreements(source, source.read_text(), lock.read_text())
        failures += [f"{where}: {problem}" for problem in problems]
    for failure in failures:
        print(failure, file=sys.stderr)
    if failures:
        raise ToolError(f"{len(failures)} lock(s) out of date with their input: run `make lock`")
    print(f"{len(inputs())} locks agree with their inputs")
    return 0


def refresh(upgrade: bool) -> int:
    compile_ = [sys.executable, "-m", "piptools", "compile", *COMPILE]
    for source in inputs():
        lock = lock_of(source)
        args = [*compile_, *(["--upgrade"] if upgrade else []), "-o", lock.name, source.name]
        proc = run(args, timeout=900, cwd=source.parent, env=CLEAN_PIP, check=False)
        if proc.returncode != 0:
            said = (proc.stderr.strip().splitlines() or ["pip-compile failed"])[-1]
            raise ToolError(f"cannot lock {source.relative_to(REPO)}: {said}")
        print(f"locked {lock.relative_to(REPO)}: {len(read_lock(lock.read_text()))} packages")
    return 0


def audit_one(lock: Path) -> tuple[int, int, list[str]]:
    """(audited, not audited, findings) for one lock, from pip-audit's JSON."""
    proc = run(
        [sys.executable, "-m", "pip_audit", "--requirement", str(lock), "--require-hashes"]
        + ["--disable-pip", "--progress-spinner", "off", "--format", "json"],
        timeout=600,
        env=CLEAN_PIP,
        check=False,
    )
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        said = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise ToolError(f"pip-audit could not audit {lock.relative_to(REPO)}: {said}") from None
    dependencies = report.get("dependencies", [])
    skipped = [d for d in dependencies if "skip_reason" in d]
    findings = [
        f"{d['name']} {d['version']}: {v['id']} (fixed in {', '.join(v['fix_versions']) or '-'})"
        for d in dependencies
        for v in d.get("vulns", [])
    ]
    return len(dependencies) - len(skipped), len(skipped), findings


def audit() -> int:
    """Fails on a finding, and on any package the vulnerability data did not cover: a skipped
    package is not a passed one (offline, PyPI's JSON API answers 404 for every package)."""
    audited = skipped = 0
    findings: list[str] = []
    for source in inputs():
        done, missed, found = audit_one(lock_of(source))
        audited, skipped, findings = audited + done, skipped + missed, findings + found
    for finding in findings:
        print(finding, file=sys.stderr)
    if findings:
        raise ToolError(f"pip-audit: {len(findings)} known vulnerabilities in the locks")
    if skipped:
        raise ToolError(
            f"pip-audit: NOT audited: the vulnerability data was unreachable for {skipped} of "
            f"{audited + skipped} locked packages (offline? it needs pypi.org's JSON API)"
        )
    print(f"pip-audit: {audited} locked packages, no known vulnerabilities")
    return 0


def main(argv: list[str]) -> int:
    parser = cli.parser(argv, "softy_pinko_docker.locks", __doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("check", help="every lock matches its requirements.in (offline)")
    refresh_ = commands.add_parser("refresh", help="lock again: Python and base-image digests")
    refresh_.add_argument("--upgrade", action="store_true", help="the newest versions allowed")
    commands.add_parser("audit", help="pip-audit of every lock (online)")
    args = parser.parse_args(argv[1:])
    if args.command == "check":
        return check()
    if args.command == "refresh":
        return refresh(upgrade=args.upgrade)
    return audit()


if __name__ == "__main__":
    sys.exit(cli.run_main(main))
