"""Ship a change to a running stack without failing a request: `make up` on a stack that is up.

`docker compose up` recreates every container of a changed service at once; for task6's API
replicas that is seconds of 503s (BENCHMARKS.md, "Shipping a change"). Here each service goes
its own way, in the order of the Compose file, the proxy last:

- **Behind the proxy, no host port of its own** (back-end, front-end): rolled one container at a
  time, like Swarm's `order: start-first` or a Kubernetes RollingUpdate with `maxUnavailable: 0`.
  A new container is created beside the old ones and started *outside* the service's DNS name; it
  joins the name only once its healthcheck passes, so the proxy never sends it a request it cannot
  answer yet; then a request through the proxy must reach it. Only then is one old container
  stopped gracefully: SIGTERM, it finishes what it is serving, and the proxy retries idempotent
  requests on the others. Scaling up or down goes the same way.
- **The proxy**: an image that differs from the running one only in its last layer, the site
  config (task6/proxy/live-config.sh), is applied in place: the new config is checked with
  `nginx -t` in a one-off container of the new image, installed by another, and loaded with
  `nginx -s reload`, which keeps every connection. Any other change recreates the proxy, which
  cuts the connections open at that moment.
- **A service that publishes a host port** (task4) cannot run two containers at once: Compose
  recreates it.
- **A proxy that resolves its upstreams only when it loads its config** (task5) is reloaded
  whenever a container joins or leaves.

A new container that never turns healthy, or that the proxy never reaches, is stopped and
removed; the old ones keep serving; DeployError says which service and why in one line.
"""
from __future__ import annotations

import dataclasses
import http.client
import json
import re
import subprocess
import time
import uuid
from collections.abc import Callable

import stack
from load import KeepAliveClient
from stack import Container, StackError

PROXY = "proxy"
LIVE_DIR = "/etc/nginx/live"                   # where the proxy's Nginx reads its site config
LIVE_LABEL = "org.softy-pinko.live-config"     # set by a proxy image that supports the above
# A request through the proxy that reaches each kind of service (stack.PUBLISHED has the paths).
PROBE_PATHS = {service: path for service, (_, _, path) in stack.PUBLISHED.items()}
# Image settings that, if any differs, make a change more than a config change.
IMAGE_SETTINGS = ("Cmd", "Entrypoint", "Env", "ExposedPorts", "Healthcheck", "Labels",
                  "OnBuild", "Shell", "StopSignal", "User", "Volumes", "WorkingDir")


class DeployError(StackError):
    """A rolled deploy stopped; the message is one line, and every old container still serves."""


@dataclasses.dataclass
class Wanted:
    """What the Compose file asks of one service now."""
    name: str
    config_hash: str
    ref: str            # its `image:` (name:tag)
    image: str          # the ID of the image that tag names, just built
    count: int
    publishes: bool     # it publishes a host port itself

    def is_current(self, container: Container) -> bool:
        return (container.config_hash == self.config_hash
                and container.image_label == self.image)


def docker(*args: str, check: bool = True, timeout: float = 120) -> str:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise StackError(f"docker {' '.join(args[:3])} failed: "
                         + " ".join((proc.stderr or proc.stdout).split())[:400])
    return proc.stdout


def image_id(reference: str) -> str:
    return docker("image", "inspect", "--format", "{{.Id}}", reference).strip()


def follows_dns(nginx_config: str, service: str) -> bool:
    """Does this Nginx configuration re-resolve `service` by itself (`server NAME:PORT ...
    resolve` in an upstream), or only when it is loaded?"""
    pattern = rf"^\s*server\s+{re.escape(service)}(:\d+)?\s[^;]*\bresolve\b"
    return re.search(pattern, nginx_config, re.MULTILINE) is not None


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
        return {line.split()[0] for line in out.splitlines()[1:]
                if line.rstrip().endswith("nginx: worker process")}

    def reload(self, timeout: float = 15) -> None:
        """`nginx -s reload`, and wait until new workers run: a reload Nginx refuses leaves the
        old ones in place and says why only in its log."""
        before = self.workers()
        self._config = ""
        docker("exec", self.container.name, "nginx", "-s", "reload")
        deadline = time.monotonic() + timeout
        while not (self.workers() - before):
            if time.monotonic() > deadline:
                tail = docker("logs", "--tail", "5", self.container.name, check=False)
                raise DeployError(f"{PROXY}: `nginx -s reload` started no new workers in "
                                  f"{timeout:.0f}s; its log: {' '.join(tail.split())[-300:]}")
            time.sleep(0.1)

    def routes_to(self, container: Container, path: str, timeout: float = 20) -> float:
        """Send requests through the proxy until one reaches `container`; seconds it took.

        Each request carries a fresh X-Request-ID, which the proxy passes on and every service
        behind it logs: seeing one in the container's own (young, short) log proves the path
        proxy -> container. The proxy's log would say the same, but reading it means scanning
        everything the proxy has logged since it started."""
        token, started = f"rollout-{uuid.uuid4().hex[:12]}", time.monotonic()
        client = KeepAliveClient(f"http://127.0.0.1:{self.host_port}", timeout=5)
        sent = 0
        try:
            while time.monotonic() - started < timeout:
                for _ in range(4):
                    try:
                        client.get(path, {"X-Request-ID": f"{token}-{sent}"})
                    except (OSError, http.client.HTTPException):
                        client.close()
                    sent += 1
                if token in docker("logs", container.name, check=False):
                    return time.monotonic() - started
                time.sleep(0.1)
        finally:
            client.close()
        raise TimeoutError(f"none of {sent} requests through the proxy reached it in "
                           f"{timeout:.0f}s")


class Deploy:
    """One `make up` on a running stack. `say` prints a line of progress."""

    def __init__(self, task: str, project: str, replicas: int | None = None,
                 env: dict | None = None, timeout: float = 120,
                 say: Callable[[str], None] = print):
        self.task, self.project, self.env = task, project, env
        self.replicas, self.timeout, self.say = replicas, timeout, say
        self.wanted: dict[str, Wanted] = {}
        self.proxy: Proxy | None = None

    def compose(self, *args: str, timeout: float = 600) -> str:
        return stack.compose(self.task, self.project, *args, env=self.env, capture=True,
                             timeout=timeout).stdout

    # --- the plan ------------------------------------------------------------------------
    def read_wanted(self) -> None:
        config = json.loads(self.compose("config", "--format", "json"))
        hashes = dict(line.split() for line in self.compose("config", "--hash", "*").splitlines())
        for name, spec in config["services"].items():
            count = int(spec.get("scale") or (spec.get("deploy") or {}).get("replicas") or 1)
            if name == "back-end" and self.replicas is not None:
                count = self.replicas
            self.wanted[name] = Wanted(name, hashes[name], spec["image"], image_id(spec["image"]),
                                       count,
                                       publishes=bool(spec.get("ports")) and name != PROXY)

    def find_proxy(self) -> None:
        running = [c for c in stack.project_containers(self.project, PROXY)
                   if c.state == "running"]
        if running and PROXY in self.wanted:
            port = self.compose("port", PROXY, "80").strip().rsplit(":", 1)[-1]
            self.proxy = Proxy(running[0], int(port))

    def run(self) -> float:
        """Build, then bring every service to what the Compose file says; seconds it took."""
        started = time.monotonic()
        self.say(f"[up] {self.project} is running: building, then replacing what changed "
                 "without failing a request")
        self.compose("build", "--quiet", timeout=900)
        self.read_wanted()
        self.find_proxy()
        for name in sorted(self.wanted, key=lambda n: n == PROXY):  # the proxy last
            self.converge(self.wanted[name])
        # Whatever else Compose has to do (a new service, a network, orphans), recreating nothing.
        self.compose("up", "--detach", "--no-recreate", "--no-build", "--remove-orphans",
                     *[arg for w in self.wanted.values() for arg in ("--scale", f"{w.name}={w.count}")])
        stack.wait_healthy(self.project, timeout=self.timeout,
                           expect={w.name: w.count for w in self.wanted.values()})
        return time.monotonic() - started

    def converge(self, want: Wanted) -> None:
        mine = stack.project_containers(self.project, want.name)
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
            self.compose("up", "--detach", "--no-deps", "--no-build", "--scale",
                         f"{want.name}={want.count}", want.name)
            return
        self.roll(want, live, old)

    # --- a service behind the proxy ------------------------------------------------------
    def roll(self, want: Wanted, live: list[Container], old: list[Container]) -> None:
        started = time.monotonic()
        current = [c for c in live if c not in old]
        # Fewer wanted: retire the surplus first, old containers before current ones.
        surplus = max(len(live) - want.count, 0)
        for container in (old + sorted(current, key=lambda c: -c.number))[:surplus]:
            self.retire(container)
            (old if container in old else current).remove(container)
        if old:
            self.say(f"[up] {want.name}: {len(old)} of {len(old) + len(current)} container(s) "
                     f"run an old image or configuration; replacing them one at a time")
        for done, container in enumerate(old):
            try:
                self.add(want)
            except DeployError as error:
                if done:
                    raise DeployError(f"{error} ({done} of {len(old)} were replaced before "
                                      "this one)") from None
                # Nothing runs the new image: the tag goes back to what runs, so a plain
                # `docker compose up` does not start the failed build everywhere at once.
                docker("tag", container.image, want.ref)
                raise DeployError(f"{error}; {want.ref} names the running image again") from None
            self.retire(container)
        for _ in range(want.count - len(current) - len(old)):
            self.add(want)
        self.say(f"[up] {want.name}: {want.count} current container(s) after "
                 f"{time.monotonic() - started:.1f}s")

    def add(self, want: Wanted) -> Container:
        """One new container beside the others, serving through the proxy; removed on failure."""
        before = {c.id for c in stack.project_containers(self.project, want.name)}
        self.compose("up", "--no-start", "--no-deps", "--no-recreate", "--no-build", "--scale",
                     f"{want.name}={len(before) + 1}", want.name)
        new = next(c for c in stack.project_containers(self.project, want.name)
                   if c.id not in before)
        aliases = {net: list(endpoint.get("Aliases") or []) for net, endpoint in new.networks.items()}
        # Warm up outside the service's name: reachable as itself, not yet as `want.name`.
        self.rejoin(new, {net: [a for a in names if a != want.name] for net, names in aliases.items()})
        docker("start", new.name)
        started = time.monotonic()
        try:
            healthy = stack.wait_container_healthy(new.name, timeout=self.timeout)
            self.rejoin(new, aliases)
            if not self.proxy.follows_dns(want.name):
                self.proxy.reload()
            routed = self.proxy.routes_to(new, PROBE_PATHS[want.name])
        except (StackError, TimeoutError) as error:
            raise self.abandon(new, error, time.monotonic() - started) from None
        self.say(f"[up] {want.name}: {new.name} healthy in {healthy:.1f}s, answering through "
                 f"the proxy {routed:.1f}s later")
        return new

    def abandon(self, new: Container, error: Exception, seconds: float) -> DeployError:
        """Stop and remove a new container that did not take over; the error that says why."""
        state = (stack.inspect_containers(new.id) or [new])[0]
        last_log = docker("logs", "--tail", "1", new.name, check=False).strip()
        self.retire(state, quiet=True)
        if isinstance(error, TimeoutError):
            what = f"was never reached through the proxy ({error})"
        elif state.health == "unhealthy":
            what = f"turned unhealthy after {seconds:.0f}s"
        elif state.state != "running":
            what = f"stopped after {seconds:.0f}s ({state.state}, exit {state.exit_code})"
        else:
            what = f"was still {state.health or 'not healthy'} after {seconds:.0f}s"
        running = len(stack.project_containers(self.project, new.service))
        return DeployError(
            f"{new.service}: the new container {new.name} {what}; last healthcheck: "
            f"{state.health_log or 'none'}; last log line: {last_log[-200:] or 'none'}. "
            f"It was removed; the {running} old container(s) keep serving")

    def rejoin(self, container: Container, aliases: dict[str, list[str]]) -> None:
        """Reconnect the container to each network under these DNS aliases (Docker cannot change
        the aliases of a connected endpoint)."""
        for network, names in aliases.items():
            endpoint = container.networks.get(network) or {}
            static_ip = ((endpoint.get("IPAMConfig") or {}).get("IPv4Address")) or ""
            docker("network", "disconnect", network, container.name)
            docker("network", "connect", *[arg for name in names for arg in ("--alias", name)],
                   *(["--ip", static_ip] if static_ip else []), network, container.name)

    def retire(self, container: Container, quiet: bool = False) -> None:
        """Stop a container gracefully (its own stop signal and grace period, which Compose set
        from stop_grace_period), then remove it."""
        started = time.monotonic()
        docker("stop", container.name, timeout=300)
        stopped = stack.inspect_containers(container.id)
        code = stopped[0].exit_code if stopped else 0
        docker("rm", "--force", container.name)
        if self.proxy and container.service != PROXY and not self.proxy.follows_dns(container.service):
            self.proxy.reload()
        if not quiet:
            drained = "" if code in (0, 143) else f"; exit {code}: it did not finish in its grace period"
            self.say(f"[up] {container.service}: {container.name} stopped in "
                     f"{time.monotonic() - started:.1f}s{drained}")

    # --- the proxy -----------------------------------------------------------------------
    def converge_proxy(self, container: Container, want: Wanted) -> None:
        if container.config_hash != want.config_hash:
            return self.recreate_proxy("its Compose configuration changed")
        # The config it runs is its own image's, unless `make up` installed another since.
        if (self.live_image(container) or container.image_label) == want.image:
            self.say(f"[up] {PROXY}: unchanged")
            return None
        reason = self.not_reloadable(container.image, want.image)
        if reason:
            return self.recreate_proxy(reason)
        return self.reload_config(container, want.image)

    def live_image(self, container: Container) -> str:
        """The image whose site config the proxy runs, when `make up` installed one."""
        return docker("exec", container.name, "cat", f"{LIVE_DIR}/.image", check=False).strip()

    @staticmethod
    def not_reloadable(running: str, new: str) -> str:
        """Why the new proxy image cannot be applied with a reload ("" when it can)."""
        old_image, new_image = json.loads(docker("image", "inspect", running, new))
        source = (new_image["Config"].get("Labels") or {}).get(LIVE_LABEL)
        if not source or (old_image["Config"].get("Labels") or {}).get(LIVE_LABEL) != source:
            return "its image cannot reload its site config in place"
        if any(old_image["Config"].get(k) != new_image["Config"].get(k) for k in IMAGE_SETTINGS):
            return "the image's settings changed"
        old_layers, new_layers = old_image["RootFS"]["Layers"], new_image["RootFS"]["Layers"]
        if len(old_layers) != len(new_layers) or old_layers[:-1] != new_layers[:-1]:
            return "more than its site config changed"
        history = docker("image", "history", "--no-trunc", "--format", "{{.Size}}\t{{.CreatedBy}}",
                         new).splitlines()
        last_layer = next((line for line in history if not line.startswith("0B")), "")
        if source not in last_layer:
            return f"its last layer is not the site config ({source})"
        return ""

    def reload_config(self, container: Container, new_image: str) -> None:
        started = time.monotonic()
        check = subprocess.run(["docker", "run", "--rm", "--network", self.proxy.network,
                                new_image, "nginx", "-t"], capture_output=True, text=True,
                               timeout=60)
        if check.returncode != 0:
            why = next((l for l in check.stderr.splitlines() if "emerg" in l), check.stderr)
            raise DeployError(f"{PROXY}: the new site config fails `nginx -t` ("
                              f"{' '.join(why.split())[:300]}); the proxy keeps its config")
        previous = self.live_image(container) or container.image
        self.install_config(container, new_image)
        try:
            self.proxy.reload()
        except DeployError:
            self.install_config(container, previous)
            raise
        self.say(f"[up] {PROXY}: only its site config changed: checked with nginx -t, installed "
                 f"and reloaded in {time.monotonic() - started:.1f}s (the listening socket stays "
                 "open)")

    @staticmethod
    def install_config(container: Container, image: str) -> None:
        volume = next((m["Name"] for m in container.mounts
                       if m.get("Destination") == LIVE_DIR and m.get("Name")), None)
        if volume is None:
            raise DeployError(f"{PROXY}: {container.name} has no volume on {LIVE_DIR} to "
                              "install a config into; recreate it with `make down && make up`")
        docker("run", "--rm", "--network", "none", "--volume", f"{volume}:{LIVE_DIR}",
               image, "install", image)

    def recreate_proxy(self, reason: str) -> None:
        started = time.monotonic()
        self.compose("up", "--detach", "--no-deps", "--no-build", "--force-recreate", PROXY)
        container = stack.project_containers(self.project, PROXY)[0]
        stack.wait_container_healthy(container.name, timeout=self.timeout)
        self.say(f"[up] {PROXY}: recreated ({reason}) in {time.monotonic() - started:.1f}s; "
                 "the connections open to it were closed")


def deploy(task: str, project: str, replicas: int | None = None, env: dict | None = None,
           timeout: float = 120, say: Callable[[str], None] = print) -> float:
    """Roll a running stack to what its Compose file says now; seconds it took."""
    return Deploy(task, project, replicas, env, timeout, say).run()
