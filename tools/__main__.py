"""The project's one command: every job the Makefile does, as a subcommand.

    python -m tools SUBCOMMAND [options]      python -m tools SUBCOMMAND --help

Each Makefile target is a one-line call of it. A subcommand is its module's own `main`, which
parses every option (environment variables are only defaults) before it starts anything.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from tools import cli

# subcommand: (module, what it does, the make targets that call it)
SUBCOMMANDS = {
    "stack": ("tools.stack", "a task's stack: up (or roll what changed), down, ps, logs",
              "up down ps logs"),
    "swarm": ("tools.swarm", "task6 as a Swarm stack: up, down, ps",
              "swarm-up swarm-down swarm-ps"),
    "cluster": ("tools.cluster", "task6 on a local swarm of engines in containers, or deploy "
                "to a real one", "cluster-up cluster-down cluster-ps cluster-deploy"),
    "bases": ("tools.baseimages", "base images: pulled, or stand-ins built offline", "bases"),
    "check": ("tools.check.__main__", "the curriculum's checks on a learner's repository",
              "check smoke"),
    "batch": ("tools.check.batch", "many learners' repositories checked into one table",
              "check REPOS=..."),
    "bench": ("tools.bench", "the proxy's cost, scaling, shipping a change, image sizes", "bench"),
    "charts": ("tools.charts", "the benchmark's charts, from reports/bench.json", "bench"),
    "lock": ("tools.locks", "the hash-checked locks: check, refresh, audit", "lock audit lint"),
    "sbom": ("tools.sbom", "a CycloneDX SBOM of each task's images", "sbom"),
    "browser": ("tools.browser", "a Chromium for the browser tests and the checker", "browser"),
}  # fmt: skip


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools",
        description=(__doc__ or "").split("\n\n")[0],
        epilog="Run `python -m tools SUBCOMMAND --help` for a subcommand's options.",
    )
    named = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")
    for name, (_, what, targets) in SUBCOMMANDS.items():
        named.add_parser(name, help=f"{what} (make {targets})", add_help=False)
    # Only the subcommand's name is read here: its options are its module's to parse.
    subcommand = parser.parse_args(argv[1:2]).subcommand
    module = importlib.import_module(SUBCOMMANDS[subcommand][0])
    said: int = module.main([f"python -m tools {subcommand}", *argv[2:]])
    return said


if __name__ == "__main__":
    sys.exit(cli.run_main(main))
