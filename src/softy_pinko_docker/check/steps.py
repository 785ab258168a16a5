"""The file checks several tasks share: where a file is (or what it is misnamed or misplaced as),
a Dockerfile read as Docker reads it, its base, its APT and pip steps, its WORKDIR and COPYs.
task2's back-end is task1's moved, task3's front-end is task2's with more, and so on. Each raises
`Failed` naming the file (and line) and a fix that, applied, makes the check pass."""

from __future__ import annotations

import fnmatch
import posixpath
import re
from pathlib import Path

from softy_pinko_docker import dockerfiles
from softy_pinko_docker.check import files
from softy_pinko_docker.check.registry import Context, Failed, listed, quoted
from softy_pinko_docker.dockerfiles import Instruction

GREETING = "Hello, World!"
# Folders a task gives a role of its own: a Dockerfile in back-end/ is not the front-end's.
ROLE_FOLDERS = ("back-end", "front-end", "proxy")


# --- where a file is -----------------------------------------------------------------------------
def require_file(ctx: Context, rel: str, what: str) -> Path:
    """`rel` (from the task's folder) is a file, named exactly so; else where the learner's
    file is (another name, another folder, the tasks one folder down) and how to move it."""
    path = ctx.folder / rel
    if path.is_file():
        return path
    where = f"{ctx.task}/{rel}"
    if not ctx.folder.is_dir():
        raise missing_task(ctx)
    if path.is_dir():
        raise Failed(f"{what} at {where}", "a folder of that name", f"make {where} a file")
    near = files.near_names(path.parent, path.name)
    if near:
        fix = rename_fix(ctx, near[0], path)
        raise Failed(f"{what} at {where}", ctx.rel(near[0]), fix, ctx.rel(near[0]))
    moved = _elsewhere_in_task(ctx, path)
    if moved is not None:
        fix = f"move it: git mv {ctx.rel(moved)} {where}"
        raise Failed(f"{what} at {where}", ctx.rel(moved), fix, ctx.rel(moved))
    if not path.parent.is_dir():
        folder = ctx.rel(path.parent)
        raise Failed(f"{what} at {where}", f"no folder {folder}/", f"create {folder}/ and {where}")
    raise Failed(f"{what} at {where}", "no such file", f"create {where}")


def missing_task(ctx: Context) -> Failed:
    nested = files.nested_tasks(ctx.original)
    if nested and (ctx.original / nested / ctx.task).is_dir():
        return Failed(
            f"the folder {ctx.task}/ at the repository's root",
            f"{nested}/{ctx.task}/: your tasks are in {nested}/",
            f"move them to the root: git mv {nested}/task* . (the curriculum's checker, like "
            "this one, reads them there)",
            f"{nested}/{ctx.task}",
        )
    return Failed(f"the folder {ctx.task}/", "none", f"create {ctx.task}/ as the statement says")


def rename_fix(ctx: Context, found: Path, wanted: Path) -> str:
    """`git mv`, and every other line of the task that names the old name (a COPY, a Compose
    file's `dockerfile:`): renamed alone, the file would no longer be found there."""
    fix = f"rename it: git mv {ctx.rel(found)} {ctx.rel(wanted)}"
    others = [(p, n) for p, n in files.mentions(ctx.folder, found.name) if p != found]
    if others:
        places = listed(f"{ctx.rel(p)}:{n}" for p, n in others[:4])
        fix += f", and write {wanted.name} for {found.name} where it is named ({places})"
    return fix


def _elsewhere_in_task(ctx: Context, path: Path) -> Path | None:
    """A file of that name in another folder of the task; for a file of a role's folder, not
    in another role's (task2/back-end/Dockerfile is the back-end's, not the front-end's
    misplaced). A file of the task's own root may be anywhere (task6/proxy/2-api-servers.txt)."""
    mine = path.parent.name
    of_a_role = path.parent != ctx.folder
    for other in sorted(ctx.folder.rglob(path.name)):
        parts = other.relative_to(ctx.folder).parts[:-1]
        roles = {p for p in parts if p in ROLE_FOLDERS and p != mine and of_a_role}
        if other.is_file() and other != path and not roles and ".git" not in parts:
            return other
    return None


# --- a Dockerfile --------------------------------------------------------------------------------
def read_dockerfile(ctx: Context, path: Path) -> list[Instruction]:
    """Its instructions as Docker reads them; a file Docker refuses is the learner's to fix."""
    try:
        return dockerfiles.read(path)
    except dockerfiles.Unreadable as error:
        found = "an empty file" if "no instructions" in str(error) else f"Docker says: {error}"
        raise Failed(
            "a Dockerfile that Docker can read",
            found,
            "write its instructions, one a line, starting with FROM",
            ctx.rel(path),
        ) from None


def require_dockerfile(ctx: Context, rel: str, what: str) -> Path:
    path = require_file(ctx, rel, what)
    read_dockerfile(ctx, path)
    return path


def from_latest(
    ctx: Context, dockerfile: Path, repository: str, what: str, inherited: bool = False
) -> str:
    """Every image the Dockerfile pulls is `repository:latest`: an older release fails, a
    version tag that may be the latest today is a warning (latest moves, a tag does not).
    `inherited`: the task does not say it again, its files are the previous task's (its check
    is advisory), which the fix says."""
    try:
        return _from_latest(ctx, dockerfile, repository, what)
    except Failed as failure:
        if inherited:
            failure.fix += f" (the previous task asks for it; {ctx.task} does not say it again)"
        raise


def _from_latest(ctx: Context, dockerfile: Path, repository: str, what: str) -> str:
    pulled = [s for s in dockerfiles.stages(read_dockerfile(ctx, dockerfile)) if s.base]
    rel = ctx.rel(dockerfile)
    if not pulled:
        raise Failed(
            f"FROM {repository}:latest",
            "no FROM that pulls an image",
            f"start it with FROM {repository}:latest",
            rel,
        )
    for stage in pulled:
        name, tag = _name_and_tag(stage.base)
        line = stage.instruction.line
        if name != repository:
            raise Failed(
                f"{what}: FROM {repository}:latest",
                f"FROM {stage.base}",
                f"use FROM {repository}:latest",
                rel,
                line,
            )
        verdict = release_verdict(repository, tag)
        if verdict:
            raise Failed(
                f"{what}: FROM {repository}:latest",
                f"FROM {stage.base} ({verdict[1]})",
                f"use FROM {repository}:latest",
                rel,
                line,
                warning=verdict[0] == "warn",
            )
    return f"FROM {pulled[-1].base}"


def _name_and_tag(reference: str) -> tuple[str, str]:
    name = reference.lower().removeprefix("docker.io/").removeprefix("library/")
    if "@" in name:
        return name.split("@", 1)[0], "@digest"
    base, _, tag = name.rpartition(":") if ":" in name.rsplit("/", 1)[-1] else (name, "", "")
    return base, tag


# Ubuntu's `latest` is its newest LTS, 24.04 (noble) when the statements were checked here.
UBUNTU_LATEST = (24, 4)
UBUNTU_OLDER = {"jammy", "focal", "bionic", "xenial", "trusty", "kinetic", "lunar", "mantic"}


def release_verdict(repository: str, tag: str) -> tuple[str, str] | None:
    """None when the tag is the latest; ("fail", why) for a release older than the latest;
    ("warn", why) for a tag that names a release, which may be the latest today."""
    if tag in ("", "latest"):
        return None
    if tag == "@digest":
        return "warn", "a digest: whether it is the latest cannot be told from the file"
    if repository == "ubuntu":
        number = re.fullmatch(r"(\d+)\.(\d+)(?:\.\d+)?", tag)
        if tag in UBUNTU_OLDER or (number and (int(number[1]), int(number[2])) < UBUNTU_LATEST):
            return "fail", "an older release than the latest"
        return "warn", "a release named by its number, which stays when latest moves on"
    if repository == "nginx" and tag == "mainline":
        return None
    return "warn", "a version named by its tag, which stays when latest moves on"


def run_commands(instructions: list[Instruction]) -> list[tuple[int, list[str]]]:
    """Every simple command of every RUN, with the RUN's line."""
    return [
        (i.line, words)
        for i in instructions
        if i.keyword == "RUN"
        for words in files.shell_commands(i)
    ]


def _apt(words: list[str]) -> tuple[str, list[str]] | None:
    """(subcommand, arguments) of an apt-get/apt command."""
    for index, word in enumerate(words):
        if word.rsplit("/", 1)[-1] in ("apt-get", "apt"):
            rest = words[index + 1 :]
            verbs = [
                w
                for i, w in enumerate(rest)
                if not w.startswith("-") and (i == 0 or rest[i - 1] not in ("-o", "-c", "-t"))
            ]
            return (verbs[0] if verbs else "", rest)
    return None


def _says_yes(arguments: list[str]) -> bool:
    """-y, --yes, --assume-yes, or -qq, which apt-get's manual says implies -y."""
    return any(
        a in ("--yes", "--assume-yes", "-qq", "-q=2")
        or re.fullmatch(r"-[a-z]*y[a-z]*", a)
        or "Assume-Yes=true" in a
        for a in arguments
    )


def apt_update_upgrade(ctx: Context, dockerfile: Path) -> str:
    commands = [
        (line, _apt(words)) for line, words in run_commands(read_dockerfile(ctx, dockerfile))
    ]
    updates = [line for line, apt in commands if apt and apt[0] == "update"]
    upgrades = [
        (line, apt[1])
        for line, apt in commands
        if apt and apt[0] in ("upgrade", "dist-upgrade", "full-upgrade")
    ]
    rel = ctx.rel(dockerfile)
    if not updates:
        raise Failed(
            "RUN apt-get update",
            "no apt-get update",
            "add RUN apt-get update before the upgrade",
            rel,
        )
    if not upgrades:
        raise Failed(
            "RUN apt-get upgrade -y",
            "no apt-get upgrade",
            "add RUN apt-get upgrade -y after the update",
            rel,
            updates[0],
        )
    line, arguments = upgrades[0]
    if not _says_yes(arguments):
        raise Failed(
            "apt-get upgrade -y",
            "apt-get upgrade without -y (a build cannot answer its question)",
            "add -y: RUN apt-get upgrade -y",
            rel,
            line,
        )
    if line < updates[0]:
        raise Failed(
            "apt-get update, then apt-get upgrade -y",
            "the upgrade first",
            "update first",
            rel,
            line,
        )
    return f"update (line {updates[0]}), upgrade -y (line {line})"


def apt_packages(instructions: list[Instruction]) -> dict[str, int]:
    found: dict[str, int] = {}
    for line, words in run_commands(instructions):
        apt = _apt(words)
        if apt and apt[0] == "install":
            for word in apt[1][apt[1].index("install") + 1 :]:
                if not word.startswith("-"):
                    found.setdefault(word.split("=")[0], line)
    return found


def pip_packages(ctx: Context, dockerfile: Path) -> dict[str, int]:
    """Packages every `pip3 install` of the Dockerfile names, requirements files read from the
    build context by their name (never from outside the repository), with the RUN's line."""
    found: dict[str, int] = {}
    for line, words in run_commands(read_dockerfile(ctx, dockerfile)):
        said = files.pip_installs(words)
        if said is None:
            continue
        packages, requirement_files = said
        for package in packages:
            found.setdefault(files.project_name(package), line)
        for name in requirement_files:
            for candidate in (dockerfile.parent / Path(name).name, dockerfile.parent / name):
                if candidate.resolve().is_relative_to(ctx.root.resolve()) and candidate.is_file():
                    for package in files.requirements_names(candidate):
                        found.setdefault(package, line)
                    break
    return found


def pip_installs(ctx: Context, dockerfile: Path, package: str) -> str:
    """`package` is installed with pip3 (not APT)."""
    rel = ctx.rel(dockerfile)
    by_apt = apt_packages(read_dockerfile(ctx, dockerfile))
    debian_name = f"python3-{package}"
    pip = pip_packages(ctx, dockerfile)
    if package not in pip:
        if debian_name in by_apt:
            raise Failed(
                f"{package} installed with pip3",
                f"apt-get install {debian_name}",
                f"install it with pip3: RUN pip3 install {package}",
                rel,
                by_apt[debian_name],
            )
        raise Failed(
            f"RUN pip3 install {package}",
            f"no pip3 install of {package}",
            f"add it: RUN pip3 install {package}",
            rel,
        )
    return f"pip3 install {package} (line {pip[package]})"


# Packages that install Python 3 (python3-pip depends on python3, as APT installs it).
PYTHONS = ("python3", "python3-pip", "python3-venv", "python3-full", "python3-dev")
# Names APT installs another package for: `apt-get install pip` selects python3-pip, which
# provides it, on Ubuntu and Debian alike.
PROVIDED = {"pip": "python3-pip", "pip3": "python3-pip", "python3.12": "python3"}


def python_from_apt(ctx: Context, dockerfile: Path) -> str:
    named = apt_packages(read_dockerfile(ctx, dockerfile))
    packages = {PROVIDED.get(name, name): line for name, line in named.items()}
    has_python = any(p in packages or re.fullmatch(r"python3\.\d+", p) for p in PYTHONS)
    missing = [
        p
        for p, ok in (("python3", has_python), ("python3-pip", "python3-pip" in packages))
        if not ok
    ]
    if missing:
        raise Failed(
            "apt-get install -y python3 python3-pip",
            f"no {' or '.join(missing)} installed by APT",
            f"add RUN apt-get install -y {' '.join(missing)}",
            ctx.rel(dockerfile),
        )
    return "python3 and python3-pip from APT"


def in_workdir(instructions: list[Instruction]) -> list[tuple[Instruction, str]]:
    """Each instruction, with the WORKDIR in force once it has run: an absolute path, quotes
    gone, a relative WORKDIR resolved against the one before; each FROM starts again at /."""
    current, found = "/", []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            current = "/"
        if instruction.keyword == "WORKDIR" and instruction.arguments:
            value = instruction.value.strip().strip("\"'")
            current = posixpath.normpath(posixpath.join(current, value))
        found.append((instruction, current))
    return found


def workdir_app(ctx: Context, dockerfile: Path) -> str:
    """WORKDIR /app, and api.py copied there."""
    rel = ctx.rel(dockerfile)
    instructions = read_dockerfile(ctx, dockerfile)
    set_to = [(wd, i.line) for i, wd in in_workdir(instructions) if i.keyword == "WORKDIR"]
    if "/app" not in [w for w, _ in set_to]:
        found = f"WORKDIR {set_to[-1][0]}" if set_to else "no WORKDIR"
        raise Failed(
            "WORKDIR /app", found, "add WORKDIR /app", rel, set_to[-1][1] if set_to else None
        )
    for sources, destination, line in copies(instructions):
        copies_api = any(fnmatch.fnmatch("api.py", Path(s).name) for s in sources) or "." in sources
        if copies_api and destination in ("/app", "/app/api.py"):
            return f"WORKDIR /app, api.py copied there (line {line})"
    raise Failed(
        "api.py copied to /app", "no COPY of api.py into /app", "add COPY api.py /app/", rel
    )


def copies(instructions: list[Instruction]) -> list[tuple[list[str], str, int]]:
    """Every COPY/ADD of the build context (not --from another stage): (source paths,
    absolute destination, line), paths without ./ or a trailing /; a relative destination is
    resolved against the WORKDIR in force."""
    found = []
    for instruction, workdir in in_workdir(instructions):
        if instruction.keyword not in ("COPY", "ADD") or len(instruction.arguments) < 2:
            continue
        if any(f.startswith("--from") for f in instruction.flags):
            continue
        *sources, destination = instruction.arguments
        clean = [re.sub(r"^\./", "", s).rstrip("/") or "." for s in sources]
        found.append(
            (clean, posixpath.normpath(posixpath.join(workdir, destination)), instruction.line)
        )
    return found


def copied_to(ctx: Context, dockerfile: Path, source: str, destination: str) -> str:
    rel = ctx.rel(dockerfile)
    found = copies(read_dockerfile(ctx, dockerfile))
    parent, name = destination.rsplit("/", 1)
    # A file keeps its name when copied into a folder; a folder's contents go where it is
    # copied to (COPY site /var/www/html/ puts index.html in /var/www/html).
    keeps_name = (dockerfile.parent / source).is_file() and Path(source).name == name
    for sources, dest, line in found:
        if source in sources and (dest == destination or (keeps_name and dest == parent)):
            return f"line {line}: {source} -> {destination}"
    elsewhere = [(d, ln) for s, d, ln in found if source in s]
    if elsewhere:
        dest, line = elsewhere[0]
        raise Failed(
            f"{source} copied to {destination}",
            f"copied to {dest}",
            f"COPY {source} {destination}",
            rel,
            line,
        )
    raise Failed(
        f"COPY {source} {destination}",
        f"no COPY of {source}",
        f"add COPY {source} {destination}",
        rel,
    )


def image_sources(ctx: Context, dockerfile: Path) -> dict[str, str]:
    """Each path in the image a file of the build context is copied to -> that file (from the
    repository's root): what a message about /etc/nginx/conf.d/default.conf means."""
    found = {}
    for sources, destination, _ in copies(read_dockerfile(ctx, dockerfile)):
        for source in sources:
            path = dockerfile.parent / source
            if path.is_file():
                found[destination] = found[f"{destination}/{path.name}"] = ctx.rel(path)
    return found


def greeting_text(text: str) -> str:
    """What a learner's server or container said, for a message: quoted, or "nothing"."""
    return quoted(text.strip()) if text.strip() else "nothing"
