"""Every task's checks, registered by importing its module, and each statement's words."""

from softy_pinko_docker.check import task0, task1, task2, task3, task4, task5, task6
from softy_pinko_docker.check.registry import CHECKS

TASKS = [f"task{n}" for n in range(7)]
# Each task's statement, in the words each of its checks comes from: (words, when it warns).
STATEMENTS: dict[str, dict[str, tuple[str, str]]] = {
    module.__name__.rsplit(".", 1)[-1]: module.STATEMENT
    for module in (task0, task1, task2, task3, task4, task5, task6)
}
__all__ = ["CHECKS", "STATEMENTS", "TASKS"]
