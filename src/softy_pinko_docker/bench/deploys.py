"""`make bench`, part 2: what shipping a change costs, counted in failed requests.

On a copy of task6 (its own folder, project `bench-deploy` and image tags, so nothing of the
repo or of a running `make up` stack is touched), under the mix of load.py (eight
keep-alive clients: 4 plain and 2 retrying on /api/hello, 2 plain on the page):

1. a back-end code change shipped by `make up` (rollout.py), with 2 and with 3 replicas,
   ROUNDS times each: failed requests and how long the roll took;
2. the same change shipped by plain `docker compose up -d --build --scale back-end=N` (what the
   curriculum's command does), until every container is healthy again, for comparison;
3. RELOADS x `nginx -s reload` of the proxy: what plain clients lose (a request racing the close
   of an idle keep-alive connection) and what retrying clients lose (nothing, we expect);
4. a proxy change that needs a new container (its nginx.conf): what recreating it costs.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from softy_pinko_docker import load, stack
from softy_pinko_docker.compose import ComposeProject, copy_task, free_port
from softy_pinko_docker.docker import docker, remove_images

PROJECT = "bench-deploy"
TAG = "bench-deploy"
ROUNDS = 2
RELOADS = 5


class Copy:
    """task6's copy, brought up and changed the way a user would."""

    def __init__(self, root: Path):
        self.dir = copy_task("task6", root / "task6", TAG)
        port = free_port()
        self.project = ComposeProject(self.dir, PROJECT, {"PROXY_PORT": str(port)})
        self.url = f"http://127.0.0.1:{port}"
        self.version = 0

    def fresh(self, replicas: int) -> None:
        self.project.down()
        self.project.up(replicas)

    def change_back_end(self) -> None:
        """A new version of the API: one more line in api.py, so a new image."""
        self.version += 1
        with (self.dir / "back-end" / "api.py").open("a") as api:
            api.write(f"\n# version {self.version}\n")

    def make_up(self, replicas: int) -> float:
        return stack.up(self.project, replicas, say=lambda _line: None)

    def compose_up(self, replicas: int) -> float:
        """The curriculum's way: `docker compose up -d --build --scale back-end=N`, then wait
        until every container is healthy."""
        started = time.monotonic()
        self.project.run("up", "--detach", "--build", "--scale", f"back-end={replicas}")
        self.project.wait_healthy(120, {"back-end": replicas})
        return time.monotonic() - started

    def proxy(self) -> str:
        return self.project.containers("proxy")[0].name


def counted(flows: load.Mix, seconds: float | None = None) -> dict[str, Any]:
    return {
        "failed": flows.failed(),
        "requests": flows.requests(),
        "outage_s": round(flows.outage_s(), 2),
        "slowest_ms": round(max(clients.slowest() for clients in flows.loads()) * 1000),
        **({"seconds": round(seconds, 1)} if seconds is not None else {}),
    }


def ship_back_end(copy: Copy, replicas: int, log: Callable[[str], None]) -> dict[str, Any]:
    """(1) and (2) with `replicas` API replicas: ROUNDS rolls by `make up`, then one plain
    `compose up --build`."""
    copy.fresh(replicas)
    rolls = []
    for n in range(ROUNDS):
        copy.change_back_end()
        with load.mix(copy.url) as flows:
            seconds = copy.make_up(replicas)
        rolls.append(counted(flows, seconds))
        log(
            f"make up, back-end change, {replicas} replicas, round {n + 1}: {seconds:.1f}s, "
            f"failed {flows.failed()} of {flows.requests()}"
        )
    copy.change_back_end()
    with load.mix(copy.url) as flows:
        seconds = copy.compose_up(replicas)
    plain = counted(flows, seconds)
    log(
        f"docker compose up --build, {replicas} replicas: {seconds:.1f}s, failed "
        f"{flows.failed()} of {flows.requests()} over {plain['outage_s']}s"
    )
    return {"make_up": rolls, "compose_up": plain}


def reload_proxy(copy: Copy, log: Callable[[str], None]) -> dict[str, Any]:
    """(3) RELOADS reloads in a row, each followed by 300 answers."""
    proxy = copy.proxy()
    with load.mix(copy.url) as flows:
        for _ in range(RELOADS):
            before = len(flows.api.records)
            docker("exec", proxy, "nginx", "-s", "reload")
            flows.api.wait_for(before + 300)
    log(f"{RELOADS} x nginx -s reload: failed {flows.failed()} of {flows.requests()}")
    return {"reloads": RELOADS, **counted(flows)}


def recreate_proxy(copy: Copy, log: Callable[[str], None]) -> dict[str, Any]:
    """(4) an nginx.conf change, which `make up` ships by recreating the proxy."""
    nginx_conf = copy.dir / "proxy" / "nginx.conf"
    nginx_conf.write_text(
        nginx_conf.read_text().replace("keepalive_timeout 65;", "keepalive_timeout 64;")
    )
    with load.mix(copy.url) as flows:
        seconds = copy.make_up(3)
    log(
        f"make up, nginx.conf change (proxy recreated): failed {flows.failed()} of "
        f"{flows.requests()} over {flows.outage_s():.2f}s"
    )
    return counted(flows, seconds)


def measure(log: Callable[[str], None]) -> dict[str, Any]:
    results: dict[str, Any] = {
        "method": "src/softy_pinko_docker/load.py mix: 4 plain + 2 retrying keep-alive "
        "clients on /api/hello, 2 plain on /, via the proxy"
    }
    with tempfile.TemporaryDirectory(prefix="bench-deploy-") as tmp:
        copy = Copy(Path(tmp))
        try:
            for replicas in (2, 3):
                results[f"replicas_{replicas}"] = ship_back_end(copy, replicas, log)
            results["proxy_reload"] = reload_proxy(copy, log)
            results["proxy_recreate"] = recreate_proxy(copy, log)
        finally:
            copy.project.down()
            remove_images(f"*:{TAG}")
    rolls = [r for n in (2, 3) for r in results[f"replicas_{n}"]["make_up"]]
    results["deploy_failed_requests"] = sum(sum(r["failed"].values()) for r in rolls)
    results["deploy_s"] = {
        str(n): [r["seconds"] for r in results[f"replicas_{n}"]["make_up"]] for n in (2, 3)
    }
    results["reload_failed_retrying"] = results["proxy_reload"]["failed"]["api_retrying"]
    return results


def table(results: dict[str, Any]) -> list[tuple[str, str]]:
    """Rows for bench.py's table."""

    def failed(entry: dict[str, Any]) -> str:
        f = entry["failed"]
        return (
            f"{sum(f.values())} failed of {entry['requests']} (api plain {f['api_plain']}, "
            f"api retrying {f['api_retrying']}, page {f['page_plain']})"
        )

    rows = []
    for n in (2, 3):
        entry = results[f"replicas_{n}"]
        for i, roll in enumerate(entry["make_up"], 1):
            rows.append(
                (
                    f"make up, back-end change, {n} replicas (#{i})",
                    f"{roll['seconds']:.1f} s, {failed(roll)}, slowest {roll['slowest_ms']} ms",
                )
            )
        plain = entry["compose_up"]
        rows.append(
            (
                f"docker compose up --build, {n} replicas",
                f"{plain['seconds']:.1f} s, {failed(plain)}, over {plain['outage_s']:.1f} s",
            )
        )
    rows.append((f"{RELOADS} x nginx -s reload", failed(results["proxy_reload"])))
    recreate = results["proxy_recreate"]
    rows.append(
        (
            "make up, nginx.conf change (proxy recreated)",
            f"{failed(recreate)}, over {recreate['outage_s']:.1f} s",
        )
    )
    return rows
