"""Run task6 on Docker Swarm: deploy it as a stack, wait until it serves, remove it.

`make swarm-up` / `make swarm-down` and tests/test_swarm.py go through here. The engine is left
as it was found: `up` makes the engine a single-node swarm only when it is in none, records that
on the node itself (a node label), and `down` leaves the swarm only then, and only when nothing
else runs on it.

Usage:
  softy-pinko-docker swarm up   [--stack NAME] [--replicas N]
  softy-pinko-docker swarm down [--stack NAME]
  softy-pinko-docker swarm ps   [--stack NAME]

Environment: PROXY_PORT (default 80), REPLICAS (default 2), SWARM_ADVERTISE_ADDR (default
127.0.0.1: the swarm's control port listens on loopback only; give a routable address to let
other nodes join, see docs/swarm.md).
"""

from __future__ import annotations

import dataclasses
import os
import socket
import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from softy_pinko_docker import REPO, cli
from softy_pinko_docker.compose import ComposeProject, wait_serving
from softy_pinko_docker.docker import (
    Container,
    ToolError,
    containers,
    docker,
    docker_json,
    image_id,
    poll,
    run,
)

TASK = "task6"
STACK_FILE = REPO / TASK / "docker-stack.yml"
DEFAULT_STACK = "softy-pinko"
# Node labels that record what `up` changed on the engine, so `down` undoes exactly that.
CREATED_LABEL = "softy-pinko.swarm-created"
GWBRIDGE_LABEL = "softy-pinko.gwbridge-created"
NAMESPACE_LABEL = "com.docker.stack.namespace"
# Each image's ID goes into its service's container labels: Swarm cannot see that a rebuilt
# local image with the same tag is new, but a changed label makes it roll the service.
IMAGE_ID_VARIABLES = {
    "softy-pinko-proxy:task6": "PROXY_IMAGE_ID",
    "softy-pinko-back-end:task6": "BACK_END_IMAGE_ID",
    "softy-pinko-front-end:task6": "FRONT_END_IMAGE_ID",
}
# `docker stack deploy --detach` and `docker stack config` need a CLI of this major version.
MIN_CLI_MAJOR = 26


class SwarmError(ToolError):
    """The engine or the stack is not in the state asked for; the message says why."""


def unix_time(rfc3339: str) -> float:
    """'2026-11-29T15:45:57.040934205Z' (nanoseconds, as the engine writes) as a Unix time."""
    seconds, _, fraction = rfc3339.rstrip("Z").partition(".")
    return datetime.fromisoformat(seconds + "+00:00").timestamp() + float(f"0.{fraction or 0}")


@dataclasses.dataclass(frozen=True)
class Service:
    name: str  # without the stack's prefix
    replicas: int | None  # the tasks it wants; None for a global service (one per node)
    update_state: str  # its last rolling update: updating, completed, paused, ... ("" if none)
    update_started: float  # when that update started (Unix time), 0 if none
    spec: dict[str, Any]
    endpoint: dict[str, Any]

    @classmethod
    def from_inspect(cls, data: dict[str, Any], stack: str) -> Service:
        update = data.get("UpdateStatus") or {}
        replicated = data["Spec"]["Mode"].get("Replicated")
        return cls(
            name=data["Spec"]["Name"].removeprefix(f"{stack}_"),
            replicas=replicated["Replicas"] if replicated else None,
            update_state=update.get("State", ""),
            update_started=unix_time(update["StartedAt"]) if update.get("StartedAt") else 0.0,
            spec=data["Spec"],
            endpoint=data.get("Endpoint") or {},
        )


@dataclasses.dataclass(frozen=True)
class Task:
    service: str  # without the stack's prefix
    state: str  # new, starting, running, failed, ... (running: its healthcheck passed)
    error: str
    container_id: str
    since: float  # when it reached that state (Unix time)
    node_id: str = ""


def check_cli() -> None:
    version = docker("version", "--format", "{{.Client.Version}}").strip()
    if int(version.split(".")[0]) < MIN_CLI_MAJOR:
        raise SwarmError(
            f"the docker CLI is {version}; `docker stack deploy --detach` needs "
            f"{MIN_CLI_MAJOR}.0 or later"
        )


# --------------------------------------------------------------------------------------------
# The engine's swarm membership
# --------------------------------------------------------------------------------------------
def engine_state() -> dict[str, Any]:
    """What `down` must restore: swarm membership, and whether docker_gwbridge exists."""
    info = docker_json("info", "--format", "{{json .Swarm}}")[0]
    return {
        "swarm": info["LocalNodeState"],
        "manager": bool(info.get("ControlAvailable")),
        "gwbridge": gwbridge_exists(),
    }


def gwbridge_exists() -> bool:
    return bool(docker("network", "ls", "--quiet", "--filter", "name=^docker_gwbridge$").strip())


def ensure_swarm() -> bool:
    """Make this engine a swarm manager if it is in no swarm; True when this call created it."""
    state = engine_state()
    if state["swarm"] == "active":
        if not state["manager"]:
            raise SwarmError("this engine is a swarm worker: deploy from a manager node")
        return False
    if state["swarm"] == "locked":
        raise SwarmError("the engine's swarm is locked: unlock it with `docker swarm unlock`")
    if state["swarm"] != "inactive":
        raise SwarmError(
            f"the engine's swarm state is {state['swarm']!r}: wait for it to "
            "settle, or see `docker info`"
        )
    address = os.environ.get("SWARM_ADVERTISE_ADDR", "127.0.0.1")
    docker("swarm", "init", "--advertise-addr", address, "--listen-addr", f"{address}:2377")
    labels = ["--label-add", f"{CREATED_LABEL}=true"]
    if not state["gwbridge"]:  # `swarm init` creates it; `swarm leave` does not remove it
        labels += ["--label-add", f"{GWBRIDGE_LABEL}=true"]
    try:
        docker("node", "update", *labels, node_id())
    except ToolError:
        _leave(remove_gwbridge=not state["gwbridge"])  # unrecorded, so undo it now
        raise
    print(
        f"[swarm] this engine is now a single-node swarm (advertising {address}); "
        "`make swarm-down` leaves it",
        flush=True,
    )
    return True


def node_id() -> str:
    return docker("info", "--format", "{{.Swarm.NodeID}}").strip()


def node_label(label: str) -> bool:
    labels = docker_json("node", "inspect", node_id())[0]["Spec"].get("Labels") or {}
    return labels.get(label) == "true"


def _leave(remove_gwbridge: bool, timeout: float = 30) -> None:
    docker("swarm", "leave", "--force", timeout=60)
    if remove_gwbridge:
        # The network outlives the swarm, and its last endpoints go a moment after the leave.
        poll(
            remove_gwbridge_now, timeout=timeout, what="docker_gwbridge to be removed", interval=0.5
        )


def remove_gwbridge_now() -> bool:
    run(["docker", "network", "rm", "docker_gwbridge"], check=False)
    return not gwbridge_exists()


def leave_if_created() -> str:
    """Leave the swarm if `ensure_swarm` created it and nothing else is deployed on it."""
    if engine_state()["swarm"] != "active" or not node_label(CREATED_LABEL):
        return "the engine's swarm membership is unchanged (it was not created by swarm-up)"
    # `leave --force` would take every service with it, stack or not.
    others = docker("service", "ls", "--format", "{{.Name}}").split()
    if others:
        return f"the swarm stays: other services run on it ({', '.join(others)})"
    _leave(remove_gwbridge=node_label(GWBRIDGE_LABEL))
    return "left the single-node swarm that swarm-up created"


# --------------------------------------------------------------------------------------------
# The stack
# --------------------------------------------------------------------------------------------
def build_images(name: str) -> dict[str, str]:
    """Swarm does not build: the Compose file builds and tags the images the stack file uses.
    Returns the stack file's image-ID variables."""
    ComposeProject.for_task(TASK, name).run("build", "--quiet", timeout=900)
    return {variable: image_id(image) for image, variable in IMAGE_ID_VARIABLES.items()}


def deploy(name: str, env: dict[str, str]) -> float:
    """`docker stack deploy` with `env` for the stack file; the engine's time it started."""
    check_cli()
    started = time.time()
    docker(
        "stack",
        "deploy",
        "--resolve-image",
        "never",
        "--prune",
        "--detach=true",
        "--compose-file",
        str(STACK_FILE),
        name,
        env=env,
    )
    return started


def services(name: str, ask: Callable[..., str] = docker) -> dict[str, Service]:
    """The stack's services by short name (`ask`: the docker CLI of the manager to ask; a
    cluster node's for cluster.py)."""
    filter_ = f"label={NAMESPACE_LABEL}={name}"
    ids = ask("service", "ls", "--quiet", "--filter", filter_).split()
    found = [
        Service.from_inspect(data, name)
        for data in (docker_json("service", "inspect", *ids, cli=ask) if ids else [])
    ]
    return {service.name: service for service in found}


def tasks(name: str, ask: Callable[..., str] = docker) -> list[Task]:
    """The stack's tasks that should be running, on every node. Swarm reports a task `running`
    only once its healthcheck has passed (`starting` before): the health of every replica,
    wherever it runs."""
    try:
        ids = ask("stack", "ps", "--quiet", "--filter", "desired-state=running", name).split()
    except ToolError:
        ids = []  # no such stack (yet, or any more)
    found = docker_json("inspect", "--type", "task", *ids, cli=ask) if ids else []
    service_ids = sorted({t["ServiceID"] for t in found})
    names = {
        data["ID"]: data["Spec"]["Name"].removeprefix(f"{name}_")
        for data in (
            docker_json("service", "inspect", *service_ids, cli=ask) if service_ids else []
        )
    }
    return [
        Task(
            service=names.get(t["ServiceID"], ""),
            state=t["Status"]["State"],
            error=t["Status"].get("Err", ""),
            container_id=(t["Status"].get("ContainerStatus") or {}).get("ContainerID", ""),
            since=unix_time(t["Status"]["Timestamp"]),
            node_id=t.get("NodeID", ""),
        )
        for t in found
    ]


def stack_containers(name: str) -> list[Container]:
    """This node's running containers of the stack."""
    return containers(f"label={NAMESPACE_LABEL}={name}", all_states=False)


def short_name(container: Container, stack: str) -> str:
    return container.service.removeprefix(f"{stack}_")


def task_errors(name: str) -> str:
    """Why tasks failed, as Swarm recorded it: the first thing to read when a deploy hangs."""
    ids = docker("stack", "ps", "--quiet", name, check=False).split()
    failed = [
        t
        for t in (docker_json("inspect", "--type", "task", *ids) if ids else [])
        if t["Status"].get("Err")
    ]
    return "; ".join(f"{t['Status']['State']}: {t['Status']['Err']}" for t in failed)[-1500:]


def readiness_problems(
    name: str, expect: dict[str, int] | None, since: float | None
) -> tuple[list[str], list[str]]:
    """(what is not ready yet, what will not get ready by itself) for `wait_ready`."""
    wanted, current = services(name), tasks(name)
    problems = [f"{t.service}: a task is {t.state}" for t in current if t.state != "running"]
    for service in wanted.values():
        running = sum(1 for t in current if t.service == service.name and t.state == "running")
        want = (
            service.replicas
            if service.replicas is not None
            else sum(1 for t in current if t.service == service.name)
        )
        if running != want:
            problems.append(f"{service.name}: {running}/{want} running and healthy")
        if expect and service.name in expect and service.replicas != expect[service.name]:
            problems.append(f"{service.name}: wants {service.replicas}, not {expect[service.name]}")
        if service.update_state in ("updating", "rollback_started"):
            problems.append(f"{service.name}: update {service.update_state}")
    # A paused update does not go on by itself, and a rolled-back one is not what was asked.
    stuck = [
        f"{s.name}: update {s.update_state}"
        for s in wanted.values()
        if s.update_state in ("paused", "rollback_paused")
        or (
            s.update_state == "rollback_completed"
            and since is not None
            and s.update_started >= since - 1
        )
    ]
    return (problems if wanted else ["no services"]), stuck


def wait_ready(
    name: str,
    expect: dict[str, int] | None = None,
    timeout: float = 180,
    since: float | None = None,
) -> float:
    """Wait until every service runs exactly the tasks it wants, all healthy, with no update in
    progress; seconds it took. `expect` also pins the wanted count of some services (after a
    scale, say). An update paused, or rolled back after `since` (a Unix time), fails at once."""
    started = time.monotonic()
    problems: list[str] = []

    def ready() -> bool:
        nonlocal problems
        problems, stuck = readiness_problems(name, expect, since)
        if stuck:
            raise SwarmError(f"stack {name}: {'; '.join(stuck)}; {task_errors(name)}")
        return not problems

    try:
        poll(ready, timeout=timeout, what=f"stack {name} to be ready", interval=0.5)
    except SwarmError:
        raise
    except ToolError:
        raise SwarmError(
            f"stack {name} not ready after {timeout:.0f}s: {'; '.join(problems)}; "
            f"{task_errors(name)}"
        ) from None
    return time.monotonic() - started


def remove(name: str, timeout: float = 60) -> None:
    """Remove the stack and wait until its containers, networks and volumes are gone (`stack rm`
    leaves a stack's volumes behind)."""
    if engine_state()["swarm"] != "active":
        return
    label = f"label={NAMESPACE_LABEL}={name}"

    def gone() -> bool:
        # Again each round: a network still in use by a stopping task is left the first time.
        run(["docker", "stack", "rm", name], check=False)
        return not (
            docker("ps", "-a", "--quiet", "--filter", label)
            + docker("network", "ls", "--quiet", "--filter", label)
        ).split()

    poll(gone, timeout=timeout, what=f"stack {name}'s containers and networks to go", interval=1)
    volumes = docker("volume", "ls", "--quiet", "--filter", label).split()
    if volumes:
        docker("volume", "rm", *volumes)


def port_taken(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def up(name: str, replicas: int, proxy_port: int, timeout: float = 180) -> tuple[float, bool]:
    """Build, make sure of a swarm, deploy, wait until every replica serves; (seconds it took,
    whether a swarm was created)."""
    started = time.monotonic()
    # A host-mode port that is taken only shows as a task that keeps failing: say so at once.
    redeploy = engine_state()["swarm"] == "active" and bool(services(name))
    if not redeploy and port_taken(proxy_port):
        raise SwarmError(
            f"port {proxy_port} is already in use on 127.0.0.1 (`make down`? "
            f"or choose another: PROXY_PORT=8080 make swarm-up)"
        )
    image_ids = build_images(name)
    created = ensure_swarm()
    since = deploy(name, {"REPLICAS": str(replicas), "PROXY_PORT": str(proxy_port), **image_ids})
    wait_ready(name, expect={"back-end": replicas}, timeout=timeout, since=since)
    wait_serving(f"http://127.0.0.1:{proxy_port}/api/hello", replicas)
    return time.monotonic() - started, created


def down(name: str) -> str:
    remove(name)
    return leave_if_created()


def print_ps(name: str) -> None:
    if engine_state()["swarm"] != "active":
        print("[swarm] this engine is in no swarm")
        return
    current = tasks(name)
    for service in services(name).values():
        mine = [t for t in current if t.service == service.name]
        want = service.replicas if service.replicas is not None else len(mine)
        running = sum(1 for t in mine if t.state == "running")
        print(f"{name}_{service.name:12} {running}/{want} running and healthy")
    for found in stack_containers(name):
        print(f"  {found.name:60} {found.health}")


def main(argv: list[str]) -> int:
    parser = cli.parser(argv, "softy_pinko_docker.swarm", __doc__)
    parser.add_argument("command", choices=["up", "down", "ps"])
    parser.add_argument("--stack", default=DEFAULT_STACK)
    parser.add_argument("--replicas", type=int, default=int(os.environ.get("REPLICAS", "2")))
    args = parser.parse_args(argv[1:])
    proxy_port = int(os.environ.get("PROXY_PORT", "80"))
    if args.command == "up":
        print(
            f"[swarm] deploying stack {args.stack} ({TASK}, {args.replicas} API replicas)",
            flush=True,
        )
        seconds, _ = up(args.stack, args.replicas, proxy_port)
        print(
            f"[swarm] {args.stack} is healthy after {seconds:.1f}s. Open:\n"
            f"  proxy      http://localhost:{proxy_port}/\n"
            f"Scale with: docker service scale {args.stack}_back-end=3\n"
            "Stop it with: make swarm-down"
        )
    elif args.command == "down":
        print(f"[swarm] stack {args.stack} is removed; {down(args.stack)}")
    else:
        print_ps(args.stack)
    return 0


if __name__ == "__main__":
    sys.exit(cli.run_main(main))
