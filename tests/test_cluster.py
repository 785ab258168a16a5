"""task6 on a three-node Swarm (cluster.py): images through a registry, replicas spread
over the nodes, a node killed, drained and brought back, and a rolling update, all under load
from keep-alive clients, counting every failed GET."""

from __future__ import annotations

import shutil
import time

import pytest

from softy_pinko_docker import cluster
from softy_pinko_docker.docker import docker
from softy_pinko_docker.load import Load
from support import REPO, wait_until

pytestmark = [pytest.mark.docker, pytest.mark.cluster]
MANAGER = cluster.node_name(1)


def target() -> cluster.Target:
    return cluster.Target.simulated()


def engine_state() -> dict[str, set[str]]:
    """What the host engine holds, the cluster's base images aside (they are cached)."""
    images = docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}").split()
    return {
        "containers": set(docker("ps", "-aq").split()),
        "networks": set(docker("network", "ls", "-q").split()),
        "volumes": set(docker("volume", "ls", "-q").split()),
        "images": {i for i in images if i.startswith("127.0.0.1:") or i.endswith(":cluster-next")},
    }


@pytest.fixture(scope="module")
def nodes():
    before = engine_state()
    cluster.down()  # a cluster left by an interrupted run
    started = time.monotonic()
    cluster.up(3, replicas=3)
    print(f"\ncluster up in {time.monotonic() - started:.0f}s")
    yield {"members": cluster.nodes(), "before": before}
    cluster.down()


def api(node: cluster.Node) -> str:
    return f"http://127.0.0.1:{node.proxy_port}/api/hello"


def test_every_node_pulled_the_stack_from_the_registry(nodes):
    for node in nodes["members"]:
        pulled = cluster.on(node.name, "image", "ls", "--digests", "--format", "{{.Repository}}")
        assert f"{cluster.REGISTRY_ALIAS}/softy-pinko-proxy" in pulled.split(), node.name
    specs = cluster.on(MANAGER, "service", "ls", "--format", "{{.Image}}").split()
    assert len(specs) == 3 and all(
        s.startswith(f"{cluster.REGISTRY_ALIAS}/") and "@sha256:" in s for s in specs
    ), specs


def served_by(node: cluster.Node, requests: int = 30) -> set[str]:
    with Load(api(node), threads=1, max_requests=requests, max_seconds=30) as load:
        load.wait()
    return set(load.shares())


def test_replicas_spread_and_every_proxy_balances_over_all_of_them(nodes):
    assert cluster.placement(target()) == {"node-1": 1, "node-2": 1, "node-3": 1}
    for node in nodes["members"]:
        # Each proxy learns the replicas from Swarm's DNS on its own resolver schedule.
        wait_until(lambda n=node: len(served_by(n)) == 3, 30, f"{node.name}'s proxy to see 3")
        with Load(api(node), threads=4, max_requests=3000, max_seconds=90) as load:
            load.wait()
        print(f"\nthrough {node.name}'s proxy: {load.summary()}")
        load.assert_even(replicas=3)


def test_a_worker_killed_under_load_costs_no_get_and_its_replica_is_rescheduled(nodes):
    survivor = nodes["members"][0]
    with Load(api(survivor), max_seconds=120) as load:
        load.wait_for(200)
        killed = time.monotonic()
        docker("kill", cluster.node_name(3))
        wait_until(
            lambda: (
                sum(cluster.placement(target()).values()) == 3
                and "node-3" not in cluster.placement(target())
            ),
            120,
            "Swarm to run 3 replicas on the 2 nodes left",
        )
        rescheduled = time.monotonic() - killed
        load.wait_for(len(load.records) + 300)
    print(f"\nnode-3 killed: rescheduled in {rescheduled:.1f}s, {cluster.placement(target())}")
    print(f"under load: {load.summary()}")
    assert not load.failures, load.summary()


def test_the_killed_node_rejoins_and_gets_replicas_on_the_next_scale_up(nodes):
    docker("start", cluster.node_name(3))
    cluster.wait_engine(cluster.node_name(3))
    wait_until(
        lambda: (
            "node-3 Ready"
            in cluster.on(MANAGER, "node", "ls", "--format", "{{.Hostname}} {{.Status}}")
        ),
        90,
        "node-3 to be Ready again",
    )
    cluster.on(MANAGER, "service", "scale", "--detach", f"{cluster.STACK}_back-end=4")
    cluster.converged(target(), 4)
    print(f"\nafter rejoin and scale to 4: {cluster.placement(target())}")
    assert cluster.placement(target()).get("node-3", 0) >= 1


def test_draining_a_node_under_load_costs_no_get(nodes):
    survivor = nodes["members"][0]
    with Load(api(survivor), max_seconds=120) as load:
        load.wait_for(200)
        drained = time.monotonic()
        cluster.on(MANAGER, "node", "update", "--availability", "drain", "node-2")
        wait_until(
            lambda: (
                "node-2" not in cluster.placement(target())
                and sum(cluster.placement(target()).values()) == 4
            ),
            120,
            "the replicas to leave node-2",
        )
        moved = time.monotonic() - drained
        load.wait_for(len(load.records) + 300)
    cluster.on(MANAGER, "node", "update", "--availability", "active", "node-2")
    print(f"\nnode-2 drained in {moved:.1f}s: {cluster.placement(target())}; {load.summary()}")
    assert not load.failures, load.summary()


def test_a_rolling_update_across_nodes_costs_no_get(nodes, tmp_path):
    """A changed back-end, built here, pushed, and rolled out node by node by Swarm."""
    changed = tmp_path / "back-end"
    shutil.copytree(REPO / "task6" / "back-end", changed)
    api_py = changed / "api.py"
    api_py.write_text(api_py.read_text() + "\n# rolled out across the cluster\n")
    new = cluster.push_back_end(target(), changed)
    survivor = nodes["members"][0]
    with Load(api(survivor), max_seconds=240) as load:
        load.wait_for(200)
        cluster.on(
            MANAGER, "service", "update", "--detach", "--image", new, f"{cluster.STACK}_back-end",
            timeout=60,
        )  # fmt: skip
        wait_until(
            lambda: cluster.on(
                MANAGER, "service", "inspect", "--format", "{{.UpdateStatus.State}}",
                f"{cluster.STACK}_back-end",
            ).strip() == "completed",
            240,
            "the rolling update to complete",
        )  # fmt: skip
        load.wait_for(len(load.records) + 300)
    print(f"\nrolling update to {new}: {load.summary()}")
    assert not load.failures, load.summary()


def test_cluster_down_leaves_the_engine_as_it_was(nodes):
    cluster.down()
    after = engine_state()
    before = nodes["before"]
    for kind in ("containers", "networks", "volumes", "images"):
        assert after[kind] <= before[kind], (kind, after[kind] - before[kind])
