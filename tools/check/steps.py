"""The check bodies several tasks share: task2's back-end is task1's moved, task3's front-end is
task2's with more, and so on. Each raises `Failed` naming the file (and line) and the fix."""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Iterator
from pathlib import Path

from tools.check import files, probes
from tools.check.registry import Context, Failed, unsure
from tools.check.sandbox import Build, NotStarted
from tools.docker import Container

GREETING = "Hello, World!"


# --- files -------------------------------------------------------------------------------------
def require_file(ctx: Context, rel: str, what: str) -> Path:
    """`rel` (relative to the task's folder) must be a file, named exactly so."""
    path = ctx.folder / rel
    if path.is_file():
        return path
    where = f"{ctx.task}/{rel}"
    other = files.find_named(path.parent, path.name)
    if other is not None:
        raise Failed(
            f"{what} at {where}", ctx.rel(other), f"rename it: git mv {ctx.rel(other)} {where}"
        )
    # A file of that name elsewhere in the task, not in a folder the curriculum gives another
    # role (task2's back-end/Dockerfile is not the front-end's, misplaced).
    roles = set() if ctx.task in ("task0", "task1") else {"back-end", "front-end", "proxy"}
    roles -= {path.parent.name}
    found = sorted(ctx.folder.rglob(path.name)) if ctx.folder.is_dir() else []
    moved = [
        p for p in found if p.is_file() and not set(p.relative_to(ctx.folder).parts[:-1]) & roles
    ]
    if moved:
        raise Failed(
            f"{what} at {where}", ctx.rel(moved[0]), f"move it: git mv {ctx.rel(moved[0])} {where}"
        )
    if not ctx.folder.is_dir():
        raise Failed(f"a folder {ctx.task}/", "none", f"create {ctx.task}/ as the statement says")
    raise Failed(f"{what} at {where}", "no such file", f"create {where}")


def instructions(ctx: Context, dockerfile: Path, keyword: str) -> list[files.Instruction]:
    return [i for i in files.instructions(dockerfile) if i.keyword == keyword]


def from_latest(ctx: Context, dockerfile: Path, repository: str, what: str) -> str:
    """The Dockerfile's bases are `repository:latest` (a version tag is a warning)."""
    stages = {
        i.value.split()[-1].lower()
        for i in instructions(ctx, dockerfile, "FROM")
        if re.search(r"\s+as\s+\S+$", i.value, re.I)
    }
    froms = [
        i
        for i in instructions(ctx, dockerfile, "FROM")
        if files.base_image(i).lower() not in stages
    ]
    if not froms:
        raise Failed(
            f"FROM {repository}:latest",
            "no FROM",
            f"start it with FROM {repository}:latest",
            ctx.rel(dockerfile),
        )
    for instruction in froms:
        image = files.base_image(instruction)
        name, _, tag = image.removeprefix("docker.io/").removeprefix("library/").partition(":")
        if name != repository:
            raise Failed(
                f"{what}: FROM {repository}:latest",
                f"FROM {image}",
                f"use FROM {repository}:latest",
                ctx.rel(dockerfile),
                instruction.line,
            )
        if tag not in ("", "latest"):
            raise Failed(
                f"{what}: FROM {repository}:latest",
                f"FROM {image}",
                f"use FROM {repository}:latest: the statement asks for the latest",
                ctx.rel(dockerfile),
                instruction.line,
                warning=True,
            )
    return f"FROM {files.base_image(froms[0])}"


def run_commands(dockerfile: Path) -> list[tuple[int, list[str]]]:
    """Every simple command of every RUN, with the RUN's line."""
    return [
        (i.line, words)
        for i in files.instructions(dockerfile)
        if i.keyword == "RUN"
        for words in files.shell_commands(i.value)
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
    return any(
        a in ("--yes", "--assume-yes") or re.fullmatch(r"-[a-z]*y[a-z]*", a) for a in arguments
    )


def apt_update_upgrade(ctx: Context, dockerfile: Path) -> str:
    commands = [(line, _apt(words)) for line, words in run_commands(dockerfile)]
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


def apt_packages(dockerfile: Path) -> dict[str, int]:
    found: dict[str, int] = {}
    for line, words in run_commands(dockerfile):
        apt = _apt(words)
        if apt and apt[0] == "install":
            for word in apt[1][apt[1].index("install") + 1 :]:
                if not word.startswith("-"):
                    found.setdefault(word.split("=")[0], line)
    return found


def pip_packages(dockerfile: Path) -> dict[str, int]:
    """Packages every `pip3 install` of the Dockerfile names, requirements files read from the
    build context by their name, with the line of the RUN."""
    found: dict[str, int] = {}
    for line, words in run_commands(dockerfile):
        said = files.pip_installs(words)
        if said is None:
            continue
        packages, requirement_files = said
        for package in packages:
            found.setdefault(files.project_name(package), line)
        for name in requirement_files:
            for candidate in (dockerfile.parent / Path(name).name, dockerfile.parent / name):
                if candidate.is_file():
                    for package in files.requirements_names(candidate):
                        found.setdefault(package, line)
                    break
    return found


def pip_installs(ctx: Context, dockerfile: Path, package: str) -> str:
    """`package` is installed with pip3 (not APT)."""
    rel = ctx.rel(dockerfile)
    by_apt = apt_packages(dockerfile)
    debian_name = f"python3-{package}"
    pip = pip_packages(dockerfile)
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


def python_from_apt(ctx: Context, dockerfile: Path) -> str:
    packages = apt_packages(dockerfile)
    missing = [p for p in ("python3", "python3-pip") if p not in packages]
    if missing:
        raise Failed(
            "apt-get install -y python3 python3-pip",
            f"no {' '.join(missing)} from APT",
            f"add RUN apt-get install -y {' '.join(missing)}",
            ctx.rel(dockerfile),
        )
    return "python3 python3-pip from APT"


def in_workdir(dockerfile: Path) -> Iterator[tuple[files.Instruction, str]]:
    """Each instruction, with the WORKDIR in force once it has run: an absolute path, quotes
    gone, a relative WORKDIR resolved against the one before; each FROM starts again at /."""
    current = "/"
    for instruction in files.instructions(dockerfile):
        if instruction.keyword == "FROM":
            current = "/"
        if instruction.keyword == "WORKDIR":
            value = instruction.value.strip().strip("\"'")
            current = posixpath.normpath(posixpath.join(current, value))
        yield instruction, current


def workdirs(dockerfile: Path) -> list[tuple[str, int]]:
    """Each WORKDIR as the absolute path it sets, with its line."""
    return [(wd, i.line) for i, wd in in_workdir(dockerfile) if i.keyword == "WORKDIR"]


def workdir_app(ctx: Context, dockerfile: Path) -> str:
    """WORKDIR /app, and api.py copied there."""
    rel = ctx.rel(dockerfile)
    set_to = workdirs(dockerfile)
    if "/app" not in [w for w, _ in set_to]:
        found = f"WORKDIR {set_to[-1][0]}" if set_to else "no WORKDIR"
        raise Failed(
            "WORKDIR /app", found, "add WORKDIR /app", rel, set_to[-1][1] if set_to else None
        )
    for sources, destination, line in copies(dockerfile):
        copies_api = any(fnmatch.fnmatch("api.py", Path(s).name) for s in sources) or "." in sources
        if copies_api and destination in ("/app", "/app/api.py"):
            return f"WORKDIR /app, api.py copied there (line {line})"
    raise Failed(
        "api.py copied to /app", "no COPY of api.py into /app", "add COPY api.py /app/", rel
    )


# --- builds ------------------------------------------------------------------------------------
def build(ctx: Context, context_rel: str, name: str) -> Build:
    """Build `<task>/<context_rel>/Dockerfile` as the curriculum's command does; a failure says
    why, at the Dockerfile's line."""
    context = ctx.folder / context_rel if context_rel else ctx.folder
    dockerfile = context / "Dockerfile"
    built: Build = ctx.sandbox.build(context, dockerfile, ctx.sandbox.tag(ctx.task, name))
    ctx.state[f"image:{name}"] = built.tag
    ctx.state[f"log:{name}"] = built.log
    if not built.ok:
        raise build_failure(ctx, dockerfile, built)
    return built


def build_failure(ctx: Context, dockerfile: Path, built: Build) -> Failed:
    rel = ctx.rel(dockerfile)
    if built.refused:
        line = next((i.line for i in files.instructions(dockerfile)
                     if i.keyword == "ADD" and built.refused in i.value), None)  # fmt: skip
        return Failed("no ADD of a URL (the engine would fetch it from the host's network)",
                      f"ADD {built.refused}", "download it in a RUN step, or COPY the file",
                      rel, line)  # fmt: skip
    if built.missing_base:
        return unsure(
            f"the base {built.missing_base} could be neither pulled nor stood in for "
            f"here: {built.log}",
            f"check FROM {built.missing_base} is an official image",
            rel,
            blocks=True,
        )
    log = built.log
    steps = re.findall(r"^Step (\d+)/\d+ : (.*)$", log, re.M)
    line = None
    if steps:
        number = int(steps[-1][0])
        listed = files.instructions(dockerfile)
        line = listed[number - 1].line if 0 < number <= len(listed) else None
    if "externally-managed-environment" in log:
        return Failed(
            "pip3 install to succeed",
            "pip3 refused: the latest Ubuntu's Python is externally managed (PEP 668)",
            "do as the statement suggests for Ubuntu "
            "24.04: pip3 install --break-system-packages flask (or install into a venv: "
            "python3 -m venv /opt/venv && /opt/venv/bin/pip install flask)",
            rel,
            line,
        )
    missing = re.search(r"No matching distribution found for (\S+)", log)
    if missing:
        return unsure(
            f"pip could not find {missing.group(1)}: this machine installs from an "
            "offline wheelhouse, which lacks it",
            "run the checker where containers reach PyPI to judge this build",
            rel,
            line,
            blocks=True,
        )
    if "did not finish in" in log:
        return Failed(
            "the image to build",
            log,
            "find the step that waits (an interactive prompt, a download)",
            rel,
            line,
        )
    errors = [ln for ln in log.splitlines() if re.search(r"error|E: |not found|failed", ln, re.I)]
    said = (errors or log.strip().splitlines() or ["no output"])[-1].strip()[:300]
    return Failed(
        "the image to build",
        f"the build failed: {said}",
        f"run docker build in {ctx.rel(dockerfile.parent)} and fix that step",
        rel,
        line,
        details=log[-4000:],
    )


# --- servers -----------------------------------------------------------------------------------
def serve(ctx: Context, name: str, port: int) -> tuple[Container, int]:
    """Start the image built as `name` with `port` published; (container, host port)."""
    try:
        started = ctx.sandbox.start(ctx.task, ctx.state[f"image:{name}"], port)
    except NotStarted as error:
        raise Failed(
            "the container to start",
            str(error),
            "fix the image's CMD: `docker run` of the image says the same",
        ) from None
    host_port = (started.ports.get(f"{port}/tcp") or [0])[0]
    ctx.state[f"port:{name}"] = host_port
    ctx.state[f"container:{name}"] = started
    return started, host_port


def answer(ctx: Context, name: str, path: str, timeout: float = 60) -> probes.Answer:
    """The answer of `path` on the server started as `name`; Failed if there is none."""
    container: Container = ctx.state[f"container:{name}"]
    url = f"http://127.0.0.1:{ctx.state[f'port:{name}']}{path}"
    said = probes.wait_answer(url, timeout, lambda: probes.exited([container]))
    if isinstance(said, str):
        raise Failed(
            f"an answer on {path}", said, "run the container and read its log (docker logs)"
        )
    return said


def greeting(said: probes.Answer, where: str, fix_file: str | None = None) -> str:
    if said.status != 200 or said.body.strip() != GREETING:
        found = f"{said.status} {said.body.strip()[:80]!r}"
        raise Failed(
            f"200 {GREETING!r} from {where}",
            found,
            f"return exactly {GREETING!r} from the /api/hello route",
            fix_file,
        )
    return f"{where}: {said.status} {GREETING!r}"


# --- the front-end -------------------------------------------------------------------------------
SITE = "softy-pinko-front-end"


def copies(dockerfile: Path) -> list[tuple[list[str], str, int]]:
    """Every COPY/ADD: (source paths, absolute destination, line), paths without ./ or a
    trailing /; a relative destination is resolved against the WORKDIR in force."""
    found = []
    for instruction, workdir in in_workdir(dockerfile):
        if instruction.keyword not in ("COPY", "ADD"):
            continue
        words = files.exec_form(instruction.value) or instruction.value.split()
        parts = [p for p in words if not p.startswith("--")]
        if len(parts) < 2:
            continue
        *sources, destination = parts
        clean = [re.sub(r"^\./", "", s).rstrip("/") or "." for s in sources]
        found.append(
            (clean, posixpath.normpath(posixpath.join(workdir, destination)), instruction.line)
        )
    return found


def copied_to(ctx: Context, dockerfile: Path, source: str, destination: str) -> str:
    rel = ctx.rel(dockerfile)
    parent, name = destination.rsplit("/", 1)
    # A file keeps its name when copied into a folder; a folder's contents go where it is
    # copied to (COPY site /var/www/html/ puts index.html in /var/www/html).
    keeps_name = (dockerfile.parent / source).is_file() and Path(source).name == name
    for sources, dest, line in copies(dockerfile):
        if source in sources and (dest == destination or (keeps_name and dest == parent)):
            return f"line {line}: {source} -> {destination}"
    elsewhere = [(d, ln) for s, d, ln in copies(dockerfile) if source in s]
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


def site_folder(ctx: Context, front_end: str) -> Path:
    """`<front_end>/softy-pinko-front-end/` with an index.html; a submodule left empty, or one
    nobody can check out, says so."""
    folder = ctx.folder / front_end / SITE
    rel = ctx.rel(folder)
    if (folder / "index.html").is_file():
        return folder
    sub = next((s for s in files.submodules(ctx.original) if s.path == rel), None)
    empty = not folder.is_dir() or not any(folder.iterdir())
    if sub is not None and empty and not sub.url:
        raise Failed(
            f"the site's files in {rel}/",
            f"a submodule (commit {sub.commit[:7]}) that "
            ".gitmodules does not list: no clone can check it out",
            f"commit the files themselves: git rm --cached {rel}, copy the site in, git add {rel}",
            rel,
        )
    if sub is not None and empty:
        raise Failed(
            f"the site's files in {rel}/",
            f"an empty folder: a submodule of {sub.url} that was not checked out",
            "git submodule update --init --recursive (and clone with --recurse-submodules)",
            rel,
        )
    raise Failed(
        f"{rel}/index.html",
        "no such file" if folder.is_dir() else "no such folder",
        f"put the site's files in {rel}/",
        rel,
    )


def template_hint(ctx: Context, site: Path) -> str:
    """Where the page is a submodule that is not the learner's own: why edits may be missing."""
    rel = ctx.rel(site)
    sub = next((s for s in files.submodules(ctx.original) if s.path == rel), None)
    owner = files.origin_owner(ctx.original)
    if sub is not None and sub.url and owner and f"/{owner}/" not in sub.url.lower():
        return (
            f"; {rel} is a submodule of {sub.url} at {sub.commit[:7]}: edits made inside it "
            "were never committed to this repository"
        )
    return ""


def nginx_listens(conf: Path, port: int) -> int | None:
    for number, line in enumerate(conf.read_text(errors="replace").splitlines(), 1):
        if re.match(rf"^\s*listen\s+(?:[\w.\[\]:]*:)?{port}\b", line):
            return number
    return None


def page_shows(ctx: Context, url: str, ports: dict[int, int], expected: str, site: Path) -> str:
    """In a real browser, `url`'s #dynamic-content comes to read `expected`."""
    site_folder(ctx, str(site.parent.relative_to(ctx.folder)))  # a page is there to show
    view = probes.page_text(ctx.sandbox.browser(), url, ports, "#dynamic-content", expected, 15)
    if view.text == expected:
        return f"#dynamic-content reads {expected!r} in Chromium"
    telling = [m for m in view.console if re.search(r"api/hello|CORS|fetch", m, re.I)]
    said = f"; the page's console: {(telling or view.console)[-1][:200]}" if view.console else ""
    found = "no #dynamic-content element" if view.text is None else repr(view.text[:80])
    raise Failed(
        f"#dynamic-content to read {expected!r}",
        found + said + template_hint(ctx, site),
        "open the page with the browser's console: the script must fetch the API and set "
        "the element's text",
        ctx.rel(site / "index.html"),
    )
