"""Ship a change to a running stack without failing a request: `make up` on a stack that is up.

`docker compose up` recreates every container of a changed service at once; for task6's API
replicas that is seconds of 503s (BENCHMARKS.md, "Shipping a change"). Here each service goes
its own way, one service after the other, the proxy last:

- **Behind the proxy, no host port of its own** (back-end, front-end): rolled one container at a
  time, like Swarm's `order: start-first` or a Kubernetes RollingUpdate with `maxUnavailable: 0`.
  A new container is created beside the old ones and started *outside* the service's DNS name. It
  joins the name only once its healthcheck passes and it has answered a real request sent to it
  directly from the proxy's side of the network, so the proxy never sends it a request it cannot
  answer; then a request through the proxy must reach it and succeed. Only then is one old
  container stopped gracefully: SIGTERM, it finishes what it is serving, and the proxy retries
  the idempotent requests that meet a closed door on the others. Scaling goes the same way.
- **The proxy**: an image that differs from the running one only in its last layer, the site
  config (task6/proxy/live-config.sh), is applied in place: the config is checked with
  `nginx -t` in a one-off container of the new image, installed by another, and loaded with
  `nginx -s reload`, which keeps the listening socket. Any other change recreates the proxy,
  which cuts the connections open to it; its config is checked first all the same.
- **A service that publishes a host port** (task4) cannot run two containers at once: Compose
  recreates it.
- **A proxy that resolves its upstreams only when it loads its config** (task5) is reloaded
  whenever a container joins or leaves.

When a new container never turns healthy or fails its requests, it is removed, containers
already replaced are rolled back to the previous image, the image tag names the running image
again, and DeployError says which service and why in one line.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import http.client
import re
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from tools.compose import PUBLISHED, ComposeProject
from tools.docker import (
    Container,
    ToolError,
    docker,
    image_id,
    inspect_containers,
    inspect_images,
    poll,
    run,
    wait_container_healthy,
)
from tools.load import KeepAliveClient

PROXY = "proxy"
LIVE_DIR = "/etc/nginx/live"  # where the proxy's Nginx reads its site config
LIVE_LABEL = "org.softy-pinko.live-config"  # set by a proxy image that supports the above
# A request through the proxy that reaches each kind of service (compose.PUBLISHED has the paths).
PROBE_PATHS = {service: path for service, (_, _, path) in PUBLISHED.items()}
# Image settings that, if any differs, make a change more than a config change.
IMAGE_SETTINGS = (
    "Cmd",
    "Entrypoint",
    "Env",
    "ExposedPorts",
    "Healthcheck",
    "Labels",
    "OnBuild",
    "Shell",
    "StopSignal",
    "User",
    "Volumes",
    "WorkingDir",
)
# Labels that say where an image came from, not how it runs: a new commit changes them.
PROVENANCE_LABELS = ("org.opencontainers.image.revision", "org.opencontainers.image.created")
# Dockerfile instructions that change an image's settings but make no layer.
SETTINGS_ONLY = {
    "ARG",
    "CMD",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
}


class DeployError(ToolError):
    """A rolled deploy stopped; the message is one line, and the old containers still serve."""


class NotReady(Exception):
    """A new container did not take over; the message says why, in a few words."""


@dataclasses.dataclass(frozen=True)
class Wanted:
    """What the Compose file asks of one service now."""

    name: str
    config_hash: str
    ref: str  # its `image:` (name:tag)
    image: str  # the ID of the image that tag names, just built
    count: int
    publishes: bool  # it publishes a host port itself
    port: int | None = None  # the port it serves on inside the network (`expose`)

    def is_current(self, container: Container) -> bool:
        return container.config_hash == self.config_hash and container.image_label == self.image


def follows_dns(nginx_config: str, service: str) -> bool:
    """Does this Nginx configuration re-resolve `service` by itself (`server NAME:PORT ...
    resolve` in an upstream), or only when it is loaded?"""
    pattern = rf"^\s*server\s+{re.escape(service)}(:\d+)?\s[^;]*\bresolve\b"
    return re.search(pattern, nginx_config, re.MULTILINE) is not None


def settings(config: dict[str, object], key: str) -> object:
    """One of an image's settings, its labels without the provenance ones."""
    value = config.get(key)
    if key == "Labels" and isinstance(value, dict):
        return {k: v for k, v in value.items() if k not in PROVENANCE_LABELS}
    return value


def last_layer_copies_into(history: list[str], directory: str) -> bool:
    """Is the newest instruction that made a layer a COPY into `directory`? `history` is each
    step's CreatedBy, newest first (`docker image history`), from BuildKit ("COPY a /dir/a #
    buildkit") or the classic builder ("/bin/sh -c #(nop) COPY file:… in /dir/a")."""
    for created_by in history:
        step = re.sub(r"^/bin/sh -c #\(nop\)\s+", "", created_by.strip())
        if step.split(" ", 1)[0].upper() in SETTINGS_ONLY:
            continue
        return re.match(rf"COPY (--\S+ )*\S+ (in )?{re.escape(directory)}/", step) is not None
    return False


def status_of(line: str) -> int:
    """The status code of an HTTP status line ('HTTP/1.1 200 OK'), 0 when there is none."""
    parts = line.split()
    return (
        int(parts[1])
        if len(parts) > 1 and parts[0].startswith("HTTP/") and parts[1].isdigit()
        else 0
    )


@contextlib.contextmanager
def project_lock(project: str) -> Iterator[None]:
    """One deploy per project at a time: a second `make up` would take the first one's new
    containers for its own."""
    path = Path(tempfile.gettempdir()) / f"softy-pinko-deploy-{project}.lock"
    with path.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DeployError(
                f"another `make up` is deploying {project} right now: wait for it to finish"
            ) from None
        yield


class Proxy:
    """The running proxy container of a stack, as the deploy uses it."""

    def __init__(self, container: Container, host_port: int):
        self.container, self.host_port = container, host_port
        self.network = next(iter(container.networks))
        self._config = ""

    def config(self) -> str:
        """The configuration the running Nginx would load (`nginx -T`)."""
        if not self._config:
            self._config = docker("exec", self.container.name, "nginx", "-T")
        return self._config

    def follows_dns(self, service: str) -> bool:
        return follows_dns(self.config(), service)

    def workers(self) -> set[str]:
        """PIDs of the Nginx workers that take new requests (not those shutting down)."""
        out = docker("top", self.container.name, "-eo", "pid,args")
        return {
            line.split()[0]
            for line in out.splitlines()[1:]
            if line.rstrip().endswith("nginx: worker process")
        }

    def reload(self, timeout: float = 15) -> None:
        """`nginx -s reload`, and wait until new workers run: a reload Nginx refuses leaves the
        old ones in place and says why only in its log."""
        before = self.workers()
        self._config = ""
        docker("exec", self.container.name, "nginx", "-s", "reload")
        try:
            poll(
                lambda: self.workers() - before,
                timeout=timeout,
                interval=0.1,
                what="new Nginx workers",
            )
        except ToolError:
            tail = docker("logs", "--tail", "5", self.container.name, check=False)
            raise DeployError(
                f"{PROXY}: `nginx -s reload` started no new workers in {timeout:.0f}s; its "
                f"log: {' '.join(tail.split())[-300:]}"
            ) from None

    def ask_directly(self, container: Container, port: int, path: str) -> int:
        """GET `path` from `container` by its own name, from inside the proxy (whose image has
        bash): what the proxy would get, before the container is in the proxy's rotation.
        The status code, 0 when no answer came."""
        script = (
            f"exec 3<>/dev/tcp/{container.name}/{port} && printf 'GET {path} HTTP/1.0\\r\\n"
            "Host: localhost\\r\\n\\r\\n' >&3 && head -n1 <&3"
        )
        return status_of(
            docker(
                "exec",
                self.container.name,
                "timeout",
                "10",
                "bash",
                "-c",
                script,
                check=False,
                timeout=30,
            )
        )

    def routes_to(self, container: Container, path: str, timeout: float = 20) -> float:
        """Send requests through the proxy until one reaches `container` and succeeds; seconds
        it took. Raises NotReady when one that reached it failed, or none reached it.

        Each request carries a fresh X-Request-ID, which the proxy passes on and every service
        behind it logs: seeing one in the container's own (young, short) log proves the path
        proxy -> container. The proxy's log would say the same, but reading it means scanning
        everything the proxy has logged since it started."""
        token, started = f"rollout-{uuid.uuid4().hex[:12]}", time.monotonic()
        statuses: dict[str, int] = {}
        with KeepAliveClient(f"http://127.0.0.1:{self.host_port}", timeout=5) as client:

            def reached() -> bool:
                for _ in range(4):
                    request_id = f"{token}-{len(statuses)}"
                    try:
                        statuses[request_id] = client.get(path, {"X-Request-ID": request_id})[0]
                    except (OSError, http.client.HTTPException):
                        statuses[request_id] = 0
                        client.close()
                log = docker("logs", container.name, check=False)
                seen = [
                    statuses[rid]
                    for rid in set(re.findall(rf"{token}-\d+", log))
                    if rid in statuses
                ]
                if any(not 200 <= status < 400 for status in seen):
                    raise NotReady(f"answered {sorted(set(seen))} through the proxy to GET {path}")
                return bool(seen)

            try:
                poll(reached, timeout=timeout, interval=0.1, what="a request through the proxy")
            except ToolError:
                raise NotReady(
                    f"none of {len(statuses)} requests through the proxy reached it "
                    f"in {timeout:.0f}s"
                ) from None
        return time.monotonic() - started


class Deploy:
    """One `make up` on a running stack. `say` prints a line of progress."""

    def __init__(
        self,
        project: ComposeProject,
        replicas: int | None = None,
        timeout: float = 120,
        say: Callable[[str], None] = print,
    ):
        self.project, self.replicas, self.timeout, self.say = project, replicas, timeout, say
        self.wanted: dict[str, Wanted] = {}
        self.proxy: Proxy | None = None

    # --- the plan ------------------------------------------------------------------------
    def read_wanted(self) -> None:
        hashes = self.project.config_hashes()
        for name, spec in self.project.config()["services"].items():
            count = int(spec.get("scale") or (spec.get("deploy") or {}).get("replicas") or 1)
            if name == "back-end" and self.replicas is not None:
                count = self.replicas
            exposed = [str(port).split("/")[0] for port in spec.get("expose") or []]
            self.wanted[name] = Wanted(
                name,
                hashes[name],
                spec["image"],
                image_id(spec["image"]),
                count,
                publishes=bool(spec.get("ports")) and name != PROXY,
                port=int(exposed[0]) if exposed else None,
            )

    def find_proxy(self) -> None:
        running = self.project.running(PROXY)
        port = self.project.port(PROXY, 80) if running and PROXY in self.wanted else None
        if port:
            self.proxy = Proxy(running[0], port)

    def run(self) -> float:
        """Build, then bring every service to what the Compose file says; seconds it took."""
        started = time.monotonic()
        with project_lock(self.project.name):
            self.say(
                f"[up] {self.project.name} is running: building, then replacing what "
                "changed without failing a request"
            )
            self.project.run("build", "--quiet", timeout=900)
            self.read_wanted()
            self.find_proxy()
            for name in sorted(self.wanted, key=lambda n: n == PROXY):  # the proxy last
                self.converge(self.wanted[name])
            # Whatever else Compose has to do (a new service, a network, orphans), recreating
            # nothing.
            self.project.run(
                "up",
                "--detach",
                "--no-recreate",
                "--no-build",
                "--remove-orphans",
                *[arg for w in self.wanted.values() for arg in ("--scale", f"{w.name}={w.count}")],
            )
            self.project.wait_healthy(self.timeout, {w.name: w.count for w in self.wanted.values()})
        return time.monotonic() - started

    def converge(self, want: Wanted) -> None:
        mine = self.project.containers(want.name)
        for dead in (c for c in mine if c.state != "running"):
            docker("rm", "--force", dead.name)  # it serves nothing; Compose makes a fresh one
        live = [c for c in mine if c.state == "running"]
        old = [c for c in live if not want.is_current(c)]
        if want.name == PROXY:
            if live:
                self.converge_proxy(live[0], want)
            return
        if not old and len(live) == want.count:
            self.say(f"[up] {want.name}: unchanged ({len(live)} running)")
            return
        if want.publishes or self.proxy is None or want.name not in PROBE_PATHS:
            why = "it publishes a host port" if want.publishes else "no proxy in front of it"
            self.say(f"[up] {want.name}: recreated by Compose, not rolled ({why})")
            self.project.run(
                "up",
                "--detach",
                "--no-deps",
                "--no-build",
                "--scale",
                f"{want.name}={want.count}",
                want.name,
            )
            return
        self.roll(want, live, old)

    # --- a service behind the proxy ------------------------------------------------------
    def roll(
        self, want: Wanted, live: list[Container], old: list[Container], rolling_back: bool = False
    ) -> None:
        started = time.monotonic()
        current = [c for c in live if c not in old]
        # Fewer wanted: retire the surplus first, old containers before current ones.
        for container in (old + sorted(current, key=lambda c: -c.number))[
            : max(len(live) - want.count, 0)
        ]:
            self.retire(container)
            (old if container in old else current).remove(container)
        if old:
            self.say(
                f"[up] {want.name}: {len(old)} of {len(old) + len(current)} container(s) "
                f"run an old image or configuration; replacing them one at a time"
            )
        replaced = 0
        try:
            # More wanted: the extra containers first, so the capacity is there sooner.
            for _ in range(want.count - len(current) - len(old)):
                self.add(want)
            for container in old:
                self.add(want)
                self.retire(container)
                replaced += 1
        except DeployError as error:
            if rolling_back or not old:
                raise
            raise self.roll_back(want, old[0].image, error, replaced) from None
        self.say(
            f"[up] {want.name}: {want.count} current container(s) after "
            f"{time.monotonic() - started:.1f}s"
        )

    def roll_back(
        self, want: Wanted, previous: str, error: DeployError, replaced: int
    ) -> DeployError:
        """After a failed replacement: the tag names the previous image again (so a plain
        `docker compose up` does not start the failed build everywhere at once), and the
        containers already replaced go back to it. The error to raise."""
        docker("tag", previous, want.ref)
        note = f"{want.ref} names the running image again"
        if replaced:
            self.say(f"[up] {want.name}: rolling the {replaced} replaced container(s) back")
            back = dataclasses.replace(want, image=previous)
            live = self.project.running(want.name)
            try:
                self.roll(
                    back, live, [c for c in live if not back.is_current(c)], rolling_back=True
                )
                note = f"the {replaced} replaced container(s) were rolled back; {note}"
            except DeployError as again:
                note = f"{note}, but rolling back failed too ({again}): run `make up` again"
        docker("image", "rm", want.image, check=False)  # the rejected build, if nothing uses it
        return DeployError(f"{error}; {note}")

    def add(self, want: Wanted) -> Container:
        """One new container beside the others, serving through the proxy; removed on failure."""
        assert self.proxy is not None
        before = {c.id for c in self.project.containers(want.name)}
        self.project.run(
            "up",
            "--no-start",
            "--no-deps",
            "--no-recreate",
            "--no-build",
            "--scale",
            f"{want.name}={len(before) + 1}",
            want.name,
        )
        new = next((c for c in self.project.containers(want.name) if c.id not in before), None)
        if new is None:
            raise DeployError(f"{want.name}: Compose created no new container")
        path = PROBE_PATHS[want.name]
        started = time.monotonic()
        try:
            aliases = {
                net: list(endpoint.get("Aliases") or []) for net, endpoint in new.networks.items()
            }
            # Warm up outside the service's name: reachable as itself, not yet as `want.name`.
            self.rejoin(
                new, {net: [a for a in names if a != want.name] for net, names in aliases.items()}
            )
            docker("start", new.name)
            try:
                healthy = wait_container_healthy(new.name, timeout=self.timeout)
            except ToolError:
                raise NotReady(self.health_failure(new, time.monotonic() - started)) from None
            if want.port:
                status = self.proxy.ask_directly(new, want.port, path)
                if not 200 <= status < 400:
                    raise NotReady(
                        f"answered {status or 'nothing'} to GET {path} before "
                        "joining (healthy, but not serving)"
                    )
            self.rejoin(new, aliases)
            if not self.proxy.follows_dns(want.name):
                self.proxy.reload()
            routed = self.proxy.routes_to(new, path)
        except (NotReady, ToolError) as error:
            raise self.abandon(new, str(error)) from None
        self.say(
            f"[up] {want.name}: {new.name} healthy in {healthy:.1f}s, answering through "
            f"the proxy {routed:.1f}s later"
        )
        return new

    def health_failure(self, new: Container, seconds: float) -> str:
        state = (inspect_containers(new.id) or [new])[0]
        if state.health == "unhealthy":
            what = f"turned unhealthy after {seconds:.0f}s"
        elif state.state != "running":
            what = f"stopped after {seconds:.0f}s ({state.state}, exit {state.exit_code})"
        else:
            what = f"was still {state.health or 'not healthy'} after {seconds:.0f}s"
        last_log = docker("logs", "--tail", "1", new.name, check=False).strip()
        return (
            f"{what}; last healthcheck: {state.health_log or 'none'}; last log line: "
            f"{last_log[-200:] or 'none'}"
        )

    def abandon(self, new: Container, why: str) -> DeployError:
        """Stop and remove a new container that did not take over; the error that says why."""
        self.retire(new, quiet=True)
        running = len(self.project.running(new.service))
        return DeployError(
            f"{new.service}: the new container {new.name} {why}. It was removed; "
            f"the {running} old container(s) keep serving"
        )

    def rejoin(self, container: Container, aliases: dict[str, list[str]]) -> None:
        """Reconnect the container to each network under these DNS aliases (Docker cannot change
        the aliases of a connected endpoint)."""
        for network, names in aliases.items():
            endpoint = container.networks.get(network) or {}
            static_ip = ((endpoint.get("IPAMConfig") or {}).get("IPv4Address")) or ""
            docker("network", "disconnect", network, container.name)
            docker(
                "network",
                "connect",
                *[arg for name in names for arg in ("--alias", name)],
                *(["--ip", static_ip] if static_ip else []),
                network,
                container.name,
            )

    def retire(self, container: Container, quiet: bool = False) -> None:
        """Stop a container gracefully (its own stop signal and grace period, which Compose set
        from stop_grace_period), then remove it."""
        started = time.monotonic()
        docker("stop", container.name, timeout=300)
        stopped = inspect_containers(container.id)
        code = stopped[0].exit_code if stopped else 0
        docker("rm", "--force", container.name)
        if (
            self.proxy
            and container.service != PROXY
            and not self.proxy.follows_dns(container.service)
        ):
            self.proxy.reload()
        if not quiet:
            drained = (
                "" if code in (0, 143) else f"; exit {code}: it did not finish in its grace period"
            )
            self.say(
                f"[up] {container.service}: {container.name} stopped in "
                f"{time.monotonic() - started:.1f}s{drained}"
            )

    # --- the proxy -----------------------------------------------------------------------
    def converge_proxy(self, container: Container, want: Wanted) -> None:
        # The config it runs is its own image's, unless `make up` installed another since.
        running = self.live_image(container) or container.image_label
        if container.config_hash == want.config_hash and running == want.image:
            self.say(f"[up] {PROXY}: unchanged")
            return
        self.check_config(want, running)
        reason = (
            "its Compose configuration changed"
            if container.config_hash != want.config_hash
            else self.not_reloadable(container.image, want.image)
        )
        if reason:
            self.recreate_proxy(want, running, reason)
        else:
            self.reload_config(container, want.image, running)

    def live_image(self, container: Container) -> str:
        """The image whose site config the proxy runs, when `make up` installed one."""
        return docker("exec", container.name, "cat", f"{LIVE_DIR}/.image", check=False).strip()

    def check_config(self, want: Wanted, running: str) -> None:
        """`nginx -t` in a one-off container of the new image, on the proxy's network (its
        upstreams' names resolve there). A failure changes nothing, the tag included."""
        assert self.proxy is not None
        check = run(
            ["docker", "run", "--rm", "--network", self.proxy.network, want.image, "nginx", "-t"],
            timeout=60,
            check=False,
        )
        if check.returncode != 0:
            docker("tag", running, want.ref, check=False)
            why = next(
                (line for line in check.stderr.splitlines() if "emerg" in line), check.stderr
            )
            raise DeployError(
                f"{PROXY}: the new image's config fails `nginx -t` ("
                f"{' '.join(why.split())[:300]}); the proxy keeps running as it "
                f"was, and {want.ref} names its image again"
            )

    @staticmethod
    def not_reloadable(running: str, new: str) -> str:
        """Why the new proxy image cannot be applied with a reload ("" when it can)."""
        old_image, new_image = inspect_images(running, new)
        source = new_image.labels.get(LIVE_LABEL)
        if not source or old_image.labels.get(LIVE_LABEL) != source:
            return "its image cannot reload its site config in place"
        if any(
            settings(old_image.config, k) != settings(new_image.config, k) for k in IMAGE_SETTINGS
        ):
            return "the image's settings changed"
        old_layers, new_layers = old_image.layers, new_image.layers
        if len(old_layers) != len(new_layers) or old_layers[:-1] != new_layers[:-1]:
            return "more than its site config changed"
        history = docker(
            "image", "history", "--no-trunc", "--format", "{{.CreatedBy}}", new
        ).splitlines()
        if not last_layer_copies_into(history, source):
            return f"its last layer is not a copy into {source}"
        return ""

    def reload_config(self, container: Container, new_image: str, running: str) -> None:
        assert self.proxy is not None
        started = time.monotonic()
        self.install_config(container, new_image)
        try:
            self.proxy.reload()
        except DeployError:
            self.install_config(container, running)
            raise
        self.say(
            f"[up] {PROXY}: only its site config changed: checked with nginx -t, installed "
            f"and reloaded in {time.monotonic() - started:.1f}s (the listening socket stays "
            "open)"
        )

    @staticmethod
    def install_config(container: Container, image: str) -> None:
        volume = next(
            (
                m["Name"]
                for m in container.mounts
                if m.get("Destination") == LIVE_DIR and m.get("Name")
            ),
            None,
        )
        if volume is None:
            raise DeployError(
                f"{PROXY}: {container.name} has no volume on {LIVE_DIR} to "
                "install a config into; recreate it with `make down && make up`"
            )
        docker(
            "run",
            "--rm",
            "--network",
            "none",
            "--volume",
            f"{volume}:{LIVE_DIR}",
            image,
            "install",
            image,
        )

    def recreate_proxy(self, want: Wanted, running: str, reason: str) -> None:
        started = time.monotonic()
        try:
            self.start_proxy()
        except ToolError as error:
            # Back to the image that ran: a proxy that does not come up is a full outage.
            docker("tag", running, want.ref)
            self.start_proxy()
            raise DeployError(
                f"{PROXY}: the new proxy did not turn healthy ({error}); the "
                f"previous image runs again and {want.ref} names it"
            ) from None
        self.say(
            f"[up] {PROXY}: recreated ({reason}) in {time.monotonic() - started:.1f}s; "
            "the connections open to it were closed"
        )

    def start_proxy(self) -> None:
        self.project.run("up", "--detach", "--no-deps", "--no-build", "--force-recreate", PROXY)
        wait_container_healthy(self.project.containers(PROXY)[0].name, timeout=self.timeout)


def deploy(
    project: ComposeProject,
    replicas: int | None = None,
    timeout: float = 120,
    say: Callable[[str], None] = print,
) -> float:
    """Roll a running stack to what its Compose file says now; seconds it took."""
    return Deploy(project, replicas, timeout, say).run()
