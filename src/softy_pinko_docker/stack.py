"""`make up`, `make down`, `make ps`, `make logs`: a task's stack as a Compose project.

Usage:
  softy-pinko-docker stack up   [--task taskN|FOLDER] [--project NAME] [--replicas N]
  softy-pinko-docker stack down [--project NAME]
  softy-pinko-docker stack ps   [--project NAME]
  softy-pinko-docker stack logs [--project NAME]

`up` starts a stopped stack and waits until it is healthy; on a stack that is running, it
ships what changed without failing a request (rollout.py).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable

from softy_pinko_docker import REPO, cli
from softy_pinko_docker.compose import ComposeProject, compose_tasks
from softy_pinko_docker.deploy.rollout import deploy
from softy_pinko_docker.docker import ToolError, build, docker

DEFAULT_PROJECT = "softy-pinko"


def latest_task() -> str:
    tasks = compose_tasks()
    return tasks[-1] if tasks else "task0"


def up(
    project: ComposeProject,
    replicas: int | None = None,
    timeout: float = 180,
    say: Callable[[str], None] = print,
) -> float:
    """Start the stack, or roll it if it runs; seconds until it was healthy."""
    if project.is_running():
        return deploy(project, replicas, timeout=min(timeout, 120), say=say)
    return project.up(replicas, timeout)


def run_task0() -> None:
    build("softy-pinko:task0", REPO / "task0")
    print(docker("run", "--rm", "softy-pinko:task0"), end="")


def command_up(project: ComposeProject, replicas: int | None) -> int:
    print(
        f"[up] {project.task} as project {project.name}"
        + (f" with {replicas} API replicas" if replicas else ""),
        flush=True,
    )
    seconds = up(project, replicas, say=functools.partial(print, flush=True))
    print(f"[up] {project.task} is healthy after {seconds:.1f}s. Open:")
    print("\n".join(project.urls()))
    print("Stop it with: make down")
    return 0


def command_down(project: ComposeProject) -> int:
    project.down()
    left = [c.name for c in project.containers()]
    if left:
        raise ToolError(
            f"containers left behind: {', '.join(left)}: remove them with `docker rm -f`"
        )
    print(f"stack {project.name} is down")
    return 0


def main(argv: list[str]) -> int:
    parser = cli.parser(argv, "softy_pinko_docker.stack", __doc__)
    parser.add_argument("command", choices=["up", "down", "ps", "logs"])
    parser.add_argument(
        "--task", default=None, help="default: the highest task with a compose file"
    )
    parser.add_argument("--project", default=DEFAULT_PROJECT)
    parser.add_argument(
        "--replicas",
        type=int,
        default=int(os.environ.get("REPLICAS", "2")),
        help="API replicas for task6 (default: $REPLICAS or 2)",
    )
    args = parser.parse_args(argv[1:])
    task = args.task or latest_task()
    project = ComposeProject.for_task(task, args.project)
    if args.command == "down":
        return command_down(project)
    if args.command == "logs":
        print(project.logs(tail=200))
        return 0
    if args.command == "ps":
        for found in project.containers():
            print(f"{found.name:40} {found.state:10} {found.health}")
        return 0
    if task == "task0":
        run_task0()
        return 0
    return command_up(project, args.replicas if project.task == "task6" else None)


if __name__ == "__main__":
    sys.exit(cli.run_main(main))
