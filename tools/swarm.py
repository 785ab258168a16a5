#!/usr/bin/env python3
"""Run task6 on Docker Swarm: deploy it as a stack, wait until healthy, remove it.

`make swarm-up` / `make swarm-down` and tests/test_swarm.py go through here. The engine is left
as it was found: `up` makes the engine a single-node swarm only when it is in none, records that
on the node itself (a node label), and `down` leaves the swarm only then, and only when no other
stack is deployed on it.

Usage:
  swarm.py up   [--stack NAME] [--replicas N]
  swarm.py down [--stack NAME]
  swarm.py ps   [--stack NAME]

Environment: PROXY_PORT (default 80), REPLICAS (default 2), SWARM_ADVERTISE_ADDR (default
127.0.0.1: the swarm's control port listens on loopback only; give a routable address to let
other nodes join, see task6/README.md).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import stack  # noqa: E402

REPO = stack.REPO
TASK = "task6"
STACK_FILE = REPO / TASK / "docker-stack.yml"
DEFAULT_STACK = "softy-pinko"
# Node labels that record what `up` changed on the engine, so `down` undoes exactly that.
CREATED_LABEL = "softy-pinko.swarm-created"
GWBRIDGE_LABEL = "softy-pinko.gwbridge-created"
NAMESPACE_LABEL = "com.docker.stack.namespace"


class SwarmError(RuntimeError):
    """The engine or the stack is not in the state asked for; the message says why."""


def docker(*args: str, check: bool = True, timeout: float = 120) -> str:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise SwarmError(f"`docker {' '.join(args)}` failed (exit {proc.returncode}): "
                         f"{(proc.stderr or proc.stdout).strip()[-1500:]}")
    return proc.stdout


# --------------------------------------------------------------------------------------------
# The engine's swarm membership
# --------------------------------------------------------------------------------------------
def engine_state() -> dict:
    """What `down` must restore: swarm membership, and whether docker_gwbridge exists."""
    state = docker("info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}")
    local, manager = state.split()
    return {"swarm": local, "manager": manager == "true",
            "gwbridge": bool(docker("network", "ls", "--quiet", "--filter",
                                    "name=^docker_gwbridge$").strip())}


def ensure_swarm() -> bool:
    """Make this engine a swarm manager if it is in no swarm; True when this call created it."""
    state = engine_state()
    if state["swarm"] == "active":
        if not state["manager"]:
            raise SwarmError("this engine is a swarm worker: deploy from a manager node")
        return False
    if state["swarm"] != "inactive":
        raise SwarmError(f"the engine's swarm state is {state['swarm']!r}; "
                         "fix it (docker swarm leave --force) and try again")
    address = os.environ.get("SWARM_ADVERTISE_ADDR", "127.0.0.1")
    docker("swarm", "init", "--advertise-addr", address, "--listen-addr", f"{address}:2377")
    labels = ["--label-add", f"{CREATED_LABEL}=true"]
    if not state["gwbridge"]:  # `swarm init` creates it; `swarm leave` does not remove it
        labels += ["--label-add", f"{GWBRIDGE_LABEL}=true"]
    try:
        docker("node", "update", *labels, node_id())
    except SwarmError:
        _leave(remove_gwbridge=not state["gwbridge"])  # unrecorded, so undo it now
        raise
    print(f"[swarm] this engine is now a single-node swarm (advertising {address}); "
          "`make swarm-down` leaves it", flush=True)
    return True


def node_id() -> str:
    return docker("info", "--format", "{{.Swarm.NodeID}}").strip()


def node_label(label: str) -> bool:
    out = docker("node", "inspect", node_id(), "--format",
                 f'{{{{index .Spec.Labels "{label}"}}}}', check=False)
    return out.strip() == "true"


def _leave(remove_gwbridge: bool) -> None:
    docker("swarm", "leave", "--force", timeout=60)
    if remove_gwbridge:
        # The network outlives the swarm; its last endpoints go a moment after the leave.
        deadline = time.monotonic() + 30
        while docker("network", "ls", "--quiet", "--filter", "name=^docker_gwbridge$").strip():
            if docker("network", "rm", "docker_gwbridge", check=False) or \
                    time.monotonic() > deadline:
                break
            time.sleep(0.5)


def leave_if_created() -> str:
    """Leave the swarm if `ensure_swarm` created it and nothing else is deployed on it."""
    if engine_state()["swarm"] != "active" or not node_label(CREATED_LABEL):
        return "the engine's swarm membership is unchanged (it was not created by swarm-up)"
    others = docker("stack", "ls", "--format", "{{.Name}}").split()
    if others:
        return f"the swarm stays: other stacks run on it ({', '.join(others)})"
    _leave(remove_gwbridge=node_label(GWBRIDGE_LABEL))
    return "left the single-node swarm that swarm-up created"


# --------------------------------------------------------------------------------------------
# The stack
# --------------------------------------------------------------------------------------------
def build_images() -> None:
    """Swarm does not build: the Compose file builds and tags the images the stack file uses."""
    stack.compose(TASK, DEFAULT_STACK, "build", "--quiet", capture=True, timeout=900)


def deploy(name: str, env: dict | None = None) -> None:
    proc = subprocess.run(
        ["docker", "stack", "deploy", "--resolve-image", "never", "--prune", "--detach=true",
         "--compose-file", str(STACK_FILE), name],
        capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        raise SwarmError(f"docker stack deploy {name} failed: {proc.stderr.strip()[-1500:]}")


def services(name: str) -> dict[str, tuple[int, int]]:
    """Each service of the stack, by its short name: (running tasks, desired tasks)."""
    out = docker("service", "ls", "--filter", f"label={NAMESPACE_LABEL}={name}",
                 "--format", "{{.Name}}\t{{.Replicas}}")
    result = {}
    for line in out.splitlines():
        service, replicas = line.split("\t")
        running, desired = replicas.split()[0].split("/")
        result[service.removeprefix(f"{name}_")] = (int(running), int(desired))
    return result


def update_states(name: str) -> dict[str, str]:
    """Each service's rolling-update state ('' when it was never updated): updating,
    completed, paused, rollback_started, rollback_completed, ..."""
    ids = docker("service", "ls", "--quiet", "--filter", f"label={NAMESPACE_LABEL}={name}").split()
    if not ids:
        return {}
    out = docker("service", "inspect", "--format",
                 "{{.Spec.Name}}\t{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}", *ids)
    return {line.split("\t")[0].removeprefix(f"{name}_"): line.split("\t")[1]
            for line in out.splitlines() if "\t" in line}


def containers(name: str) -> list[dict]:
    """Running containers of the stack: Names, Service (short name), Health."""
    out = docker("ps", "--filter", f"label={NAMESPACE_LABEL}={name}", "--format",
                 '{{.Names}}\t{{.Label "com.docker.swarm.service.name"}}')
    rows = []
    for line in out.splitlines():
        names, service = line.split("\t")
        rows.append({"Names": names, "Service": service.removeprefix(f"{name}_"),
                     "Health": stack.health(names)[1]})
    return rows


def task_errors(name: str) -> str:
    """Why tasks failed, as Swarm recorded it: the first thing to read when a deploy hangs."""
    out = docker("stack", "ps", name, "--no-trunc", "--format",
                 "{{.Name}}\t{{.CurrentState}}\t{{.Error}}", check=False)
    return "\n".join(line for line in out.splitlines() if line.split("\t")[-1].strip())[-3000:]


def wait_ready(name: str, expect: dict[str, int] | None = None, timeout: float = 180) -> float:
    """Wait until every service runs its desired tasks, each healthy, and no more; seconds.

    `expect` also pins the desired count of some services (after a scale, say).
    """
    started = time.monotonic()
    while True:
        state = services(name)
        rows = containers(name)
        per_service: dict[str, int] = {}
        for row in rows:
            if row["Health"] == "healthy":
                per_service[row["Service"]] = per_service.get(row["Service"], 0) + 1
        problems = [f"{service}: {running}/{desired} running, "
                    f"{per_service.get(service, 0)} healthy"
                    for service, (running, desired) in state.items()
                    if not running == desired == per_service.get(service, 0)
                    or (expect and service in expect and desired != expect[service])]
        problems += [f"{row['Names']}: {row['Health'] or 'no healthcheck'}" for row in rows
                     if row["Health"] != "healthy"]
        updates = update_states(name)
        problems += [f"{service}: update {state}" for service, state in updates.items()
                     if state not in ("", "completed")]
        # A paused or rolled-back update will not go on by itself: say so now.
        stuck = [f"{service}: update {state}" for service, state in updates.items()
                 if state in ("paused", "rollback_paused", "rollback_completed")]
        if stuck:
            raise SwarmError(f"stack {name}: {'; '.join(stuck)}\n{task_errors(name)}")
        if state and not problems:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise SwarmError(f"stack {name} not ready after {timeout:.0f}s: "
                             f"{'; '.join(problems) or 'no services'}\n{task_errors(name)}")
        time.sleep(0.5)


def remove(name: str, timeout: float = 60) -> None:
    """Remove the stack and wait until its containers and networks are gone."""
    if engine_state()["swarm"] != "active":
        return
    docker("stack", "rm", name, check=False)
    deadline = time.monotonic() + timeout
    while (docker("ps", "-a", "--quiet", "--filter", f"label={NAMESPACE_LABEL}={name}").strip()
           or docker("network", "ls", "--quiet", "--filter",
                     f"label={NAMESPACE_LABEL}={name}").strip()):
        if time.monotonic() > deadline:
            raise SwarmError(f"stack {name} still has containers or networks after "
                             f"{timeout:.0f}s")
        time.sleep(0.5)


def up(name: str, replicas: int, proxy_port: int, timeout: float = 180) -> float:
    """Build, make sure of a swarm, deploy, wait until healthy; seconds it took."""
    started = time.monotonic()
    build_images()
    ensure_swarm()
    deploy(name, {"REPLICAS": str(replicas), "PROXY_PORT": str(proxy_port)})
    wait_ready(name, expect={"back-end": replicas}, timeout=timeout)
    return time.monotonic() - started


def down(name: str) -> str:
    remove(name)
    return leave_if_created()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down", "ps"])
    parser.add_argument("--stack", default=DEFAULT_STACK)
    parser.add_argument("--replicas", type=int, default=int(os.environ.get("REPLICAS", "2")))
    args = parser.parse_args(argv[1:])
    proxy_port = int(os.environ.get("PROXY_PORT", "80"))
    try:
        if args.command == "up":
            print(f"[swarm] deploying stack {args.stack} ({TASK}, {args.replicas} API replicas)",
                  flush=True)
            seconds = up(args.stack, args.replicas, proxy_port)
            print(f"[swarm] {args.stack} is healthy after {seconds:.1f}s. Open:\n"
                  f"  proxy      http://localhost:{proxy_port}/\n"
                  f"Scale with: docker service scale {args.stack}_back-end=3\n"
                  "Stop it with: make swarm-down")
        elif args.command == "down":
            remove(args.stack)
            print(f"[swarm] stack {args.stack} is removed; {leave_if_created()}")
        else:
            if engine_state()["swarm"] != "active":
                print("[swarm] this engine is in no swarm")
                return 0
            for service, (running, desired) in services(args.stack).items():
                print(f"{args.stack}_{service:12} {running}/{desired} running")
            for row in containers(args.stack):
                print(f"  {row['Names']:60} {row['Health']}")
    except (SwarmError, stack.StackError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
