"""What each stand-in is: a Debian release, its packages, the shell scripts run in the
bootstrapped root, and the Dockerfile that finishes the image. The scripts and Dockerfiles are
files of stand-ins/, where shellcheck and hadolint read them."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

from softy_pinko_docker.docker import ToolError

STAND_INS = Path(__file__).with_name("stand-ins")


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How to build a stand-in for one official image from Debian packages."""

    name: str  # short name for logs and the intermediate rootfs tag
    release: str  # Debian release to bootstrap
    packages: tuple[str, ...]
    setup: str  # shell run inside the rootfs (chroot) after bootstrap
    dockerfile: str  # the final image's Dockerfile, FROM the rootfs
    wheelhouse: bool = False  # Python: bundle wheels of every requirements file
    python_version: str = ""


def scripts(*names: str) -> str:
    """The named scripts of stand-ins/, one after another: the recipe's setup."""
    return "".join((STAND_INS / f"{name}.sh").read_text() for name in names)


def dockerfile(name: str) -> str:
    return (STAND_INS / f"{name}.Dockerfile").read_text()


# The curriculum's base: task0, and every back-end from task1 on. Debian's Python is externally
# managed (PEP 668) like Ubuntu 24.04's, so a stand-in refuses a system-wide `pip3 install` as the
# real image does. Its one addition: inside a container PyPI's TLS fails here, so a wheelhouse of
# every lock's files and a pip config that reads it let an unchanged `pip3 install` work offline.
_UBUNTU = Recipe(
    name="ubuntu",
    release="trixie",
    python_version="3.13",  # what `apt-get install python3` brings on trixie
    packages=(),
    wheelhouse=True,
    setup=scripts("apt-setup", "ubuntu", "ubuntu-names"),
    dockerfile=dockerfile("ubuntu"),
)
# Learners' other bases, for `make check`: Ubuntu 22.04 (two of fourteen learners'
# repositories), and the official Python images. Neither is externally managed, so a learner's
# system-wide `pip3 install` works there as on the real image.
_UBUNTU_JAMMY = dataclasses.replace(
    _UBUNTU,
    name="ubuntu-jammy",
    release="bookworm",
    python_version="3.11",  # Ubuntu 22.04 has 3.10; bookworm's is the nearest Debian has
    setup=_UBUNTU.setup + scripts("not-externally-managed"),
)
_PYTHON = dataclasses.replace(
    _UBUNTU,
    name="python",
    packages=("python3", "python3-pip", "python3-venv", "python-is-python3"),
    setup=_UBUNTU.setup + scripts("not-externally-managed"),
    dockerfile=dockerfile("python"),
)
_NGINX = Recipe(
    name="nginx",
    release="forky",
    packages=("nginx",),
    setup=scripts("apt-setup", "nginx"),
    dockerfile=dockerfile("nginx"),
)
# A stand-in for GitHub's `ubuntu-24.04` runner, for `make act RUNNER=standin`: no Dockerfile
# names it, so it is built on demand (`softy-pinko-docker bases runner`). Shaped like the
# runner where this repo's jobs notice: a non-root `runner` user with passwordless sudo, a Python
# that is not 3.11, git and make, the Docker CLI with Compose and Buildx (the engine is the
# host's, through its socket), and no debootstrap, wrk or browser until a job installs them.
RUNNER_IMAGE = "softy-pinko-runner:standin"
_RUNNER = Recipe(
    name="runner",
    release="trixie",
    packages=(
        "sudo",
        "git",
        "make",
        "ca-certificates",
        "curl",
        "xz-utils",
        "procps",
        "python3",
        "python3-venv",
        "python3-pip",
        "docker-cli",
        "docker-compose",
        "docker-buildx",
    ),
    setup=scripts("apt-setup", "runner"),
    dockerfile=dockerfile("runner"),
)
# A Swarm node for `make cluster-up`: Docker Engine in a container, as the official docker:dind
# image is, from Debian's docker.io (26.1). fuse-overlayfs: overlayfs cannot stack on the host's
# fuse-overlayfs. Arguments go to dockerd, as with the official image's entrypoint.
NODE_IMAGE = "docker:28-dind"
_NODE = Recipe(
    name="node",
    release="trixie",
    packages=("docker.io", "docker-cli", "iptables", "fuse-overlayfs", "ca-certificates", "procps"),
    setup=scripts("apt-setup"),
    dockerfile=dockerfile("node"),
)
# The registry the cluster's nodes pull from: the CNCF Distribution registry, as registry:2 is,
# from Debian's docker-registry, listening on :5000 with its storage in /var/lib/registry.
REGISTRY_IMAGE = "registry:2"
_REGISTRY = Recipe(
    name="registry",
    release="trixie",
    packages=("docker-registry",),
    setup=scripts("apt-setup", "registry"),
    dockerfile=dockerfile("registry"),
)


def recipe_for(reference: str, learners: bool = False) -> Recipe:
    """The stand-in recipe for an official image reference, or a clear error. `learners`: also
    the bases learners' Dockerfiles name (`make check`); this repository names only its two."""
    repo, _, tag = reference.partition(":")
    tag = tag or "latest"
    repo = repo.removeprefix("docker.io/").removeprefix("library/")
    if repo == "ubuntu" and tag == "latest":
        return _UBUNTU
    if repo == "nginx" and tag == "latest":
        return _NGINX
    if learners and repo == "ubuntu" and tag in {"24.04", "noble"}:
        return _UBUNTU
    if learners and repo == "ubuntu" and tag in {"22.04", "jammy"}:
        return _UBUNTU_JAMMY
    if learners and repo == "nginx" and "alpine" not in tag:
        return _NGINX
    if learners and repo == "python" and tag.startswith("3") and "alpine" not in tag:
        return _PYTHON
    if reference == RUNNER_IMAGE:
        return _RUNNER
    if reference == NODE_IMAGE:
        return _NODE
    if reference == REGISTRY_IMAGE:
        return _REGISTRY
    raise ToolError(
        f"no stand-in recipe for {reference!r}; the registry is unreachable, so either make the "
        f"registry reachable or add a recipe to softy_pinko_docker/baseimages/recipes.py"
    )


def cache_key(recipe: Recipe, tool_source: str, requirements: dict[str, str]) -> str:
    """Key of a stand-in's inputs: the recipe, the code that builds it (`tool_source`), and
    (Python only) the requirements files."""
    digest = hashlib.sha256()
    digest.update(repr(dataclasses.astuple(recipe)).encode())
    digest.update(tool_source.encode())
    if recipe.wheelhouse:
        for name in sorted(requirements):
            digest.update(name.encode() + b"\0" + requirements[name].encode() + b"\0")
    return digest.hexdigest()[:16]


def rootfs_key(recipe: Recipe, tool_source: str) -> str:
    """Key of the bootstrapped filesystem alone, shared by rebuilds that only change wheels."""
    return cache_key(dataclasses.replace(recipe, dockerfile="", wheelhouse=False), tool_source, {})
