"""The curriculum's checks, run on any learner's repository: `make check REPO=path`.

One module per task (task0.py ... task6.py) holds that task's checks, in the order they run,
each a small function named for what it proves, declared with the statement's requirement and
the checks it needs (registry.py). `make check LIST=1` prints them all. What they share lives
in steps.py (Dockerfiles, builds, servers, the page) and stacks.py (the Compose tasks); what may
run, and how, in policy.py and sandbox.py; what they print and write in report.py.

Importing this package costs nothing: `CHECKS`, `STATEMENTS` and `TASKS` load the task modules
(catalog.py) when first asked for, so the command can catch Ctrl-C from its first instant.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing would cost the start what it saves
if TYPE_CHECKING:
    from softy_pinko_docker.check.catalog import CHECKS, STATEMENTS, TASKS

__all__ = ["CHECKS", "STATEMENTS", "TASKS"]


def __getattr__(name: str) -> object:  # PEP 562
    if name in __all__:
        from softy_pinko_docker.check import catalog

        return getattr(catalog, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
