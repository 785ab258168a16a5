"""How a tool's entry point ends: its exit code, and a failure as one line on stderr."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable

from softy_pinko_docker.docker import ToolError

ISSUES = "https://github.com/softy-pinko/softy-pinko-docker/issues"


def called_as(argv0: str, module: str) -> str:
    """The command as the person typed it: the one command and its subcommand (`softy-pinko-docker
    check`, `python -m softy_pinko_docker check`), an installed command's name (softy-pinko-check),
    else `python -m MODULE`."""
    name = os.path.basename(argv0)
    if argv0.startswith("python -m "):
        return argv0
    if name and not name.endswith(".py"):
        return name
    return f"python -m {module}"


def parser(argv: list[str], module: str, doc: str | None) -> argparse.ArgumentParser:
    """A tool's argument parser, named as the person called it (`called_as`); its description is
    the module's docstring.
    Every option is parsed before anything starts, so `--help` anywhere starts nothing."""
    return argparse.ArgumentParser(
        prog=called_as(argv[0] if argv else "", module),
        description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def from_environment(name: str, default: int) -> int:
    """An integer option's default: the environment variable make passes (NODES=3), else
    `default`."""
    value = os.environ.get(name) or str(default)
    if not value.isdigit():
        raise ToolError(f"{name}={value}: a whole number is needed")
    return int(value)


def run_main(
    main: Callable[[list[str]], int], argv: list[str] | None = None, name: str = ""
) -> int:
    """`main(argv)`'s exit code. A ToolError becomes `error: <its one line>` and exit 1; an
    interrupt, exit 130; anything else is a bug in the tools: one line saying so, exit 2.
    VERBOSE=1 adds the details (a ToolError's logs, a bug's traceback) above that line. `name`,
    the command the person typed, starts each line (a make target's tool: `error:` alone)."""
    said = f"{name}: " if name else ""
    verbose = bool(os.environ.get("VERBOSE"))
    try:
        return main(sys.argv if argv is None else argv)
    except ToolError as error:
        if error.details and verbose:
            print(error.details.rstrip(), file=sys.stderr)
        print(f"{said}error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{name}: interrupted" if name else "error: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - the promise: no traceback reaches a user
        if verbose:
            traceback.print_exc()
        print(
            f"{said}error: a bug in {name or __package__} ({type(error).__name__}: {error}); run "
            f"again with VERBOSE=1 for the traceback, and report it: {ISSUES}",
            file=sys.stderr,
        )
        return 2
