#!/usr/bin/env python3
"""Run task6 on Docker Swarm: deploy it as a stack, wait until it serves, remove it.

`make swarm-up` / `make swarm-down` and tests/test_swarm.py go through here. The engine is left
as it was found: `up` makes the engine a single-node swarm only when it is in none, records that
on the node itself (a node label), and `down` leaves the swarm only then, and only when nothing
else runs on it.

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
import socket
import subprocess
import sys
import time
from datetime import datetime
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
# Each image's ID goes into its service's container labels: Swarm cannot see that a rebuilt
# local image with the same tag is new, but a changed label makes it roll the service.
IMAGE_ID_VARIABLES = {
    "softy-pinko-proxy:task6": "PROXY_IMAGE_ID",
    "softy-pinko-back-end:task6": "BACK_END_IMAGE_ID",
    "softy-pinko-front-end:task6": "FRONT_END_IMAGE_ID",
}
# `docker stack deploy --detach` and `docker stack config` need a CLI of this major version.
MIN_CLI_MAJOR = 26


class SwarmError(RuntimeError):
    """The engine or the stack is not in the state asked for; the message says why."""


def docker(*args: str, check: bool = True, timeout: float = 120,
           env: dict | None = None) -> str:
    try:
        proc = subprocess.run(["docker", *args], capture_output=True, text=True,
                              timeout=timeout, env={**os.environ, **(env or {})})
    except subprocess.TimeoutExpired:
        raise SwarmError(f"`docker {' '.join(args)}` did not finish within {timeout:.0f}s")
    if check and proc.returncode != 0:
        raise SwarmError(f"`docker {' '.join(args)}` failed (exit {proc.returncode}): "
                         f"{(proc.stderr or proc.stdout).strip()[-1500:]}")
    return proc.stdout


def check_cli() -> None:
    version = docker("version", "--format", "{{.Client.Version}}").strip()
    if int(version.split(".")[0]) < MIN_CLI_MAJOR:
        raise SwarmError(f"the docker CLI is {version}; `docker stack deploy --detach` needs "
                         f"{MIN_CLI_MAJOR}.0 or later")


# --------------------------------------------------------------------------------------------
# The engine's swarm membership
# --------------------------------------------------------------------------------------------
def engine_state() -> dict:
    """What `down` must restore: swarm membership, and whether docker_gwbridge exists."""
    state = docker("info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}")
    local, manager = state.split()
    return {"swarm": local, "manager": manager == "true", "gwbridge": gwbridge_exists()}


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
        raise SwarmError(f"the engine's swarm state is {state['swarm']!r}: wait for it to "
                         "settle, or see `docker info`")
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


def _leave(remove_gwbridge: bool, timeout: float = 30) -> None:
    docker("swarm", "leave", "--force", timeout=60)
    if not remove_gwbridge:
        return
    # The network outlives the swarm, and its last endpoints go a moment after the leave.
    deadline = time.monotonic() + timeout
    while gwbridge_exists():
        proc = subprocess.run(["docker", "network", "rm", "docker_gwbridge"],
                              capture_output=True, text=True)
        if proc.returncode != 0 and time.monotonic() > deadline:
            raise SwarmError(f"left the swarm, but docker_gwbridge is still in use after "
                             f"{timeout:.0f}s: {proc.stderr.strip()}")
        time.sleep(0.5)


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
def build_images() -> dict[str, str]:
    """Swarm does not build: the Compose file builds and tags the images the stack file uses.
    Returns the stack file's image-ID variables."""
    stack.compose(TASK, DEFAULT_STACK, "build", "--quiet", capture=True, timeout=900)
    return {variable: docker("image", "inspect", "--format", "{{.Id}}", image).strip()
            for image, variable in IMAGE_ID_VARIABLES.items()}


def deploy(name: str, env: dict) -> float:
    """`docker stack deploy` with `env` for the stack file; the engine's time it started."""
    check_cli()
    started = time.time()
    docker("stack", "deploy", "--resolve-image", "never", "--prune", "--detach=true",
           "--compose-file", str(STACK_FILE), name, env=env)
    return started


def services(name: str) -> dict[str, int]:
    """Each service of the stack by its short name, with the number of tasks it wants."""
    out = docker("service", "ls", "--filter", f"label={NAMESPACE_LABEL}={name}",
                 "--format", "{{.Name}}\t{{.Replicas}}")
    result = {}
    for line in out.splitlines():
        service, replicas = line.split("\t")
        result[service.removeprefix(f"{name}_")] = int(replicas.split()[0].split("/")[1])
    return result


def tasks(name: str) -> list[dict]:
    """The stack's tasks that should be running, on every node: Service and State.

    Swarm reports a task `Running` only once its healthcheck has passed (`Starting` before),
    so this is the health of every replica, wherever it runs."""
    out = docker("stack", "ps", name, "--filter", "desired-state=running", "--format",
                 "{{.Name}}\t{{.CurrentState}}", check=False)
    rows = []
    for line in out.splitlines():
        if "\t" in line:
            task, state = line.split("\t")
            rows.append({"Service": task.removeprefix(f"{name}_").split(".")[0],
                         "State": state.split()[0] if state else ""})
    return rows


def update_states(name: str) -> dict[str, tuple[str, float]]:
    """Each service's last rolling update: (state, when it started, as a Unix time); ('', 0)
    when it was never updated. States: updating, completed, paused, rollback_completed, ..."""
    ids = docker("service", "ls", "--quiet", "--filter", f"label={NAMESPACE_LABEL}={name}").split()
    if not ids:
        return {}
    out = docker("service", "inspect", "--format",
                 '{{.Spec.Name}}\t{{if .UpdateStatus}}{{.UpdateStatus.State}}\t'
                 '{{.UpdateStatus.StartedAt.Format "2006-01-02T15:04:05Z07:00"}}{{end}}', *ids)
    states = {}
    for line in out.splitlines():
        service, _, rest = line.partition("\t")
        state, _, started = rest.partition("\t")
        when = datetime.fromisoformat(started.replace("Z", "+00:00")).timestamp() if started else 0
        states[service.removeprefix(f"{name}_")] = (state, when)
    return states


def containers(name: str) -> list[dict]:
    """This node's running containers of the stack: Names, Service (short name), Health."""
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


def wait_ready(name: str, expect: dict[str, int] | None = None, timeout: float = 180,
               since: float | None = None) -> float:
    """Wait until every service runs exactly the tasks it wants, all healthy, with no update in
    progress; seconds it took. `expect` also pins the wanted count of some services (after a
    scale, say). An update paused, or rolled back after `since` (a Unix time), fails at once."""
    started = time.monotonic()
    while True:
        wanted = services(name)
        running: dict[str, int] = {}
        not_running = []
        for task in tasks(name):
            if task["State"] == "Running":
                running[task["Service"]] = running.get(task["Service"], 0) + 1
            else:
                not_running.append(f"{task['Service']}: a task is {task['State'] or 'new'}")
        problems = [f"{service}: {running.get(service, 0)}/{want} running and healthy"
                    for service, want in wanted.items() if running.get(service, 0) != want]
        problems += [f"{service}: wants {want}, not {wanted.get(service)}"
                     for service, want in (expect or {}).items() if wanted.get(service) != want]
        problems += not_running
        updates = update_states(name)
        problems += [f"{service}: update {state}" for service, (state, _) in updates.items()
                     if state in ("updating", "rollback_started")]
        # A paused update does not go on by itself, and a rolled-back one is not what was asked.
        stuck = [f"{service}: update {state}" for service, (state, when) in updates.items()
                 if state in ("paused", "rollback_paused")
                 or (state == "rollback_completed" and since is not None and when >= since - 1)]
        if stuck:
            raise SwarmError(f"stack {name}: {'; '.join(stuck)}\n{task_errors(name)}")
        if wanted and not problems:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise SwarmError(f"stack {name} not ready after {timeout:.0f}s: "
                             f"{'; '.join(problems) or 'no services'}\n{task_errors(name)}")
        time.sleep(0.5)


def remove(name: str, timeout: float = 60) -> None:
    """Remove the stack and wait until its containers, networks and volumes are gone (`stack rm`
    leaves a stack's volumes behind)."""
    if engine_state()["swarm"] != "active":
        return
    deadline = time.monotonic() + timeout
    while True:
        # Again each round: a network still in use by a stopping task is left the first time.
        proc = subprocess.run(["docker", "stack", "rm", name], capture_output=True, text=True)
        left = (docker("ps", "-a", "--quiet", "--filter", f"label={NAMESPACE_LABEL}={name}")
                + docker("network", "ls", "--quiet", "--filter",
                         f"label={NAMESPACE_LABEL}={name}")).split()
        if not left:
            volumes = docker("volume", "ls", "--quiet", "--filter",
                             f"label={NAMESPACE_LABEL}={name}").split()
            if volumes:
                docker("volume", "rm", *volumes)
            return
        if time.monotonic() > deadline:
            raise SwarmError(f"stack {name}: {len(left)} containers or networks left after "
                             f"{timeout:.0f}s: {proc.stderr.strip()[-500:]}")
        time.sleep(1)


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
        raise SwarmError(f"port {proxy_port} is already in use on 127.0.0.1 (`make down`? "
                         f"or choose another: PROXY_PORT=8080 make swarm-up)")
    image_ids = build_images()
    created = ensure_swarm()
    since = deploy(name, {"REPLICAS": str(replicas), "PROXY_PORT": str(proxy_port),
                          **image_ids})
    wait_ready(name, expect={"back-end": replicas}, timeout=timeout, since=since)
    stack.wait_serving(f"http://127.0.0.1:{proxy_port}/api/hello", replicas)
    return time.monotonic() - started, created


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
            seconds, _ = up(args.stack, args.replicas, proxy_port)
            print(f"[swarm] {args.stack} is healthy after {seconds:.1f}s. Open:\n"
                  f"  proxy      http://localhost:{proxy_port}/\n"
                  f"Scale with: docker service scale {args.stack}_back-end=3\n"
                  "Stop it with: make swarm-down")
        elif args.command == "down":
            print(f"[swarm] stack {args.stack} is removed; {down(args.stack)}")
        elif engine_state()["swarm"] != "active":
            print("[swarm] this engine is in no swarm")
        else:
            wanted = services(args.stack)
            for service, want in wanted.items():
                running = sum(1 for t in tasks(args.stack)
                              if t["Service"] == service and t["State"] == "Running")
                print(f"{args.stack}_{service:12} {running}/{want} running and healthy")
            for row in containers(args.stack):
                print(f"  {row['Names']:60} {row['Health']}")
    except (SwarmError, stack.StackError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
