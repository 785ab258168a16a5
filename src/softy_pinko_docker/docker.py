"""The one way this repo runs a command and talks to the Docker Engine.

- `run()` runs any command, bounded in time; `docker()` runs the docker CLI. A failure is a
  `ToolError`, the one error type of `tools/`: its message is one line, and only an entry point
  (`cli.main`) turns it into `error: ...` and an exit code.
- `poll()` is the one wait loop: call something until it answers, or fail naming what it waited
  for and the last error.
- What the engine says is read as JSON (`docker inspect` of many objects at once) into the
  dataclasses below, never parsed out of text meant for people.

Our own layer rather than python-on-whales or the Docker SDK: the first has no per-call timeout,
drops stderr on some failures, lacks `compose config --hash`, `--dry-run`, `top`, `image history`
and repeated `--alias`, and inspects one container per process; the second has no Compose or
stack at all. tenacity would not shorten `poll()`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class ToolError(Exception):
    """Something the tools could not do. The message is one line, and says what to do if there
    is anything to do; `details` holds what a person may want to read to find out more."""

    def __init__(self, message: str, details: str = ""):
        super().__init__(" ".join(message.split()))
        self.details = details


# What went wrong, so a caller catches the cause it can handle, not every failure.
class TimedOut(ToolError):
    """A command or a wait did not end in time."""


class Missing(ToolError):
    """What was asked for is not there: a program, an image."""


class Refused(ToolError):
    """A command ran and failed: the engine (or another tool) said no."""


@dataclasses.dataclass(frozen=True)
class Completed:
    returncode: int
    stdout: str
    stderr: str


def run(
    cmd: Sequence[str],
    *,
    timeout: float = 120,
    check: bool = True,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    stdin: Any = None,
    inherit_env: bool = True,
) -> Completed:
    """Run a command to its end, capturing its output; `env` adds to the environment (or, with
    `inherit_env=False`, is all of it)."""
    name = " ".join(cmd[:3])
    try:
        proc = subprocess.run(
            list(cmd),
            capture_output=True,
            timeout=timeout,
            check=False,
            cwd=cwd,
            stdin=stdin,
            env=({**os.environ, **env} if inherit_env else dict(env)) if env is not None else None,
        )
    except subprocess.TimeoutExpired:
        raise TimedOut(f"`{name}` did not finish in {timeout:.0f}s") from None
    except FileNotFoundError as error:
        raise Missing(f"`{name}` could not run: {error}") from None
    except OSError as error:
        raise ToolError(f"`{name}` could not run: {error}") from None
    # Decoded as they are: no newline translation, so an output can be checked byte for byte.
    stdout = proc.stdout.decode(errors="replace")
    stderr = proc.stderr.decode(errors="replace")
    if check and proc.returncode != 0:
        said = (stderr or stdout).strip().splitlines() or ["no output"]
        raise Refused(
            f"`{name}` failed (exit {proc.returncode}): {said[-1][:400]}",
            details=stdout[-3000:] + stderr[-3000:],
        )
    return Completed(proc.returncode, stdout, stderr)


def docker(
    *args: str, timeout: float = 120, check: bool = True, env: Mapping[str, str] | None = None
) -> str:
    """The docker CLI's standard output."""
    return run(["docker", *args], timeout=timeout, check=check, env=env).stdout


@functools.cache
def provenance() -> dict[str, str]:
    """The build arguments every image's OCI labels are made from (see any Dockerfile's end):
    REVISION, the commit the tree is at, and CREATED, that commit's time rather than the
    build's, so two builds of one commit carry the same labels. Outside a git checkout: none,
    and the Dockerfiles' defaults apply."""
    repo = Path(__file__).resolve().parent.parent
    said = run(["git", "-C", str(repo), "show", "-s", "--format=%H %cI", "HEAD"], check=False)
    if said.returncode != 0 or len(said.stdout.split()) != 2:
        return {}
    revision, created = said.stdout.split()
    return {"REVISION": revision, "CREATED": created}


def build(
    tag: str, context: str | os.PathLike[str], timeout: float = 900, no_cache: bool = False
) -> None:
    """`docker build` of one image, with the provenance build arguments."""
    args = [f"--build-arg={key}={value}" for key, value in provenance().items()]
    args += ["--no-cache"] if no_cache else []
    docker("build", "--quiet", *args, "-t", tag, str(context), timeout=timeout)


def docker_json(
    *args: str, timeout: float = 120, cli: Callable[..., str] | None = None
) -> list[dict[str, Any]]:
    """A docker command that prints JSON: one array (`inspect`), or one object per line
    (`--format json`). `cli` asks another engine's CLI (a cluster node's) instead of this one."""
    out = (cli or docker)(*args, timeout=timeout).strip()
    if not out:
        return []
    if out.startswith("["):
        return list(json.loads(out))
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def poll(
    check: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    interval: float = 0.2,
    retry_on: tuple[type[BaseException], ...] = (),
) -> T:
    """Call `check` until it returns something truthy, and return that. An exception of a
    `retry_on` type counts as "not yet" (the last one is reported); any other ends the wait at
    once. After `timeout` seconds: TimedOut naming `what`."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while True:
        try:
            value = check()
            if value:
                return value
        except retry_on as error:
            last = error
        if time.monotonic() > deadline:
            raise TimedOut(
                f"timed out after {timeout:.0f}s waiting for {what}"
                + (f" (last error: {str(last).splitlines()[0]})" if last else "")
            )
        time.sleep(interval)


# --- containers ---------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Container:
    """What `docker inspect` says of one container, in the fields this repo reads."""

    id: str
    name: str
    service: str  # Compose's or Swarm's service ("" for a plain container)
    number: int  # Compose's container number
    state: str  # created, running, restarting, exited, ...
    health: str  # healthy, unhealthy, starting; "" without a healthcheck
    health_log: str  # the last healthcheck's exit code and output, on one line
    exit_code: int
    image: str  # the ID of the image it runs
    config_hash: str  # Compose's hash of the service's configuration when it was made
    image_label: str  # Compose's record of the image ID it was made from
    hostname: str
    user: str
    restarts: int
    started_at: str
    labels: dict[str, str]
    host_config: dict[str, Any]
    networks: dict[str, dict[str, Any]]  # network -> endpoint (Aliases, IPAddress, IPAMConfig)
    mounts: list[dict[str, Any]]
    # "5252/tcp" -> the host ports it is published on
    ports: dict[str, list[int]] = dataclasses.field(default_factory=dict)
    pid: int = 0  # its first process, as the host sees it (0 when it is not running)

    @property
    def running_and_healthy(self) -> bool:
        return self.state == "running" and self.health in ("healthy", "")

    @property
    def status(self) -> str:
        return self.state + (f"/{self.health}" if self.health else "")

    @classmethod
    def from_inspect(cls, data: dict[str, Any]) -> Container:
        labels = data["Config"].get("Labels") or {}
        health = data["State"].get("Health") or {}
        last = (health.get("Log") or [{}])[-1]
        output = " ".join(last.get("Output", "").split())[-200:]
        service = labels.get("com.docker.compose.service") or labels.get(
            "com.docker.swarm.service.name", ""
        )
        return cls(
            id=data["Id"],
            name=data["Name"].lstrip("/"),
            service=service,
            number=int(labels.get("com.docker.compose.container-number") or 0),
            state=data["State"]["Status"],
            health=health.get("Status", ""),
            health_log=(f"exit {last['ExitCode']}, " + (repr(output) if output else "no output"))
            if last
            else "",
            exit_code=data["State"].get("ExitCode", 0),
            image=data["Image"],
            config_hash=labels.get("com.docker.compose.config-hash", ""),
            image_label=labels.get("com.docker.compose.image", ""),
            hostname=data["Config"].get("Hostname", ""),
            user=data["Config"].get("User", ""),
            restarts=data.get("RestartCount", 0),
            started_at=data["State"].get("StartedAt", ""),
            labels=labels,
            host_config=data.get("HostConfig") or {},
            networks=data["NetworkSettings"].get("Networks") or {},
            mounts=data.get("Mounts") or [],
            ports={
                port: [int(b["HostPort"]) for b in bindings or [] if b.get("HostPort")]
                for port, bindings in (data["NetworkSettings"].get("Ports") or {}).items()
            },
            pid=data["State"].get("Pid", 0),
        )


def inspect_containers(*ids: str) -> list[Container]:
    """Many containers in one `docker inspect`; one that has gone meanwhile is left out."""
    if not ids:
        return []
    proc = run(["docker", "container", "inspect", *ids], check=False)
    return [Container.from_inspect(data) for data in json.loads(proc.stdout or "[]")]


def containers(*filters: str, all_states: bool = True) -> list[Container]:
    """Containers matching every `--filter` (`label=k=v`, `name=...`), sorted by service and
    number."""
    args = [arg for f in filters for arg in ("--filter", f)]
    ids = docker("ps", "--quiet", "--no-trunc", *(["--all"] if all_states else []), *args).split()
    return sorted(inspect_containers(*ids), key=lambda c: (c.service, c.number, c.name))


def container(name: str) -> Container | None:
    found = inspect_containers(name)
    return found[0] if found else None


def wait_container_healthy(name: str, timeout: float = 90) -> float:
    """Wait until one container runs and is healthy; seconds it took. Fails at once when the
    container stops or Docker declares it unhealthy (ToolError, with its log as details)."""
    started = time.monotonic()

    def healthy() -> bool:
        now = container(name)
        if now is None or now.state not in ("running", "created") or now.health == "unhealthy":
            state = now.status if now else "gone"
            raise ToolError(
                f"{name} is {state} after {time.monotonic() - started:.0f}s, not "
                f"running and healthy",
                details=logs(name),
            )
        return now.state == "running" and now.health == "healthy"

    try:
        poll(healthy, timeout=timeout, what=f"{name} to be healthy", interval=0.5)
    except ToolError as error:
        raise ToolError(str(error), details=error.details or logs(name)) from None
    return time.monotonic() - started


def logs(name: str, tail: int = 40) -> str:
    proc = run(["docker", "logs", "--tail", str(tail), name], check=False)
    return proc.stdout + proc.stderr


# --- images -------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Image:
    id: str
    size: int
    labels: dict[str, str]
    config: dict[str, Any]
    layers: list[str]

    @classmethod
    def from_inspect(cls, data: dict[str, Any]) -> Image:
        config = data.get("Config") or {}
        return cls(
            id=data["Id"],
            size=data.get("Size", 0),
            labels=config.get("Labels") or {},
            config=config,
            layers=(data.get("RootFS") or {}).get("Layers") or [],
        )


def inspect_images(*references: str) -> list[Image]:
    """Images by name or ID, in one `docker image inspect`; a missing one is left out."""
    proc = run(["docker", "image", "inspect", *references], check=False)
    return [Image.from_inspect(data) for data in json.loads(proc.stdout or "[]")]


def image(reference: str) -> Image | None:
    found = inspect_images(reference)
    return found[0] if found else None


def image_id(reference: str) -> str:
    found = image(reference)
    if found is None:
        raise Missing(f"no image {reference}: build it first")
    return found.id


def image_ids() -> set[str]:
    """Every image on the engine, a build's intermediate layers included (`--all`)."""
    return set(docker("image", "ls", "--all", "--quiet", "--no-trunc").split())


def remove_images_since(before: set[str]) -> None:
    """Remove every image not in `before`, intermediate layers too. A `--no-cache` build's
    leftover layers are newer than the cache's own, and the legacy builder takes the newest match:
    left behind, later builds of the same steps follow them and miss the cache from there on."""
    left = image_ids() - before
    while left:  # a layer with children is refused until they go: leaves first, round by round
        run(["docker", "image", "rm", "--force", *sorted(left)], check=False, timeout=300)
        now = image_ids() - before
        if now == left:
            raise ToolError(f"could not remove {len(now)} image(s) a build left: {sorted(now)}")
        left = now


def remove_images(reference_filter: str) -> None:
    """Remove every image whose name matches (`docker image ls --filter reference=`), leaving
    the untagged layers under it: they are the legacy builder's cache, shared with every other
    build of the same steps (the checker's among them), which would otherwise start cold."""
    names = docker(
        "image",
        "ls",
        "--format",
        "{{.Repository}}:{{.Tag}}",
        "--filter",
        f"reference={reference_filter}",
    ).split()
    if names:
        run(["docker", "image", "rm", "--force", "--no-prune", *names], check=False)
