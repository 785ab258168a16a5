"""Reading a learner's files as the checks need them: a Dockerfile's instructions with their
line numbers, the packages its `pip3 install`s name, a page's element and the URLs its scripts
fetch, a Compose file with the line of each key, and what git says of a submodule folder."""

from __future__ import annotations

import dataclasses
import difflib
import html.parser
import re
import shlex
from pathlib import Path
from typing import Any

from softy_pinko_docker.docker import run
from softy_pinko_docker.dockerfiles import Instruction


def shell_commands(instruction: Instruction) -> list[list[str]]:
    """A RUN's commands (its shell text split on && || ; | and newlines, and each heredoc's
    lines), each a list of words; the exec form is one command."""
    if instruction.exec_form:
        return [list(instruction.arguments)]
    commands: list[list[str]] = []
    value = instruction.value
    if instruction.heredocs:  # `RUN <<EOF`: the marker is no command, the document's lines are
        value = re.sub(r"<<-?\s*[\"']?\w+[\"']?", "", value)
    text = "\n".join([value, *instruction.heredocs])
    for part in re.split(r"&&|\|\||;|\||\n", text):
        try:
            tokens = shlex.split(part)
        except ValueError:
            tokens = part.split()
        if tokens:
            commands.append(tokens)
    return commands


_PIP = re.compile(r"^(?:pip3?(?:\.\d+)?)$")
_OPTIONS_WITH_VALUE = {
    "-r",
    "--requirement",
    "-c",
    "--constraint",
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "-t",
    "--target",
    "--python",
    "--prefix",
    "--root",
    "--trusted-host",
    "--cache-dir",
    "--log",
    "--proxy",
    "--timeout",
    "--retries",
    "--src",
    "--progress-bar",
    "--platform",
    "--python-version",
    "--implementation",
    "--abi",
    "--upgrade-strategy",
    "--config-settings",
    "-C",
    "--global-option",
}


def _pip_arguments(words: list[str]) -> list[str] | None:
    """What follows `pip3` (or pip, a venv's pip, `python3 -m pip`) in a command, or None."""
    for index, word in enumerate(words):
        name = word.rsplit("/", 1)[-1]
        if _PIP.match(name):
            return words[index + 1 :]
        if re.match(r"^python3?(?:\.\d+)?$", name) and words[index + 1 : index + 3] == [
            "-m",
            "pip",
        ]:
            return words[index + 3 :]
    return None


def pip_installs(words: list[str]) -> tuple[list[str], list[str]] | None:
    """(packages, requirements files) of a `pip3 install`, or None if `words` is not one."""
    rest = _pip_arguments(words)
    if rest is None:
        return None
    verbs = [
        w
        for i, w in enumerate(rest)
        if not w.startswith("-") and not (i and rest[i - 1] in _OPTIONS_WITH_VALUE)
    ]
    if not verbs or verbs[0] != "install":
        return None
    after = rest[rest.index("install") + 1 :]
    packages, files = [], []
    for index, word in enumerate(after):
        previous = after[index - 1] if index else ""
        if previous in ("-r", "--requirement"):
            files.append(word)
        elif word.startswith(("-r=", "--requirement=")):
            files.append(word.split("=", 1)[1])
        elif not word.startswith("-") and previous not in _OPTIONS_WITH_VALUE:
            packages.append(word)
    return packages, files


def project_name(requirement: str) -> str:
    """`Flask_CORS==6.0` -> `flask-cors` (PEP 503's normalised name)."""
    name = re.split(r"[\s\[<>=!~;@]", requirement.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements_names(path: Path) -> list[str]:
    names = []
    for raw in path.read_text(errors="replace").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.append(project_name(line))
    return names


# --- where a learner's files are -----------------------------------------------------------------
def near_names(folder: Path, name: str) -> list[Path]:
    """Files in `folder` that are `name` misspelled, best first: another letter case
    (`DockerFile`), a word around it (`0.dockerfile`, `Dockerfile.backend`), or a letter or two
    off (`2-api-server.txt`, `sofy-pinko-front-end.conf`)."""
    if not folder.is_dir():
        return []
    entries = {e.name.lower(): e for e in sorted(folder.iterdir()) if e.is_file()}
    wanted = name.lower()
    if wanted in entries and entries[wanted].name != name:
        return [entries[wanted]]
    close = difflib.get_close_matches(wanted, list(entries), n=3, cutoff=0.8)
    around = [n for n in entries if wanted in n and n != wanted and n not in close]
    return [entries[n] for n in [*close, *around] if entries[n].name != name]


def nested_tasks(repository: Path) -> str:
    """The folder (one or two levels down) that holds the task folders, when the repository's
    root holds none: `holbertonschool-softy-pinko-docker` for a clone inside a clone. ""
    when the tasks are at the root, or nowhere."""
    if any((repository / f"task{n}").is_dir() for n in range(7)):
        return ""
    for depth in ("*", "*/*"):
        for folder in sorted(repository.glob(depth)):
            if (
                folder.is_dir()
                and not folder.name.startswith(".")
                and any((folder / f"task{n}").is_dir() for n in range(7))
            ):
                return str(folder.relative_to(repository))
    return ""


def mentions(folder: Path, name: str) -> list[tuple[Path, int]]:
    """The lines of the text files in `folder` that name `name` as a word: what a rename of
    `name` has to change too (a Dockerfile's COPY, a Compose file's `dockerfile:`)."""
    found = []
    pattern = re.compile(rf"(?<![\w.-]){re.escape(name)}(?![\w-])")
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.stat().st_size > 200_000:
            continue
        text = path.read_bytes().decode(errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if pattern.search(line):
                found.append((path, number))
    return found


# --- the page ---------------------------------------------------------------------------------
@dataclasses.dataclass
class Element:
    tag: str
    line: int
    text: str = ""


class _PageParser(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.elements: dict[str, Element] = {}
        self.inline_scripts: list[str] = []
        self.script_sources: list[str] = []
        self._open: Element | None = None
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        element_id = attributes.get("id")
        if element_id:
            element = Element(tag, self.getpos()[0])
            self.elements.setdefault(element_id, element)
            if element_id == "dynamic-content":
                self._open = element
        if tag == "script":
            if attributes.get("src"):
                self.script_sources.append(attributes["src"] or "")
            self._in_script = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False
        if self._open is not None and tag == self._open.tag:
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.inline_scripts.append(data)
        if self._open is not None:
            self._open.text += data


@dataclasses.dataclass
class Page:
    path: Path
    elements: dict[str, Element]
    scripts: dict[Path, str]  # every script the page runs: inline ones under the page's path


def read_page(site: Path) -> Page | None:
    index = site / "index.html"
    if not index.is_file():
        return None
    parser = _PageParser()
    parser.feed(index.read_text(errors="replace"))
    scripts = {index: "\n".join(parser.inline_scripts)}
    for source in parser.script_sources:
        if re.match(r"^(?:[a-z]+:)?//", source):
            continue  # another site's script: not the learner's
        script = (site / source.lstrip("/")).resolve()
        if script.is_file() and script.is_relative_to(site.resolve()):
            scripts[script] = script.read_text(errors="replace")
    return Page(index, parser.elements, scripts)


@dataclasses.dataclass(frozen=True)
class Fetch:
    path: Path
    line: int
    url: str
    composed: bool  # built from parts (`API + '/api/hello'`, `${base}/api/hello`)


def fetched_urls(page: Page) -> list[Fetch]:
    """Every URL the page's scripts name that ends in /api/hello."""
    found = []
    for path, text in page.scripts.items():
        for number, line in enumerate(text.splitlines(), 1):
            for match in re.finditer(r"""["'`]([^"'`\s]*/api/hello)\b""", line):
                url = match.group(1)
                joined = bool(re.search(r"\+\s*$", line[: match.start()])) or "${" in url
                found.append(Fetch(path, number, url, joined))
    return found


# --- Compose files ---------------------------------------------------------------------------
def compose_raw(path: Path) -> Any:
    """The file as ruamel.yaml reads it, keys carrying their line (`.lc`)."""
    from ruamel.yaml import YAML

    return YAML(typ="rt").load(path.read_text())


def key_line(node: Any, *keys: str | int) -> int | None:
    """The 1-based line of `node[keys...]` in a ruamel document, or the nearest parent's."""
    line = None
    for key in keys:
        try:
            line = (node.lc.item(key) if isinstance(key, int) else node.lc.key(key))[0] + 1
            node = node[key]
        except (AttributeError, KeyError, IndexError, TypeError):
            break
    return line


# --- git ----------------------------------------------------------------------------------------
# A learner's own .git/config may name programs to run (core.fsmonitor): not here.
GIT = ["git", "-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null"]


@dataclasses.dataclass(frozen=True)
class Submodule:
    path: str  # relative to the repository
    url: str  # from .gitmodules ("" when it is not registered there)
    commit: str  # what the repository records


def submodules(repo: Path) -> list[Submodule]:
    """Folders the repository records as submodules (gitlinks), with their .gitmodules URL."""
    listed = run([*GIT, "-C", str(repo), "ls-files", "-s"], check=False, timeout=30)
    if listed.returncode != 0:
        return []
    urls: dict[str, str] = {}
    config = run(
        [*GIT, "-C", str(repo), "config", "-f", ".gitmodules", "--get-regexp", r"\.url$"],
        check=False,
        timeout=30,
    )
    paths = run(
        [*GIT, "-C", str(repo), "config", "-f", ".gitmodules", "--get-regexp", r"\.path$"],
        check=False,
        timeout=30,
    )
    by_name = {
        k.rsplit(".", 1)[0]: v
        for k, _, v in (ln.partition(" ") for ln in config.stdout.splitlines())
    }
    for key, _, path in (ln.partition(" ") for ln in paths.stdout.splitlines()):
        urls[path] = by_name.get(key.rsplit(".", 1)[0], "")
    found = []
    for line in listed.stdout.splitlines():
        meta, _, path = line.partition("\t")
        mode, commit, *_ = meta.split()
        if mode == "160000":
            found.append(Submodule(path, urls.get(path, ""), commit))
    return found


def origin_owner(repo: Path) -> str:
    """The account the repository's `origin` belongs to (github.com/<owner>/…), or ""."""
    said = run([*GIT, "-C", str(repo), "remote", "get-url", "origin"], check=False, timeout=30)
    match = re.search(r"github\.com[:/]([^/]+)/", said.stdout)
    return match.group(1).lower() if match else ""
