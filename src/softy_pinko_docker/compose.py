"""ComposeProject: the one class that drives `docker compose` for this repo.

`make up`/`make down`, the checker, the benchmarks and the test suite all hold one of these:
a Compose file's folder, a project name, the environment that fills the file's variables (host
ports), and optional override files.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import shutil
import socket
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from softy_pinko_docker import REPO
from softy_pinko_docker.docker import (
    Completed,
    Container,
    ToolError,
    containers,
    docker,
    poll,
    provenance,
    run,
)
from softy_pinko_docker.load import KeepAliveClient

# Services a task publishes, with the variable that overrides the host port, the port inside
# the container and a path that answers there.
PUBLISHED = {
    "back-end": ("BACK_END_PORT", 5252, "/api/hello"),
    "front-end": ("FRONT_END_PORT", 9000, "/"),
    "proxy": ("PROXY_PORT", 80, "/"),
}


def compose_tasks() -> list[str]:
    """Tasks that have a Compose file, oldest first."""
    return sorted(
        (p.parent.name for p in REPO.glob("task*/docker-compose.yml")),
        key=lambda name: int(name.removeprefix("task")),
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def copy_task(task: str, root: Path, tag: str) -> Path:
    """A copy of a task's folder at `root` whose images are tagged `:tag` instead of `:taskN`,
    so a test or a benchmark can change and ship it without touching the repo or its images."""
    shutil.copytree(REPO / task, root)
    compose_file = root / "docker-compose.yml"
    compose_file.write_text(compose_file.read_text().replace(f":{task}", f":{tag}"))
    return root


@dataclasses.dataclass
class ComposeProject:
    directory: Path  # the folder of docker-compose.yml
    name: str  # the project name
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    overrides: tuple[Path, ...] = ()
    file: str = "docker-compose.yml"
    # `env` is all of Compose's environment, none of ours (make check: a learner's file is read
    # as on a learner's machine, and this repository's PROXY_PORT does not move its ports).
    env_only: bool = False

    @classmethod
    def for_task(cls, task: str, name: str, env: dict[str, str] | None = None) -> ComposeProject:
        """`task` is a task's name (`task6`) or the path of a folder with a Compose file."""
        return cls(REPO / task, name, dict(env or {}))

    @property
    def task(self) -> str:
        return self.directory.name

    def run(self, *args: str, timeout: float = 600, check: bool = True) -> Completed:
        files = [self.directory / self.file, *self.overrides]
        cmd = [
            "docker",
            "compose",
            "--project-name",
            self.name,
            *[arg for f in files for arg in ("--file", str(f))],
            *args,
        ]
        # The provenance build arguments (the Compose files pass them on), then the project's own.
        if self.env_only:
            return run(cmd, timeout=timeout, check=check, env=self.env, inherit_env=False)
        return run(cmd, timeout=timeout, check=check, env={**provenance(), **self.env})

    def out(self, *args: str, timeout: float = 600) -> str:
        return self.run(*args, timeout=timeout).stdout

    # --- state --------------------------------------------------------------------------
    def containers(self, service: str | None = None) -> list[Container]:
        """Every container of the project (or of one service), in any state."""
        filters = [f"label=com.docker.compose.project={self.name}"]
        if service:
            filters.append(f"label=com.docker.compose.service={service}")
        return containers(*filters)

    def running(self, service: str | None = None) -> list[Container]:
        return [c for c in self.containers(service) if c.state == "running"]

    def is_running(self) -> bool:
        return bool(self.running())

    def unhealthy(self) -> list[str]:
        """Containers that are not running-and-healthy, as 'name: state/health'."""
        return [f"{c.name}: {c.status}" for c in self.containers() if not c.running_and_healthy]

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = json.loads(self.out("config", "--format", "json"))
        return config

    def config_hashes(self) -> dict[str, str]:
        """Each service's configuration hash, as Compose labels its containers with."""
        lines = self.out("config", "--hash", "*").splitlines()
        return dict(line.split() for line in lines if line.strip())

    def port(self, service: str, container_port: int) -> int | None:
        """The host port a service publishes for `container_port`, or None."""
        proc = self.run("port", service, str(container_port), check=False)
        host_port = proc.stdout.strip().rsplit(":", 1)[-1]
        # Compose answers port 0 for a port that is exposed but not published.
        return int(host_port) if proc.returncode == 0 and host_port not in ("", "0") else None

    def urls(self) -> list[str]:
        lines = []
        for service, (_, container_port, path) in PUBLISHED.items():
            host_port = self.port(service, container_port)
            if host_port:
                lines.append(f"  {service:10} http://localhost:{host_port}{path}")
        return lines

    def logs(self, tail: int = 40) -> str:
        parts = []
        for found in self.containers():
            proc = run(["docker", "logs", "--tail", str(tail), found.name], check=False)
            parts.append(f"--- {found.name} ---\n{proc.stdout}{proc.stderr}")
        return "\n".join(parts)

    # --- changes ------------------------------------------------------------------------
    def up(self, replicas: int | None = None, timeout: float = 180) -> float:
        """Build and start the stack, detached; seconds until every container was healthy.

        `up --wait` has exited 0 on this engine although a container had failed, so the states
        are asserted afterwards as well."""
        started = time.monotonic()
        args = [
            "up",
            "--detach",
            "--build",
            "--wait",
            "--wait-timeout",
            str(int(timeout)),
            "--remove-orphans",
            "--quiet-pull",
        ]
        if replicas is not None:
            args += ["--scale", f"back-end={replicas}"]
        proc = self.run(*args, check=False, timeout=timeout + 600)
        if proc.returncode != 0:
            said = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise ToolError(
                f"`docker compose up` failed for {self.name}: {said}; see `make logs`",
                details=proc.stderr[-3000:] + self.logs(),
            )
        self.wait_healthy(timeout, None if replicas is None else {"back-end": replicas})
        return time.monotonic() - started

    def scale(self, service: str, count: int, wait: bool = True, timeout: float = 60) -> None:
        """Change the number of a service's containers in place; nothing else is touched.
        (Not `--wait`: it gives up at once on a container that is unhealthy for the moment.)"""
        self.run("up", "--detach", "--no-recreate", "--no-build", "--scale", f"{service}={count}")
        if wait:
            self.wait_healthy(timeout, {service: count})

    def down(self, timeout: int = 10) -> None:
        """Stop and remove every container, network and volume of the project."""
        docker(
            "compose",
            "--project-name",
            self.name,
            "down",
            "--remove-orphans",
            "--volumes",
            "--timeout",
            str(timeout),
            timeout=timeout + 120,
        )

    # --- waits --------------------------------------------------------------------------
    def wait_healthy(self, timeout: float = 120, expect: dict[str, int] | None = None) -> float:
        """Wait until every container runs and is healthy and `expect` (service -> count)
        holds; seconds it took."""
        started = time.monotonic()

        def healthy() -> bool:
            found = self.containers()
            counts = {s: sum(1 for c in found if c.service == s) for s in (expect or {})}
            return (
                bool(found)
                and counts == (expect or {})
                and all(c.running_and_healthy for c in found)
            )

        try:
            poll(healthy, timeout=timeout, what=f"project {self.name} to be healthy", interval=0.5)
        except ToolError:
            problems = "; ".join(self.unhealthy()) or f"expected {expect}"
            raise ToolError(
                f"project {self.name} not healthy after {timeout:.0f}s: {problems}",
                details=self.logs(),
            ) from None
        return time.monotonic() - started

    def wait_serving(
        self, replicas: int, path: str = "/api/hello", timeout: float = 15
    ) -> set[str]:
        """Wait until `replicas` different replicas answer `path` through the proxy (which
        re-reads Docker's DNS every second); their names (X-Served-By)."""
        return wait_serving(f"http://127.0.0.1:{self.port('proxy', 80)}{path}", replicas, timeout)


def wait_serving(url: str, replicas: int, timeout: float = 15) -> set[str]:
    """Wait until `replicas` different X-Served-By values answer `url` with a 200; those
    values."""
    path = urlsplit(url).path or "/"

    def seen() -> set[str] | None:
        names = set()
        with KeepAliveClient(url, timeout=5) as client:
            for _ in range(2 * replicas):
                status, headers, _ = client.get(path)
                if status == 200:
                    names.add(headers.get("X-Served-By", ""))
        return names if len(names) == replicas else None

    return poll(
        seen,
        timeout=timeout,
        what=f"{replicas} replicas to answer {url}",
        retry_on=(OSError, http.client.HTTPException),
    )
