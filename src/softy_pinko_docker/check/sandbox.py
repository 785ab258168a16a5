"""Where a learner's repository is built and run: one context manager that always tears down.

`Sandbox(path)` copies the repository's task folders to a temporary folder (a symbolic link
pointing outside the repository is left out), and everything it builds or starts carries its
run's label and names: images `softy-pinko-check-<run>/<task>-<name>`, containers labelled
`org.softy-pinko.check.run=<run>`, one Compose project per task, `spcheck-<run>-<task>`. Every
build and run has a time limit; every container the memory, CPU and process limits of
`policy`; every published port is on 127.0.0.1. On leaving the `with` block, whatever happened
(a failure, a timeout, Ctrl-C, SIGTERM), it removes every container, network, volume and image
it made. The build cache stays, so the next check of the same files is fast (`docker builder
prune` and `docker image prune` remove it).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import secrets
import shutil
import signal
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import Any

from softy_pinko_docker import dockerfiles
from softy_pinko_docker.baseimages.command import ensure_learner_base
from softy_pinko_docker.check import policy
from softy_pinko_docker.compose import ComposeProject
from softy_pinko_docker.docker import (
    Completed,
    Container,
    TimedOut,
    ToolError,
    containers,
    docker,
    run,
)

LABEL = "org.softy-pinko.check.run"
BUILD_TIMEOUT = float(os.environ.get("CHECK_BUILD_TIMEOUT", "600"))
RUN_TIMEOUT = float(os.environ.get("CHECK_RUN_TIMEOUT", "60"))
UP_TIMEOUT = 120.0
LIMITS = [
    f"--memory={policy.MEMORY}",
    f"--memory-swap={policy.MEMORY}",
    f"--cpus={policy.CPUS}",
    f"--pids-limit={policy.PIDS}",
    "--security-opt=no-new-privileges",
]
# The legacy builder takes the same limits for each build step's container (no process limit).
BUILD_LIMITS = ["--memory=2g", "--memory-swap=2g", "--cpu-period=100000", "--cpu-quota=150000"]
# What only the legacy builder refuses: such a Dockerfile is built again with BuildKit, as every
# current Docker builds it.
LEGACY_ONLY = (
    r"When using COPY with more than one source file, the destination must be a directory"
    r"|Unknown flag: (mount|chmod|link|parents|exclude|checksum|network|security)"
    r"|requires BuildKit|the --(chmod|link) option requires"
)


def _clean_environment(home: Path) -> dict[str, str]:
    """Compose and the CLI see none of the caller's variables (this repository's PROXY_PORT,
    say): a learner's file is resolved as on a learner's machine, and its `~` and `${HOME}`
    are the sandbox's, not the caller's home. The CLI's own configuration (its plugins) stays."""
    keep = ("PATH", "DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY")
    config = os.environ.get("DOCKER_CONFIG") or str(Path.home() / ".docker")
    return {k: os.environ[k] for k in keep if k in os.environ} | {
        "HOME": str(home),
        "DOCKER_CONFIG": config,
        "DOCKER_CLI_HINTS": "false",
    }


@dataclasses.dataclass
class Build:
    ok: bool
    tag: str
    log: str
    seconds: float
    missing_base: str = ""  # a base that could be neither pulled nor stood in for
    refused: str = ""  # what the checker would not let the engine fetch


@dataclasses.dataclass
class Stack:
    project: str
    file: Path
    containers: list[Container]

    def service(self, name: str) -> list[Container]:
        return [c for c in self.containers if c.service == name]

    def port(self, service: str, target: int) -> int | None:
        for found in self.service(service):
            ports = found.ports.get(f"{target}/tcp")
            if ports:
                return ports[0]
        return None


class Sandbox:
    def __init__(self, original: Path, run_id: str = ""):
        self.original = original.resolve()
        self.run_id = run_id or secrets.token_hex(4)
        self.label = f"{LABEL}={self.run_id}"
        self.projects: dict[str, Path] = {}
        self.started: dict[str, list[str]] = {}  # task -> containers started with `start`
        self.root = Path()
        self.home = Path()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._previous: Any = None
        self._previous_int: Any = None
        self._closing = contextlib.ExitStack()
        self._browser: Any = None

    # --- lifetime ------------------------------------------------------------------------------
    def __enter__(self) -> Sandbox:
        self._previous = signal.signal(signal.SIGTERM, _interrupt)
        # Ctrl-C stops a check even when the checker was started with SIGINT ignored (a shell
        # without job control does that to every command it starts in the background).
        self._previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
        self._tmp = tempfile.TemporaryDirectory(
            prefix=f"softy-pinko-check-{self.run_id}-", ignore_cleanup_errors=True
        )
        self.root = Path(self._tmp.name) / "repository"
        self.home = Path(self._tmp.name) / "home"  # what a learner's `~` means here
        self.home.mkdir()
        self.left_out = copy_repository(self.original, self.root)
        return self

    def __exit__(self, *exc: object) -> None:
        # Cleaning up is not interrupted by a second Ctrl-C: it is what leaves the engine clean.
        # (GitHub Actions cancels a job with SIGINT, then SIGTERM 7.5 s later.)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            self.clean()
            with contextlib.suppress(Exception):
                self._closing.close()  # the browser
        finally:
            signal.signal(signal.SIGINT, self._previous_int)
            signal.signal(signal.SIGTERM, self._previous)
            if self._tmp is not None:
                self._tmp.cleanup()

    def stop(self, task: str) -> None:
        """Remove what a task's checks started, once they are done (its images stay until the
        end: a later task may build the same files)."""
        for project, file in list(self.projects.items()):
            if project.endswith(f"-{task}"):
                self._project(file.parent, project, file.name).run(
                    "down",
                    "--volumes",
                    "--remove-orphans",
                    "--timeout",
                    "3",
                    check=False,
                    timeout=120,
                )
                del self.projects[project]
        started = self.started.pop(task, [])
        if started:
            docker("rm", "-f", "-v", *started, check=False)

    def clean(self) -> None:
        for task in {p.rsplit("-", 1)[-1] for p in self.projects} | set(self.started):
            self.stop(task)
        sweep(self.run_id)

    def browser(self) -> Any:
        """One headless Chromium for the run, started when a check first needs it."""
        if self._browser is None:
            from softy_pinko_docker.check import probes

            self._browser = self._closing.enter_context(probes.chromium())
        return self._browser

    # --- images --------------------------------------------------------------------------------
    @property
    def repository(self) -> str:
        return repository(self.run_id)

    def tag(self, task: str, name: str) -> str:
        return f"{self.repository}/{task}-{name}:latest"

    def build(
        self,
        context: Path,
        dockerfile: Path,
        tag: str,
        args: dict[str, str] | None = None,
        target: str | None = None,
    ) -> Build:
        """`docker build` of a learner's Dockerfile, unchanged, on the bases it names."""
        started = time.monotonic()
        try:
            instructions = dockerfiles.read(dockerfile)
        except dockerfiles.Unreadable:
            instructions = []  # the engine refuses it too, and says why
        fetched = [
            a
            for i in instructions
            if i.keyword == "ADD"
            for a in i.arguments[:-1]
            if "://" in a or a.startswith("git@")
        ]
        if fetched:  # the engine itself would fetch it, from the host's own network
            return Build(False, tag, f"refused: ADD {fetched[0]}", 0.0, refused=fetched[0])
        for base in dockerfiles.bases(instructions):
            try:
                ensure_learner_base(base)
            except ToolError as error:
                return Build(False, tag, str(error), time.monotonic() - started, base)
        if any(i.heredocs for i in instructions):  # only BuildKit reads heredocs
            built = self._buildkit_build(context, dockerfile, tag, args, target)
        else:
            built = self._legacy_build(context, dockerfile, tag, args, target)
            if not built.ok and re.search(LEGACY_ONLY, built.log):  # what BuildKit builds
                built = self._buildkit_build(context, dockerfile, tag, args, target)
        built.seconds = time.monotonic() - started
        return built

    def _legacy_build(
        self,
        context: Path,
        dockerfile: Path,
        tag: str,
        args: dict[str, str] | None,
        target: str | None,
    ) -> Build:
        """The legacy builder: each step's container within BUILD_LIMITS."""
        command = [
            "docker",
            "build",
            "--force-rm",
            *BUILD_LIMITS,
            "--label",
            self.label,
            "-t",
            tag,
            "-f",
            str(dockerfile),
        ]
        command += [f"--build-arg={k}={v}" for k, v in (args or {}).items() if v is not None]
        command += ["--target", target] if target else []
        try:
            said = run(
                [*command, str(context)],
                timeout=BUILD_TIMEOUT,
                check=False,
                env={**_clean_environment(self.home), "DOCKER_BUILDKIT": "0"},
                inherit_env=False,
            )
        except TimedOut:
            return Build(False, tag, f"the build did not finish in {BUILD_TIMEOUT:.0f}s", 0.0)
        return Build(said.returncode == 0, tag, said.stdout + said.stderr, 0.0)

    def _buildkit_build(
        self,
        context: Path,
        dockerfile: Path,
        tag: str,
        args: dict[str, str] | None,
        target: str | None,
    ) -> Build:
        """BuildKit, every current Docker's builder, through Compose's own client of the
        engine's BuildKit (no buildx needed): for a Dockerfile the legacy builder refuses and
        BuildKit builds (`COPY * .`, `RUN --mount`). Its steps have no memory or CPU limit,
        only the time limit."""
        build: dict[str, Any] = {
            "context": str(context),
            "dockerfile": str(dockerfile),
            "labels": {LABEL: self.run_id},
        }
        build |= {"args": args} if args else {}
        build |= {"target": target} if target else {}
        file = self.home / f"build-{secrets.token_hex(3)}.json"
        file.write_text(json.dumps({"services": {"image": {"build": build, "image": tag}}}))
        project = self._project(file.parent, f"spcheck-{self.run_id}-build", file.name)
        env = {**project.env, "DOCKER_BUILDKIT": "1", "BUILDKIT_PROGRESS": "plain"}
        try:
            said = dataclasses.replace(project, env=env).run(
                "build", timeout=BUILD_TIMEOUT, check=False
            )
        except TimedOut:
            return Build(False, tag, f"the build did not finish in {BUILD_TIMEOUT:.0f}s", 0.0)
        return Build(said.returncode == 0, tag, said.stdout + said.stderr, 0.0)

    # --- plain containers --------------------------------------------------------------------
    def run_to_end(self, image: str, timeout: float = RUN_TIMEOUT) -> Completed:
        """Run an image's command to its end (no network), as `docker run --rm` does."""
        name = f"spcheck-{self.run_id}-{secrets.token_hex(3)}"
        try:
            return run(
                [
                    "docker",
                    "run",
                    "--rm",
                    "--name",
                    name,
                    "--label",
                    self.label,
                    "--network",
                    "none",
                    *LIMITS,
                    image,
                ],
                timeout=timeout,
                check=False,
            )
        finally:
            docker("rm", "-f", "-v", name, check=False)

    def run_command(self, image: str, command: list[str], hosts: list[str]) -> Completed:
        """`command` as the image's CMD (its ENTRYPOINT runs first, as it prepares the config
        the official image's does), on no network, each of `hosts` resolving (to 127.0.0.1) as
        a service's name does on a Compose network: `nginx -t` of a proxy. An ENTRYPOINT that
        is the command's program itself is replaced."""
        adds = [f"--add-host={h}:127.0.0.1" for h in hosts if re.fullmatch(r"[\w.-]+", h)]
        entrypoint = docker(
            "image", "inspect", "--format", "{{json .Config.Entrypoint}}", image, check=False
        ).strip()
        first = (json.loads(entrypoint) or [""])[0] if entrypoint.startswith("[") else ""
        replace = ["--entrypoint", command[0]] if first.rsplit("/", 1)[-1] == command[0] else []
        args = command[1:] if replace else command
        name = f"spcheck-{self.run_id}-{secrets.token_hex(3)}"
        try:
            return run(
                [
                    "docker",
                    "run",
                    "--rm",
                    "--name",
                    name,
                    "--label",
                    self.label,
                    "--network",
                    "none",
                    *adds,
                    *LIMITS,
                    *replace,
                    image,
                    *args,
                ],
                timeout=RUN_TIMEOUT,
                check=False,
            )
        finally:
            docker("rm", "-f", "-v", name, check=False)

    def learner_names(self, text: str) -> str:
        """The sandbox's names as the learner's own run has them: `spcheck-<run>-task5-proxy-1`
        is `task5-proxy-1`, an image it built for task5's proxy `the proxy's image`."""
        text = re.sub(
            rf"{re.escape(self.repository)}/(task\d)-([\w-]+):latest", r"the \2 image", text
        )
        text = re.sub(rf"spcheck-{self.run_id}-(task\d-[\w-]+?)-[0-9a-f]{{4}}\b", r"\1", text)
        return text.replace(f"spcheck-{self.run_id}-", "")

    def start(self, task: str, image: str, port: int, name: str = "") -> Container:
        """Start an image's server with `port` published on 127.0.0.1, on a port the engine
        picks; the container as the engine says it is a moment after. It is named
        `<task>-<name>` to the learner (`learner_names`)."""
        named = f"spcheck-{self.run_id}-{task}-{name or 'server'}-{secrets.token_hex(2)}"
        said = run(
            [
                "docker",
                "run",
                "-d",
                "--name",
                named,
                "--label",
                self.label,
                *LIMITS,
                "-p",
                f"127.0.0.1::{port}",
                image,
            ],
            check=False,
        )
        if said.returncode != 0:  # e.g. a CMD naming a program the image lacks
            lines = said.stderr.strip().splitlines() or ["no output"]
            raise NotStarted(lines[-1][:300], said.stderr)
        cid = said.stdout.strip()
        self.started.setdefault(task, []).append(cid)
        found = containers(f"id={cid}")
        if not found:
            raise ToolError(f"the container of {image} vanished as it started")
        return found[0]

    # --- Compose -------------------------------------------------------------------------------
    def _project(self, folder: Path, name: str, file: str) -> ComposeProject:
        return ComposeProject(folder, name, _clean_environment(self.home), file=file, env_only=True)

    def compose_model(self, file: Path) -> Completed:
        """Compose's resolution of a learner's file, as JSON (nothing is started)."""
        project = self._project(file.parent, f"spcheck-{self.run_id}-{file.parent.name}", file.name)
        return project.run("config", "--format", "json", timeout=60, check=False)

    def compose_up(
        self, task: str, model: dict[str, Any], images: dict[str, str], scale: dict[str, int]
    ) -> Stack:
        """The task's stack, as `policy.sandboxed` rewrites it, started in the background."""
        project = f"spcheck-{self.run_id}-{task}"
        runnable = policy.sandboxed(model, images, {LABEL: self.run_id})
        file = self.root / task / ".softy-pinko-check.compose.json"
        file.write_text(json.dumps(runnable, indent=1))
        self.projects[project] = file
        scales = [a for s, n in scale.items() for a in ("--scale", f"{s}={n}")]
        said = self._project(file.parent, project, file.name).run(
            "up",
            "--detach",
            "--no-build",
            "--pull",
            "never",
            *scales,
            check=False,
            timeout=UP_TIMEOUT,
        )
        if said.returncode != 0:
            lines = (said.stderr or said.stdout).strip().splitlines() or ["no output"]
            raise NotStarted(lines[-1], said.stdout + said.stderr)
        return Stack(project, file, self.stack_containers(project))

    def stack_containers(self, project: str) -> list[Container]:
        return containers(f"label=com.docker.compose.project={project}")


def repository(run_id: str) -> str:
    """Where a run's images are named."""
    return f"softy-pinko-check-{run_id}"


def sweep(run_id: str) -> None:
    """Remove everything a run made, by its label and its images' names: what `Sandbox` does
    last, and what `make check REPOS=...` does after a checker it had to kill."""
    for kind in ("container", "network", "volume"):
        listed = docker(
            kind,
            "ls",
            "-q",
            *(["-a"] if kind == "container" else []),
            "--filter",
            f"label={LABEL}={run_id}",
            check=False,
        ).split()
        if listed:
            docker(kind, "rm", *(["-f", "-v"] if kind == "container" else []), *listed, check=False)
    tagged = docker(
        "image",
        "ls",
        "--format",
        "{{.Repository}}:{{.Tag}}",
        "--filter",
        f"reference={repository(run_id)}/*",
        check=False,
    ).split()
    if tagged:  # --no-prune: the build cache under them stays, for the next check
        docker("image", "rm", "--force", "--no-prune", *tagged, check=False, timeout=300)


class NotStarted(Exception):
    """The engine would not start what a learner's files describe: its last line."""

    def __init__(self, line: str, output: str):
        super().__init__(line)
        self.output = output


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM cleans up as Ctrl-C does


def copy_repository(original: Path, root: Path) -> list[str]:
    """The task folders of `original` (and its .gitmodules) copied to `root`; symbolic links
    that point outside the repository are left out, and returned."""
    left_out: list[str] = []
    root.mkdir(parents=True)
    for entry in sorted(original.iterdir()):
        if entry.name.startswith("task") and entry.is_dir() and not entry.is_symlink():
            shutil.copytree(
                entry, root / entry.name, symlinks=True, ignore=shutil.ignore_patterns(".git")
            )
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            with contextlib.suppress(OSError):
                if path.resolve().is_relative_to(root.resolve()):
                    continue
            left_out.append(str(path.relative_to(root)))
            path.unlink()
    return left_out
