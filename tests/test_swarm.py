"""Task 6 on Docker Swarm: the same images, deployed with `docker stack deploy`.

The stack runs as `sp-test-swarm` on a free port, with 3 API replicas, through the same code as
`make swarm-up` (swarm.py). The engine is left as it was found: a swarm is made only when
the engine is in none, and then left again; the module's teardown asserts it.
"""

import json
import os
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

from softy_pinko_docker import swarm
from softy_pinko_docker.compose import free_port, wait_serving
from softy_pinko_docker.docker import Container, docker, docker_json
from softy_pinko_docker.load import Load
from support import REPO, get, wait_until

pytestmark = [pytest.mark.docker, pytest.mark.load, pytest.mark.swarm]

STACK = "sp-test-swarm"
BACK_END = f"{STACK}_back-end"


class SwarmStack:
    def __init__(self, port: int):
        self.url = f"http://127.0.0.1:{port}"

    @staticmethod
    def replicas() -> list[Container]:
        return [
            c for c in swarm.stack_containers(STACK) if swarm.short_name(c, STACK) == "back-end"
        ]

    def hostnames(self) -> set[str]:
        return {c.hostname for c in self.replicas()}

    @staticmethod
    def service(name: str = BACK_END) -> dict[str, Any]:
        return docker_json("service", "inspect", name)[0]


@pytest.fixture(scope="module")
def swarm_stack():
    before = swarm.engine_state()
    try:
        port = free_port()
        seconds, created = swarm.up(STACK, replicas=3, proxy_port=port)
        print(f"\nswarm stack {STACK} serving after {seconds:.1f}s (swarm created: {created})")
        yield SwarmStack(port)
    finally:
        try:
            swarm.remove(STACK)
        finally:
            if before["swarm"] != "active":  # a swarm made here, even by a failed up, goes
                swarm.leave_if_created()
    assert swarm.engine_state() == before, "the engine's swarm state was not restored"


@pytest.mark.parametrize("service", ["proxy", "back-end", "front-end"])
def test_every_service_is_hardened(swarm_stack, service):
    spec = swarm_stack.service(f"{STACK}_{service}")["Spec"]
    container = spec["TaskTemplate"]["ContainerSpec"]
    assert container["ReadOnly"] is True
    assert container["CapabilityDrop"] == ["ALL"]
    # Writable: a scratch tmpfs, and for the proxy the volume of its live site config.
    writable = {"/tmp": "tmpfs", **({"/etc/nginx/live": "volume"} if service == "proxy" else {})}
    assert {m["Target"]: m["Type"] for m in container["Mounts"]} == writable
    limits = spec["TaskTemplate"]["Resources"]["Limits"]
    assert limits["Pids"] == 128 and limits["MemoryBytes"] <= 160 * 2**20
    assert spec["EndpointSpec"]["Mode"] == "dnsrr"
    assert spec["TaskTemplate"]["RestartPolicy"]["Condition"] == "any"
    for found in swarm.stack_containers(STACK):
        if swarm.short_name(found, STACK) == service:
            assert found.health == "healthy", found.name
            assert found.user not in ("", "0", "root"), found.name


def test_updates_are_safe_and_the_proxy_uses_the_host_port(swarm_stack):
    back_end = swarm_stack.service()["Spec"]
    update = back_end["UpdateConfig"]
    assert (update["Order"], update["FailureAction"], update["Parallelism"]) == (
        "start-first",
        "rollback",
        1,
    )
    assert back_end["RollbackConfig"]["Order"] == "start-first"
    assert update["Monitor"] > 0
    proxy = swarm_stack.service(f"{STACK}_proxy")
    assert [p["PublishMode"] for p in proxy["Endpoint"]["Ports"]] == ["host"]
    assert proxy["Spec"]["UpdateConfig"]["Order"] == "stop-first"  # one host port per node


def test_routing_and_every_replica_names_itself(swarm_stack):
    page = get(f"{swarm_stack.url}/")
    assert page.status_code == 200 and "dynamic-content" in page.text
    seen = {get(f"{swarm_stack.url}/api/hello").headers["X-Served-By"] for _ in range(9)}
    assert seen == swarm_stack.hostnames()


def test_swarm_up_on_a_taken_port_is_a_one_line_error(swarm_stack):
    port = swarm_stack.url.rsplit(":", 1)[1]  # the test stack's proxy holds it
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "softy_pinko_docker", "swarm", "up", "--stack", "sp-test-taken"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PROXY_PORT": port},
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        f"error: port {port} is already in use on 127.0.0.1 "
        "(`make down`? or choose another: PROXY_PORT=8080 make "
        "swarm-up)"
    )
    assert time.monotonic() - started < 10
    assert "sp-test-taken" not in docker("stack", "ls")


def test_round_robin_is_even_across_swarm_replicas(swarm_stack):
    with Load(f"{swarm_stack.url}/api/hello", threads=4, max_requests=3000, max_seconds=90) as load:
        load.wait()
    print(f"\nswarm round-robin over 3 replicas: {load.summary()}")
    assert len(load.records) >= 3000, load.summary()
    assert set(load.shares()) == swarm_stack.hostnames(), load.summary()
    load.assert_even(replicas=3)


# Load records monotonic times; Docker records wall-clock ones.
WALL_MINUS_MONOTONIC = time.time() - time.monotonic()


class HealthEvents:
    """The engine's health events as they happen: each container's first turn to healthy, to the
    nanosecond. (Its health log keeps only the last five probes, ten seconds at this stack's
    interval, and Swarm's task times lag when its agent reports late: 12 s and 22 s seen on a
    loaded machine, which made a replica look as if it served before it was healthy.)"""

    def __init__(self) -> None:
        self.healthy: dict[str, float] = {}
        self._events = subprocess.Popen(
            ["docker", "events", "--format", "{{json .}}", "--filter", "type=container"]
            + ["--filter", "event=health_status"],
            stdout=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._events.stdout is not None
        for line in self._events.stdout:
            event = json.loads(line)
            if event["Action"] == "health_status: healthy":
                self.healthy.setdefault(event["id"], event["timeNano"] / 1e9)

    def since(self, container: Container) -> float:
        wait_until(lambda: container.id in self.healthy, 10, f"{container.name}'s healthy event")
        return self.healthy[container.id]

    def close(self) -> None:
        self._events.terminate()
        self._events.wait(timeout=10)
        self._reader.join(timeout=10)
        if self._events.stdout:
            self._events.stdout.close()


def _served_after(load: Load, hostnames: set[str], since: float) -> set[str]:
    return {r.served_by for r in load.records if r.at >= since and r.served_by in hostnames}


@pytest.fixture
def three_replicas_after(swarm_stack):
    """Put the back-end back at 3 replicas, serving, whatever the test did."""
    yield
    docker("service", "scale", "--detach", f"{BACK_END}=3")
    swarm.wait_ready(STACK, expect={"back-end": 3}, timeout=90)
    wait_serving(f"{swarm_stack.url}/api/hello", 3)


@pytest.fixture
def health_events():
    events = HealthEvents()
    try:
        yield events
    finally:
        events.close()


def test_scaling_up_and_down_under_load_costs_no_request(
    swarm_stack, three_replicas_after, health_events
):
    with Load(f"{swarm_stack.url}/api/hello", max_seconds=150) as load:
        load.wait_for(200)
        before = swarm_stack.hostnames()
        docker("service", "scale", "--detach", f"{BACK_END}=5")
        swarm.wait_ready(STACK, expect={"back-end": 5}, timeout=90)
        up = swarm_stack.hostnames()
        added = up - before
        assert len(added) == 2
        wait_until(lambda: _served_after(load, added, 0) == added, 15, "both new replicas to serve")
        # Swarm lists a task in DNS only once it is healthy: no request reaches a new replica
        # before its first passing healthcheck. (A record's time is its answer's arrival, a
        # few milliseconds after the request reached the replica.)
        for replica in swarm_stack.replicas():
            if replica.hostname in added:
                first = min(r.at for r in load.records if r.served_by == replica.hostname)
                lead = health_events.since(replica) - (first + WALL_MINUS_MONOTONIC)
                print(f"\nnew replica {replica.hostname}: first request {-lead:+.2f}s from healthy")
                assert lead <= 0.1, f"{replica.hostname} served {lead:.2f}s before it was healthy"
        docker("service", "scale", "--detach", f"{BACK_END}=2")
        swarm.wait_ready(STACK, expect={"back-end": 2}, timeout=90)
        load.wait_for(len(load.records) + 600)
    print(f"\nswarm scale 3 -> 5 -> 2: {load.summary()}")
    assert not load.failures, load.summary()


def test_rolling_update_under_load_costs_no_request(swarm_stack):
    old = swarm_stack.hostnames()
    with Load(f"{swarm_stack.url}/api/hello", max_seconds=240) as load:
        load.wait_for(200)
        started = time.monotonic()
        docker("service", "update", "--force", "--detach=false", "--quiet", BACK_END, timeout=200)
        took = time.monotonic() - started
        swarm.wait_ready(STACK, expect={"back-end": 3}, timeout=60)
        new = swarm_stack.hostnames()
        marker = time.monotonic()
        wait_until(
            lambda: _served_after(load, new, marker) == new, 15, "every new replica to serve"
        )
        load.wait_for(len(load.records) + 300)
    state = swarm_stack.service()["UpdateStatus"]["State"]
    print(f"\nswarm rolling update of 3 replicas in {took:.1f}s ({state}): {load.summary()}")
    assert state == "completed", f"the update ended {state!r}, not completed"
    assert not new & old, "every replica should have been replaced"
    assert not load.failures, load.summary()
