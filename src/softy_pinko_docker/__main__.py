"""The project's one command: every job the Makefile does, as a subcommand.

    softy-pinko-docker SUBCOMMAND [options]       (installed; `python -m softy_pinko_docker` in a
    softy-pinko-docker SUBCOMMAND --help           checkout, which is what make runs)

Each Makefile target is a one-line call of it. A subcommand is its module's own `main`, which
parses every option (environment variables are only defaults) before it starts anything.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from softy_pinko_docker import cli

# subcommand: (its module in this package, what it does, the make targets that call it)
SUBCOMMANDS = {
    "stack": ("stack", "a task's stack: up (or roll what changed), down, ps, logs",
              "up down ps logs"),
    "swarm": ("swarm", "task6 as a Swarm stack: up, down, ps",
              "swarm-up swarm-down swarm-ps"),
    "cluster": ("cluster", "task6 on a local swarm of engines in containers, or deploy "
                "to a real one", "cluster-up cluster-down cluster-ps cluster-deploy"),
    "bases": ("baseimages.command", "base images: pulled, or stand-ins built offline", "bases"),
    "check": ("check.__main__", "the curriculum's checks on a learner's repository",
              "check smoke"),
    "batch": ("check.batch", "many learners' repositories checked into one table",
              "check REPOS=..."),
    "bench": ("bench.command", "the proxy's cost, scaling, shipping a change, image sizes",
              "bench"),
    "charts": ("bench.charts", "the benchmark's charts, from reports/bench.json", "bench"),
    "lock": ("locks", "the hash-checked locks: check, refresh, audit", "lock audit lint"),
    "sbom": ("sbom", "a CycloneDX SBOM of each task's images", "sbom"),
    "browser": ("browser", "a Chromium for the browser tests and the checker", "browser"),
}  # fmt: skip


def main(argv: list[str]) -> int:
    prog = cli.called_as(argv[0] if argv else "", __package__ or "softy_pinko_docker")
    parser = argparse.ArgumentParser(
        prog=prog,
        description=(__doc__ or "").split("\n\n")[0],
        epilog=f"Run `{prog} SUBCOMMAND --help` for a subcommand's options.",
    )
    named = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")
    for name, (_, what, targets) in SUBCOMMANDS.items():
        named.add_parser(name, help=f"{what} (make {targets})", add_help=False)
    # Only the subcommand's name is read here: its options are its module's to parse.
    subcommand = parser.parse_args(argv[1:2]).subcommand
    module = importlib.import_module(f"{__package__}.{SUBCOMMANDS[subcommand][0]}")
    said: int = module.main([f"{prog} {subcommand}", *argv[2:]])
    return said


def entry() -> None:
    """The installed command, softy-pinko-docker (pyproject.toml's [project.scripts])."""
    sys.exit(cli.run_main(main))


if __name__ == "__main__":
    entry()
