"""Which back-end replica served the requests, counted by the engine instead of read from the
answers: a learner's back-end sends no header naming itself, so the load test and the checker
ask the containers.

Two counters, in the order they are trusted:

- **access logs**: the lines a replica's server wrote for GET /api/hello (Flask's development
  server and gunicorn write one per request; the engine keeps them, with a timestamp each);
- **network counters**: the bytes each replica's interfaces have received. Every proxied
  request is about the same size, so the replicas' shares of the bytes are their shares of the
  requests; the count of requests itself comes from the client.

Both are read from the host: /proc/<pid>/net/dev when the engine's processes are this
machine's, else through `docker exec`; the logs through `docker logs --since`.
"""

from __future__ import annotations

import dataclasses
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

from softy_pinko_docker.docker import Container, ToolError, containers, docker, run

# A GET of /api/hello in any access-log format: `"GET /api/hello HTTP/1.1" 200` (werkzeug,
# gunicorn, Nginx's combined) or `"method":"GET","uri":"/api/hello"` (a JSON log).
API_REQUEST = re.compile(r"GET\b.{0,40}?[\s\"]/api/hello(?=[\s?\"]|$)")


def received_bytes(container: Container) -> int:
    """Bytes the container's network interfaces (not loopback) have received."""
    try:  # from the host, when the engine's processes are this machine's
        if container.id not in Path(f"/proc/{container.pid}/cgroup").read_text():
            raise OSError("another machine's process")  # a remote engine, Docker Desktop
        text = Path(f"/proc/{container.pid}/net/dev").read_text()
    except OSError:  # else inside the container
        text = docker("exec", container.id, "cat", "/proc/net/dev", check=False)
    total = 0
    for line in text.splitlines()[2:]:
        name, _, counters = line.partition(":")
        if name.strip() != "lo" and counters.split():
            total += int(counters.split()[0])
    return total


def _instant(stamp: str) -> float:
    """Seconds since the epoch of an engine timestamp (RFC 3339, nanoseconds, trailing zeros
    trimmed: compared as text, `.1Z` would sort after `.12Z`)."""
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    seconds = datetime.fromisoformat(whole).replace(tzinfo=UTC).timestamp()
    return seconds + float(f"0.{fraction or 0}")


def api_log_lines(container_id: str, since: float) -> tuple[int, float]:
    """How many GET /api/hello lines the container logged after `since` (epoch seconds), and
    the newest line's instant (`since` when none came)."""
    said = run(
        ["docker", "logs", "--timestamps", "--since", f"{since:.9f}", container_id],
        check=False,
        timeout=30,
    )
    count, newest = 0, since
    for line in (said.stdout + said.stderr).splitlines():
        stamp, _, text = line.partition(" ")
        try:
            instant = _instant(stamp)
        except ValueError:
            continue
        # --since is inclusive and rounds: a line at the boundary was counted last time.
        if instant > since and API_REQUEST.search(text):
            count += 1
            newest = max(newest, instant)
    return count, newest


def back_ends(host: str, service: str = "back-end") -> list[Container]:
    """The running containers of `service` in the Compose project whose container publishes
    `host`'s port; [] when no container publishes it (or the engine cannot be asked)."""
    parsed = urlparse(host)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        publishers = containers(f"publish={port}", all_states=False)
        project = publishers[0].labels.get("com.docker.compose.project") if publishers else None
        if not project:
            return []
        return containers(
            f"label=com.docker.compose.project={project}",
            f"label=com.docker.compose.service={service}",
            all_states=False,
        )
    except ToolError:
        return []


@dataclasses.dataclass
class Sample:
    """What each replica did since the previous sample."""

    logged: dict[str, int]  # GET /api/hello lines written
    received: dict[str, int]  # bytes received


class EngineCounter:
    """The replicas' counters, read again at each `sample()`: what moved since the last one.
    A replica that appears meanwhile (a scale-up) is counted from its first sample on."""

    def __init__(self, host: str, service: str = "back-end"):
        self.host, self.service = host, service
        self.started = time.time()
        self._log_since: dict[str, float] = {}
        self._bytes: dict[str, int] = {}
        self.replicas: list[Container] = []

    def sample(self) -> Sample:
        """What moved since the last sample. The new positions are kept only once every
        replica has been read: a sample that fails (or is stopped) halfway loses nothing, the
        next one counts it."""
        replicas = back_ends(self.host, self.service)
        logged, received = {}, {}
        log_since, at_bytes = dict(self._log_since), dict(self._bytes)
        for replica in replicas:
            since = log_since.get(replica.id, self.started)
            logged[replica.name], log_since[replica.id] = api_log_lines(replica.id, since)
            now = received_bytes(replica)
            received[replica.name] = now - at_bytes.get(replica.id, now)
            at_bytes[replica.id] = now
        self.replicas, self._log_since, self._bytes = replicas, log_since, at_bytes
        return Sample(logged, received)
