"""The curriculum's checks, run on any learner's repository: `make check REPO=path`.

One module per task (task0.py ... task6.py) holds that task's checks, in the order they run,
each a small function named for what it proves, declared with the statement's requirement and
the checks it needs (registry.py). `make check LIST=1` prints them all. What they share lives
in steps.py (Dockerfiles, builds, servers, the page) and stacks.py (the Compose tasks); what may
run, and how, in policy.py and sandbox.py; what they print and write in report.py.
"""

from tools.check import task0, task1, task2, task3, task4, task5, task6  # noqa: F401 - registers
from tools.check.registry import CHECKS

TASKS = [f"task{n}" for n in range(7)]
# Each task's statement, in the words each of its checks comes from: (words, when it warns).
STATEMENTS: dict[str, dict[str, tuple[str, str]]] = {
    module.__name__.rsplit(".", 1)[-1]: module.STATEMENT
    for module in (task0, task1, task2, task3, task4, task5, task6)
}
__all__ = ["CHECKS", "STATEMENTS", "TASKS"]
