"""The running proxy as a deploy uses it: its config, its workers, a graceful reload, and
whether a new container answers through it."""

from __future__ import annotations

import http.client
import re
import time
import uuid

from softy_pinko_docker.compose import PUBLISHED
from softy_pinko_docker.deploy.wanted import SETTINGS_ONLY, DeployError, NotReady
from softy_pinko_docker.docker import (
    Container,
    ToolError,
    docker,
    poll,
)
from softy_pinko_docker.load import KeepAliveClient

PROXY = "proxy"


LIVE_DIR = "/etc/nginx/live"  # where the proxy's Nginx reads its site config


LIVE_LABEL = "org.softy-pinko.live-config"  # set by a proxy image that supports the above


# A request through the proxy that reaches each kind of service (compose.PUBLISHED has the paths).
PROBE_PATHS = {service: path for service, (_, _, path) in PUBLISHED.items()}


def follows_dns(nginx_config: str, service: str) -> bool:
    """Does this Nginx configuration re-resolve `service` by itself (`server NAME:PORT ...
    resolve` in an upstream), or only when it is loaded?"""
    pattern = rf"^\s*server\s+{re.escape(service)}(:\d+)?\s[^;]*\bresolve\b"
    return re.search(pattern, nginx_config, re.MULTILINE) is not None


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
