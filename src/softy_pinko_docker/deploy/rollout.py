"""The deploy: every service brought to what the Compose file says, one container at a time
behind the proxy (see the package's docstring); `deploy()` is what `make up` calls on a running
stack."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from softy_pinko_docker.compose import ComposeProject
from softy_pinko_docker.deploy.proxy import PROBE_PATHS, PROXY, Proxy
from softy_pinko_docker.deploy.proxy_change import ProxyChange
from softy_pinko_docker.deploy.wanted import DeployError, NotReady, Wanted, project_lock
from softy_pinko_docker.docker import (
    Container,
    ToolError,
    docker,
    image_id,
    inspect_containers,
    wait_container_healthy,
)


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
                ProxyChange(self.project, self.proxy, self.timeout, self.say).converge(
                    live[0], want
                )
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


def deploy(
    project: ComposeProject,
    replicas: int | None = None,
    timeout: float = 120,
    say: Callable[[str], None] = print,
) -> float:
    """Roll a running stack to what its Compose file says now; seconds it took."""
    return Deploy(project, replicas, timeout, say).run()
