"""task6 on a local Swarm of several engines, each in its own container, fed by a registry.

    softy-pinko-docker cluster up [--nodes N]  nodes, registry, swarm, images pushed, stack deployed
    softy-pinko-docker cluster ps              nodes, where each replica runs, each node's proxy URL
    softy-pinko-docker cluster down            remove all of it; the host engine as it was found

Node i is the container softy-pinko-node-i, running dockerd (the docker:28-dind image online, a
stand-in built from Debian's docker.io offline), on the bridge network softy-pinko-cluster, with
explicit capabilities (this engine refuses --privileged). Node 1 is the manager. The registry
(registry:2, or its stand-in) is `registry:5000` to the nodes and 127.0.0.1:<port> to this host,
which builds the images, pushes them and deploys the stack by digest, so every node pulls from
the registry. Each node publishes its proxy on its own host port.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from softy_pinko_docker import REPO, cli, swarm
from softy_pinko_docker.baseimages.command import ensure
from softy_pinko_docker.baseimages.recipes import NODE_IMAGE, REGISTRY_IMAGE
from softy_pinko_docker.baseimages.standins import BUILD_CODE
from softy_pinko_docker.compose import ComposeProject, free_port
from softy_pinko_docker.docker import ToolError, build, docker, docker_json, image, poll, run

NETWORK = "softy-pinko-cluster"
LABEL = "org.softy-pinko.cluster"
REGISTRY = "softy-pinko-registry"
REGISTRY_ALIAS = "registry:5000"  # the registry as the nodes name it
STACK = "softy-pinko"
# Every capability but CAP_SYS_RESOURCE, which is not in this host's bounding set (so
# --privileged is refused), and those Docker 20.10 does not know.
CAPS = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
]


def say(message: str) -> None:
    print(f"[cluster] {message}", flush=True)


def node_name(index: int) -> str:
    return f"softy-pinko-node-{index}"


@dataclasses.dataclass(frozen=True)
class Node:
    name: str
    address: str  # on the cluster network
    proxy_port: int  # on this host's 127.0.0.1

    @property
    def url(self) -> str:
        return f"http://localhost:{self.proxy_port}/"


def on(node: str, *args: str, timeout: float = 120, check: bool = True) -> str:
    """The docker CLI of one node's engine."""
    return run(["docker", "exec", node, "docker", *args], timeout=timeout, check=check).stdout


def nodes() -> list[Node]:
    found = []
    members = names()
    for data in docker_json("container", "inspect", *members, timeout=30) if members else []:
        address = data["NetworkSettings"]["Networks"].get(NETWORK, {}).get("IPAddress", "")
        bindings = data["NetworkSettings"]["Ports"].get("80/tcp") or [{"HostPort": "0"}]
        found.append(Node(data["Name"].lstrip("/"), address, int(bindings[0]["HostPort"])))
    return sorted(found, key=lambda n: int(n.name.rsplit("-", 1)[1]))


def names() -> list[str]:
    return docker("ps", "-a", "--filter", f"label={LABEL}=node", "--format", "{{.Names}}").split()


def storage() -> list[str]:
    """dockerd's storage flags for a node: fuse-overlayfs where this engine uses it (overlayfs
    cannot stack on it, as here), otherwise dockerd's own choice (overlay2 on a volume)."""
    host = docker("info", "--format", "{{.Driver}}").strip()
    return ["--storage-driver=fuse-overlayfs"] if host == "fuse-overlayfs" else []


def start_node(index: int, flags: list[str]) -> None:
    name = node_name(index)
    caps = [f"--cap-add={cap}" for cap in CAPS]
    fuse = ["--device", "/dev/fuse"] if flags else []
    docker(
        "run", "--detach", "--name", name, "--hostname", f"node-{index}",
        "--label", f"{LABEL}=node", "--network", NETWORK, *caps, *fuse,
        "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
        "--tmpfs", "/run", "--tmpfs", "/var/run",
        "--volume", f"{name}:/var/lib/docker",
        "--volume", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
        # An engine in a container cannot write /proc/sys: without this dockerd 26 fails to
        # start any container ("failed to disable IPv6 on container's interface").
        "--env", "DOCKER_ALLOW_IPV6_ON_IPV4_INTERFACE=1",
        "--publish", f"127.0.0.1:{free_port()}:80",
        NODE_IMAGE, *flags, f"--insecure-registry={REGISTRY_ALIAS}",
        "--host=unix:///var/run/docker.sock",
        timeout=60,
    )  # fmt: skip


def wait_engine(name: str) -> None:
    poll(
        lambda: on(name, "version", "--format", "{{.Server.Version}}", timeout=10).strip(),
        timeout=60,
        what=f"the engine in {name}",
        retry_on=(ToolError,),
    )


def start_registry() -> None:
    port = free_port()
    docker(
        "run", "--detach", "--name", REGISTRY, "--label", f"{LABEL}=registry",
        "--network", NETWORK, "--network-alias", REGISTRY_ALIAS.split(":")[0],
        "--volume", f"{REGISTRY}:/var/lib/registry",
        "--publish", f"127.0.0.1:{port}:5000", REGISTRY_IMAGE,
        timeout=60,
    )  # fmt: skip


def registry_port() -> int:
    said = docker("port", REGISTRY, "5000/tcp").split()[0]
    return int(said.rsplit(":", 1)[1])


def form_swarm(members: list[Node]) -> None:
    manager, workers = members[0], members[1:]
    on(manager.name, "swarm", "init", "--advertise-addr", manager.address)
    token = on(manager.name, "swarm", "join-token", "--quiet", "worker").strip()
    for worker in workers:
        on(worker.name, "swarm", "join", "--token", token, f"{manager.address}:2377")


@dataclasses.dataclass(frozen=True)
class Target:
    """Where the images go and which engine deploys them: all that differs between this
    simulation and real machines (REGISTRY= and MANAGER= for `make cluster-deploy`)."""

    push_to: str  # the registry, as this host pushes to it
    pulled_as: str  # the same registry, as the nodes name it
    manager: tuple[str, ...]  # the docker CLI of a manager

    @classmethod
    def simulated(cls) -> Target:
        node = node_name(1)
        return cls(
            f"127.0.0.1:{registry_port()}", REGISTRY_ALIAS, ("docker", "exec", node, "docker")
        )

    @classmethod
    def real(cls, registry: str, manager: str) -> Target:
        return cls(registry, registry, ("docker", "--host", manager))

    def docker(self, *args: str, timeout: float = 120, check: bool = True) -> str:
        return run([*self.manager, *args], timeout=timeout, check=check).stdout

    def file(self, path: Path) -> str:
        """A local file as the manager's CLI reads it (inside the node, in the simulation)."""
        if self.manager[:2] != ("docker", "exec"):
            return str(path)
        docker("cp", str(path), f"{self.manager[2]}:/tmp/{path.name}")
        return f"/tmp/{path.name}"


def push(target: Target, local: str, name: str) -> str:
    """Push a local image under an immutable tag (its image ID); its name by digest."""
    found = image(local)
    if found is None:
        raise ToolError(f"no image {local}")
    remote = f"{target.push_to}/{name}:{found.id.split(':')[1][:12]}"
    docker("tag", local, remote)
    said = docker("push", remote, timeout=600)
    digest = re.search(r"digest: (sha256:[0-9a-f]{64})", said)
    if digest is None:
        raise ToolError(f"pushing {remote} printed no digest: {said[-200:]}")
    return f"{target.pulled_as}/{name}@{digest.group(1)}"


def push_images(target: Target) -> dict[str, str]:
    """Build task6's images here, push them: {local name: name by digest, as nodes pull it}."""
    ComposeProject.for_task("task6", "cluster-build").run("build", "--quiet", timeout=900)
    started = time.monotonic()
    pinned = {
        f"softy-pinko-{s}:task6": push(target, f"softy-pinko-{s}:task6", f"softy-pinko-{s}")
        for s in ("proxy", "back-end", "front-end")
    }
    say(f"pushed 3 images to {target.push_to} in {time.monotonic() - started:.1f}s")
    return pinned


def push_back_end(target: Target, context: Path) -> str:
    """A back-end built from another folder (a changed copy), pushed: its name by digest."""
    local = "softy-pinko-back-end:cluster-next"
    build(local, context)
    return push(target, local, "softy-pinko-back-end")


def deploy(target: Target, pinned: dict[str, str], replicas: int = 3) -> None:
    """task6/docker-stack.yml with every image by digest; each node pulls what it runs."""
    text = (REPO / "task6" / "docker-stack.yml").read_text()
    for local, remote in pinned.items():
        text = text.replace(f"image: {local}", f"image: {remote}")
    text = text.replace("${REPLICAS:-2}", str(replicas)).replace("${PROXY_PORT:-80}", "80")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "softy-pinko-stack.yml"
        path.write_text(text)
        stack_file = target.file(path)
    started = time.monotonic()
    target.docker(
        "stack", "deploy", "--resolve-image", "always", "--compose-file", stack_file, STACK,
        timeout=300,
    )  # fmt: skip
    converged(target, replicas)
    say(f"deployed and converged (every node pulled) in {time.monotonic() - started:.1f}s")


def converged(target: Target, replicas: int | None = None) -> list[swarm.Task]:
    """The stack's tasks once every service runs (healthy) the tasks it wants, read as the
    Swarm tool reads them (swarm.py), from the manager."""

    def ready() -> list[swarm.Task] | None:
        wanted = swarm.services(STACK, target.docker)
        current = swarm.tasks(STACK, target.docker)
        running = [t for t in current if t.state == "running"]
        per_service = {name: sum(t.service == name for t in running) for name in wanted}
        api = wanted.get("back-end")
        done = (
            len(wanted) == 3
            and len(running) == len(current)
            and all(n > 0 for n in per_service.values())
            and all(s.replicas in (None, per_service[n]) for n, s in wanted.items())
            and (replicas is None or (api is not None and api.replicas == replicas))
        )
        return running if done else None

    return poll(ready, timeout=240, interval=1, what="the stack to converge", retry_on=(ToolError,))


def placement(target: Target, service: str = "back-end") -> dict[str, int]:
    """{node hostname: running (healthy) tasks of the service}."""
    running = [
        t
        for t in swarm.tasks(STACK, target.docker)
        if t.service == service and t.state == "running"
    ]
    ids = sorted({t.node_id for t in running})
    found = docker_json("node", "inspect", *ids, cli=target.docker) if ids else []
    hostname = {n["ID"]: n["Description"]["Hostname"] for n in found}
    counts: dict[str, int] = {}
    for task in running:
        counts[hostname[task.node_id]] = counts.get(hostname[task.node_id], 0) + 1
    return dict(sorted(counts.items()))


def up(count: int, replicas: int = 3) -> None:
    if names():
        raise ToolError("a cluster is already up (make cluster-ps): make cluster-down first")
    if count < 1:
        raise ToolError(f"NODES={count}: a cluster needs at least one node")
    started = time.monotonic()
    for reference in (NODE_IMAGE, REGISTRY_IMAGE):  # pulled, or their stand-ins built
        ensure(reference, BUILD_CODE, {})
    run(["docker", "network", "create", "--label", f"{LABEL}=network", NETWORK], check=False)
    start_registry()
    flags = storage()
    for index in range(1, count + 1):
        start_node(index, flags)
    for node in nodes():
        wait_engine(node.name)
    form_swarm(nodes())
    target = Target.simulated()
    deploy(target, push_images(target), replicas)
    say(f"up in {time.monotonic() - started:.0f}s")
    show(nodes())


def show(members: list[Node]) -> None:
    say(f"registry {REGISTRY}: {REGISTRY_ALIAS} to the nodes, 127.0.0.1:{registry_port()} here")
    spread = placement(Target.simulated())
    for node in members:
        hostname = f"node-{node.name.rsplit('-', 1)[1]}"
        say(
            f"{node.name} ({node.address}): {spread.get(hostname, 0)} back-end replica(s), "
            f"proxy {node.url}"
        )


def down() -> None:
    for name in [*names(), REGISTRY]:
        run(["docker", "rm", "--force", "--volumes", name], check=False, timeout=120)
        run(["docker", "volume", "rm", name], check=False)
    run(["docker", "network", "rm", NETWORK], check=False)
    pushed = docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}").split()
    pushed = [i for i in pushed if i.startswith("127.0.0.1:") or i.endswith(":cluster-next")]
    if pushed:
        run(["docker", "image", "rm", "--force", *pushed], check=False)
    say("down: no node, registry, network, volume or pushed image left")


def main(argv: list[str]) -> int:
    parser = cli.parser(argv, "softy_pinko_docker.cluster", __doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    up_ = commands.add_parser("up", help="nodes, registry, swarm, images pushed, stack deployed")
    up_.add_argument(
        "--nodes",
        type=int,
        default=cli.from_environment("NODES", 3),
        help="engines in the swarm (default: $NODES or 3)",
    )
    commands.add_parser("ps", help="nodes, where each replica runs, each node's proxy URL")
    commands.add_parser("down", help="remove all of it; the host engine as it was found")
    deploy_ = commands.add_parser("deploy", help="the same build, push and deploy, to a real swarm")
    deploy_.add_argument(
        "--registry",
        default=os.environ.get("REGISTRY"),
        help="host:port of a registry the swarm pulls from (default: $REGISTRY)",
    )
    deploy_.add_argument(
        "--manager",
        default=os.environ.get("MANAGER"),
        help="ssh://user@manager, a manager node (default: $MANAGER)",
    )
    for command in (up_, deploy_):
        command.add_argument(
            "--replicas",
            type=int,
            default=cli.from_environment("REPLICAS", 3),
            help="back-end replicas (default: $REPLICAS or 3)",
        )
    args = parser.parse_args(argv[1:])
    if args.command == "up":
        up(args.nodes, args.replicas)
    elif args.command == "down":
        down()
    elif args.command == "ps":
        if not names():
            raise ToolError("no cluster: `make cluster-up` starts one")
        show(nodes())
    else:
        if not args.registry or not args.manager:
            raise ToolError("make cluster-deploy needs REGISTRY=host:port and MANAGER=ssh://...")
        target = Target.real(args.registry, args.manager)
        deploy(target, push_images(target), args.replicas)
    return 0


if __name__ == "__main__":
    sys.exit(cli.run_main(main))
