#!/usr/bin/env python3
"""Bring a task's Compose stack up, wait for it to be healthy, check it, tear it down.

The one place that knows how to drive `docker compose` for this repo: `make up`/`make down`,
the tests and the CI workflow all go through it.

Usage:
  stack.py up   [--task taskN] [--project NAME] [--replicas N]
  stack.py down [--project NAME]
  stack.py ps   [--project NAME]
  stack.py logs [--project NAME]
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PROJECT = "softy-pinko"
# Services each task publishes, with the environment variable that overrides the host port.
PUBLISHED = {
    "back-end": ("BACK_END_PORT", 5252, "/api/hello"),
    "front-end": ("FRONT_END_PORT", 9000, "/"),
    "proxy": ("PROXY_PORT", 80, "/"),
}


class StackError(RuntimeError):
    """A stack did not come up as it should; the message says what and shows the logs."""


def compose_tasks() -> list[str]:
    """Tasks that have a Compose file, oldest first."""
    return sorted((p.parent.name for p in REPO.glob("task*/docker-compose.yml")),
                  key=lambda name: int(name.removeprefix("task")))


def latest_task() -> str:
    tasks = compose_tasks()
    return tasks[-1] if tasks else "task0"


def compose_cmd(task: str, project: str) -> list[str]:
    return ["docker", "compose", "--project-name", project,
            "--file", str(REPO / task / "docker-compose.yml")]


def compose(task: str, project: str, *args: str, env: dict | None = None,
            check: bool = True, capture: bool = False,
            timeout: float | None = 600) -> subprocess.CompletedProcess:
    cmd = compose_cmd(task, project) + list(args)
    proc = subprocess.run(cmd, text=True, capture_output=capture,
                          env={**os.environ, **(env or {})}, timeout=timeout)
    if check and proc.returncode != 0:
        raise StackError(f"`docker compose {' '.join(args)}` failed for {project} "
                         f"(exit {proc.returncode}):\n{(proc.stdout or '')[-2000:]}"
                         f"{(proc.stderr or '')[-2000:]}")
    return proc


@dataclasses.dataclass
class Container:
    """What `docker inspect` says of one container, in the fields this repo reads."""
    id: str
    name: str
    service: str             # Compose's service label ("" outside Compose)
    number: int              # Compose's container number
    state: str               # created, running, restarting, exited, ...
    health: str              # healthy, unhealthy, starting; "" without a healthcheck
    health_log: str          # the last healthcheck's exit code and output, on one line
    exit_code: int
    image: str               # the ID of the image it runs
    config_hash: str         # Compose's hash of the service's configuration when it was made
    image_label: str         # Compose's record of the image ID it was made from
    hostname: str
    networks: dict[str, dict]  # network name -> its endpoint settings (Aliases, IPAddress, ...)
    mounts: list[dict]

    @classmethod
    def from_inspect(cls, data: dict) -> Container:
        labels = data["Config"].get("Labels") or {}
        health = data["State"].get("Health") or {}
        last = (health.get("Log") or [{}])[-1]
        output = " ".join(last.get("Output", "").split())[-200:]
        return cls(
            id=data["Id"], name=data["Name"].lstrip("/"),
            service=labels.get("com.docker.compose.service", ""),
            number=int(labels.get("com.docker.compose.container-number", "0") or 0),
            state=data["State"]["Status"], health=health.get("Status", ""),
            health_log=(f"exit {last['ExitCode']}, " + (repr(output) if output else "no output")
                        if last else ""),
            exit_code=data["State"].get("ExitCode", 0), image=data["Image"],
            config_hash=labels.get("com.docker.compose.config-hash", ""),
            image_label=labels.get("com.docker.compose.image", ""),
            hostname=data["Config"].get("Hostname", ""),
            networks=data["NetworkSettings"].get("Networks") or {},
            mounts=data.get("Mounts") or [])


def inspect_containers(*ids: str) -> list[Container]:
    """Many containers in one `docker inspect` (a vanished one is left out)."""
    if not ids:
        return []
    proc = subprocess.run(["docker", "container", "inspect", *ids], capture_output=True,
                          text=True)
    return [Container.from_inspect(data) for data in json.loads(proc.stdout or "[]")]


def project_containers(project: str, service: str | None = None) -> list[Container]:
    """Every container of a Compose project (or of one of its services), in any state."""
    filters = ["--filter", f"label=com.docker.compose.project={project}"]
    if service:
        filters += ["--filter", f"label=com.docker.compose.service={service}"]
    ids = subprocess.run(["docker", "ps", "-aq", "--no-trunc", *filters], check=True,
                         capture_output=True, text=True).stdout.split()
    return sorted(inspect_containers(*ids), key=lambda c: (c.service, c.number))


def containers(project: str) -> list[dict]:
    """Every container of a Compose project (running or not): Names, State, Service."""
    # Named fields only: `{{json .}}` makes the engine compute each container's size, which
    # takes seconds on a fuse-overlayfs storage driver.
    out = subprocess.run(
        ["docker", "ps", "-a", "--filter", f"label=com.docker.compose.project={project}",
         "--format", '{{.Names}}\t{{.State}}\t{{.Label "com.docker.compose.service"}}'],
        check=True, capture_output=True, text=True).stdout
    return [dict(zip(("Names", "State", "Service"), line.split("\t")))
            for line in out.splitlines() if line.strip()]


def health(container: str) -> tuple[str, str]:
    """(state, health) of one container; health is '' when it has no healthcheck."""
    out = subprocess.run(
        ["docker", "inspect", "--format",
         "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}", container],
        capture_output=True, text=True).stdout.split()
    return (out[0], out[1] if len(out) > 1 else "") if out else ("gone", "")


def wait_container_healthy(name: str, timeout: float = 90) -> float:
    """Wait until one container runs and is healthy; seconds it took. Fails at once, with its
    log, when the container stops or Docker declares it unhealthy, and when the deadline passes."""
    started = time.monotonic()
    while (state := health(name)) != ("running", "healthy"):
        if state[0] not in ("running", "created") or state[1] == "unhealthy" \
                or time.monotonic() - started > timeout:
            tail = subprocess.run(["docker", "logs", "--tail", "40", name],
                                  capture_output=True, text=True)
            raise StackError(f"{name} is {'/'.join(filter(None, state))}, not running and "
                             f"healthy, after {time.monotonic() - started:.0f}s:\n"
                             f"{tail.stdout}{tail.stderr}")
        time.sleep(0.5)
    return time.monotonic() - started


def unhealthy(project: str) -> list[str]:
    """Containers that are not running-and-healthy, as 'name: state/health' lines."""
    problems = []
    for row in containers(project):
        state, status = health(row["Names"])
        if state != "running" or status not in ("healthy", ""):
            problems.append(f"{row['Names']}: {state}{'/' + status if status else ''}")
    return problems


def wait_healthy(project: str, timeout: float = 120, expect: dict[str, int] | None = None) -> float:
    """Wait until every container of the project runs and is healthy; seconds it took.

    `expect` maps service names to the number of containers there must be. Raises StackError
    with the states and the logs when the deadline passes.
    """
    started = time.monotonic()
    while True:
        rows = containers(project)
        counts: dict[str, int] = {}
        for row in rows:
            counts[row["Service"]] = counts.get(row["Service"], 0) + 1
        count_ok = all(counts.get(s, 0) == n for s, n in (expect or {}).items())
        problems = unhealthy(project)
        if rows and count_ok and not problems:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise StackError(
                f"project {project} not healthy after {timeout:.0f}s: "
                f"{'; '.join(problems) or f'containers per service {counts}, expected {expect}'}"
                f"\n{logs(project)}")
        time.sleep(0.5)


def wait_serving(url: str, replicas: int, timeout: float = 15) -> set[str]:
    """Wait until `replicas` different replicas answer `url` through the proxy, which re-reads
    Docker's DNS every second: a replica that has just turned healthy can be a second away.
    Returns the replicas' names (X-Served-By)."""
    deadline = time.monotonic() + timeout
    seen: set[str] = set()
    last = ""
    while time.monotonic() < deadline:
        seen = set()
        for _ in range(2 * replicas):
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    seen.add(response.headers.get("X-Served-By", ""))
            except (urllib.error.URLError, OSError) as error:
                last = str(error)
        if len(seen) == replicas:
            return seen
        time.sleep(0.2)
    raise StackError(f"{url}: {len(seen)} of {replicas} replicas answer after {timeout:.0f}s"
                     + (f" (last error: {last})" if last else ""))


def logs(project: str, tail: int = 40) -> str:
    parts = []
    for row in containers(project):
        proc = subprocess.run(["docker", "logs", "--tail", str(tail), row["Names"]],
                              capture_output=True, text=True)
        parts.append(f"--- {row['Names']} ---\n{proc.stdout}{proc.stderr}")
    return "\n".join(parts)


def is_running(project: str) -> bool:
    return any(row["State"] == "running" for row in containers(project))


def up(task: str, project: str, replicas: int | None = None, env: dict | None = None,
       timeout: float = 180, say=print) -> float:
    """Build and start a task's stack, detached; return the seconds until it was healthy.

    A stack that is already running is rolled instead (tools/rollout.py): what changed is
    replaced without failing a request. `up --wait` has exited 0 on this engine although a
    container had failed, so the states are asserted afterwards as well.
    """
    if is_running(project):
        import rollout  # here, not at the top: rollout is built on this module
        return rollout.deploy(task, project, replicas, env, timeout=min(timeout, 120), say=say)
    started = time.monotonic()
    args = ["up", "--detach", "--build", "--wait", "--wait-timeout", str(int(timeout)),
            "--remove-orphans", "--quiet-pull"]
    expect = None
    if replicas is not None:
        args += ["--scale", f"back-end={replicas}"]
        expect = {"back-end": replicas}
    proc = compose(task, project, *args, env=env, check=False, capture=True, timeout=timeout + 600)
    if proc.returncode != 0:
        raise StackError(f"docker compose up failed for {task} ({project}):\n"
                         f"{proc.stdout[-3000:]}{proc.stderr[-3000:]}\n{logs(project)}")
    wait_healthy(project, timeout=timeout, expect=expect)
    return time.monotonic() - started


def down(project: str, timeout: int = 10) -> None:
    """Stop and remove every container, network and anonymous volume of a project."""
    subprocess.run(["docker", "compose", "--project-name", project, "down", "--remove-orphans",
                    "--volumes", "--timeout", str(timeout)], check=True, capture_output=True,
                   text=True)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def urls(task: str, project: str) -> list[str]:
    lines = []
    for service, (_, container_port, path) in PUBLISHED.items():
        proc = compose(task, project, "port", service, str(container_port), check=False,
                       capture=True)
        host_port = proc.stdout.strip().rsplit(":", 1)[-1] if proc.returncode == 0 else ""
        # Compose answers port 0 for a port that is exposed but not published.
        if host_port not in ("", "0"):
            lines.append(f"  {service:10} http://localhost:{host_port}{path}")
    return lines


def copy_task(task: str, root: Path, tag: str) -> Path:
    """A copy of a task's folder at `root` whose images are tagged `:tag` instead of `:taskN`,
    so a test or a benchmark can change and ship it without touching the repo or its images."""
    shutil.copytree(REPO / task, root)
    compose_file = root / "docker-compose.yml"
    compose_file.write_text(compose_file.read_text().replace(f":{task}", f":{tag}"))
    return root


def remove_images(tag: str) -> None:
    images = subprocess.run(["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}",
                             "--filter", f"reference=*:{tag}"],
                            capture_output=True, text=True).stdout.split()
    if images:
        subprocess.run(["docker", "image", "rm", "--force", *images], capture_output=True)


def run_task0() -> None:
    subprocess.run(["docker", "build", "--quiet", "-t", "softy-pinko:task0", str(REPO / "task0")],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["docker", "run", "--rm", "softy-pinko:task0"], check=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down", "ps", "logs"])
    parser.add_argument("--task", default=None, help="default: the highest task with a compose file")
    parser.add_argument("--project", default=DEFAULT_PROJECT)
    parser.add_argument("--replicas", type=int, default=int(os.environ.get("REPLICAS", "2")),
                        help="API replicas for task6 (default: $REPLICAS or 2)")
    args = parser.parse_args(argv[1:])
    task = args.task or latest_task()

    if args.command == "down":
        down(args.project)
        left = containers(args.project)
        if left:
            print(f"error: containers left behind: {[c['Names'] for c in left]}", file=sys.stderr)
            return 1
        print(f"stack {args.project} is down")
        return 0
    if args.command == "logs":
        print(logs(args.project, tail=200))
        return 0
    if args.command == "ps":
        for row in containers(args.project):
            state, status = health(row["Names"])
            print(f"{row['Names']:40} {state:10} {status}")
        return 0
    if task == "task0":
        run_task0()
        return 0
    replicas = args.replicas if Path(task).name == "task6" else None
    print(f"[up] {task} as project {args.project}"
          + (f" with {replicas} API replicas" if replicas else ""), flush=True)
    try:
        seconds = up(task, args.project, replicas=replicas,
                     say=functools.partial(print, flush=True))
    except StackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"[up] {task} is healthy after {seconds:.1f}s. Open:")
    print("\n".join(urls(task, args.project)))
    print("Stop it with: make down")
    return 0


if __name__ == "__main__":
    # The module as `stack`, the copy rollout.py imports, so its StackError is the one caught.
    import stack as this
    sys.exit(this.main(sys.argv))
