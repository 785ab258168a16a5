"""Dockerfiles read as Docker reads them, everywhere in the project: the `dockerfile` package
wraps BuildKit's own parser (a byte-order mark, CRLF line ends, continuations with comments or
blank lines inside them, heredocs, the escape directive), so the checks, the sandbox, the base
images, the SBOM and the bench all see the instructions the engine will run."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import dockerfile


class Unreadable(ValueError):
    """Docker would refuse the file before building anything: the parser's reason."""


@dataclasses.dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case
    arguments: tuple[str, ...]  # as the parser splits them: a shell form's command is one
    flags: tuple[str, ...]  # --from=…, --chown=…, --mount=…
    exec_form: bool  # the JSON-array form: arguments are its items
    line: int  # where it starts, 1-based
    end_line: int
    heredocs: tuple[str, ...] = ()  # the bodies of `<<EOF` documents, in order

    @property
    def value(self) -> str:
        """What follows the keyword and its flags, continuations joined, as one line."""
        return " ".join(self.arguments)


def parse(text: str) -> list[Instruction]:
    try:
        commands = dockerfile.parse_string(text)
    except dockerfile.GoParseError as error:
        raise Unreadable(str(error)) from None
    return [
        Instruction(
            keyword=command.cmd.upper(),
            arguments=tuple(command.value),
            flags=tuple(command.flags),
            exec_form=command.json,
            line=command.start_line,
            end_line=command.end_line,
            heredocs=tuple(h.content for h in command.heredocs),
        )
        for command in commands
    ]


def read(path: Path) -> list[Instruction]:
    """The instructions of the Dockerfile at `path`; bytes that are not UTF-8 are read as the
    engine reads them, as replacement characters."""
    return parse(path.read_bytes().decode(errors="replace"))


def _substitute(value: str, args: dict[str, str]) -> str:
    """$NAME, ${NAME} and ${NAME:-default} from the Dockerfile's ARGs before its first FROM."""

    def repl(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        return args.get(name) or match.group(2) or ""

    return re.sub(r"\$\{(\w+)(?::?-([^}]*))?\}|\$(\w+)", repl, value)


@dataclasses.dataclass(frozen=True)
class Stage:
    base: str  # the image it starts from, ARGs expanded ("" for a stage of this file)
    name: str  # its AS name, lower case ("" when unnamed)
    instruction: Instruction  # its FROM


def stages(instructions: list[Instruction]) -> list[Stage]:
    """Each FROM: the image it pulls, or "" when it starts from an earlier stage or scratch."""
    global_args: dict[str, str] = {}
    named: set[str] = set()
    found: list[Stage] = []
    for instruction in instructions:
        if instruction.keyword == "ARG" and not found:
            for token in instruction.arguments:
                name, _, default = token.partition("=")
                global_args[name] = default.strip("\"'")
        if instruction.keyword != "FROM" or not instruction.arguments:
            continue
        image = _substitute(instruction.arguments[0], global_args)
        words = instruction.arguments
        name = words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else ""
        pulled = "" if image.lower() in named or image.lower() == "scratch" else image
        found.append(Stage(pulled, name, instruction))
        named.add(name)
    return found


def bases(instructions: list[Instruction]) -> list[str]:
    """The images a Dockerfile pulls, in order, each once."""
    return list(dict.fromkeys(s.base for s in stages(instructions) if s.base))


def bases_of(text: str) -> list[str]:
    """`bases` of a Dockerfile's text; none for a file Docker would refuse."""
    try:
        return bases(parse(text))
    except Unreadable:
        return []


def final_base(context: Path) -> str:
    """The image the last stage of `context`'s Dockerfile builds on ("" for none: scratch)."""
    found = bases(read(context / "Dockerfile"))
    return found[-1] if found else ""
