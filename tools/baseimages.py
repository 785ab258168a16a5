"""Make every base image named by the repo's Dockerfiles available locally.

For each base (``FROM`` lines, multi-stage and ``ARG`` defaults included) that is missing, try
``docker pull``. When the registry cannot be reached, build a *stand-in* from Debian packages:
an image tagged with the official name, labelled as a stand-in, that behaves like the official
image for everything this repo's Dockerfiles rely on. Stand-ins are cached: a label carries a
key computed from their inputs (the recipe, the code that builds it, and for Python the
requirements files), and an image is rebuilt only when that key changes.

Online, a base with a digest recorded in tools/base-images.lock is pulled by that digest (and
tagged with its name), so a build a month later starts from the same bytes; the Dockerfiles keep
their readable tags, which a stand-in can carry offline and a digest could not. `record`
(run by `make lock`) pulls each base by its tag and writes its digest there.

Usage: python -m tools bases [ensure|list|status|runner|record]   (default: ensure)
       runner: the stand-in for GitHub's runner that `make act RUNNER=standin` uses
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import fcntl
import hashlib
import inspect
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from tools import REPO, cli, dockerfiles
from tools.docker import ToolError, docker, docker_json, image, run

STANDIN_LABEL = "org.softy-pinko.standin"
# Where a stand-in's bootstrapped filesystem is cached (`make clean` keeps it).
ROOTFS_REPOSITORY = "softy-pinko-standin-rootfs"
KEY_LABEL = "org.softy-pinko.standin.key"
DEFAULT_ARCHIVE = "http://deb.debian.org/debian"
SKIP_DIRS = {".git", ".venv", "node_modules", "reports"}
# Wheels for the image's Python come from the host: inside a container PyPI's TLS fails here.
WHEEL_PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64")


# --------------------------------------------------------------------------------------------
# Finding the bases
# --------------------------------------------------------------------------------------------
def dockerfile_paths(root: Path = REPO) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            if (
                name == "Dockerfile"
                or name.startswith("Dockerfile.")
                or name.endswith(".Dockerfile")
            ):
                found.append(Path(dirpath) / name)
    return found


def bases_in_repo(root: Path = REPO) -> dict[str, list[Path]]:
    """Every base image in the repo, mapped to the Dockerfiles that name it."""
    result: dict[str, list[Path]] = {}
    for path in dockerfile_paths(root):
        for base in dockerfiles.bases(dockerfiles.read(path)):
            result.setdefault(base, []).append(path)
    return result


def requirements_files(root: Path = REPO) -> list[Path]:
    """Requirements files that Dockerfiles install: every requirements*.txt under task*/."""
    return sorted(p for p in root.glob("task*/**/requirements*.txt") if p.is_file())


# --------------------------------------------------------------------------------------------
# Stand-in recipes
# --------------------------------------------------------------------------------------------
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


_APT_SETUP = """
# Some archive releases are past their Valid-Until date; apt inside the image must still work.
echo 'Acquire::Check-Valid-Until "false";' > /etc/apt/apt.conf.d/99no-check-valid-until
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/debconf/*-old /var/log/*.log
"""

# Ubuntu 24.04's names for packages Debian names otherwise, in a local APT repository that every
# `apt-get update` reads: empty packages that depend on Debian's, so that a learner's
# `apt-get install python3.12-venv` installs on the stand-in what it installs on Ubuntu.
# software-properties-common's add-apt-repository says it cannot reach Ubuntu's PPAs here.
_UBUNTU_NAMES = """
names=/opt/standin-apt
mkdir -p "$names" /usr/lib/standin
alias_package() {  # name, what it depends on; a program it installs, and the file it links to
  dir=$(mktemp -d)
  chmod 0755 "$dir"
  mkdir -p "$dir/DEBIAN"
  printf 'Package: %s\\nVersion: 24.04-standin1\\nArchitecture: all\\n' "$1" > "$dir/DEBIAN/control"
  printf 'Maintainer: softy-pinko\\nDepends: %s\\nDescription: %s\\n' "$2" \\
    "Ubuntu 24.04 name on the stand-in" >> "$dir/DEBIAN/control"
  if [ -n "${3:-}" ]; then
    mkdir -p "$dir/usr/bin"
    ln -s "$4" "$dir/usr/bin/$3"
  fi
  dpkg-deb --build --root-owner-group "$dir" "$names/$1.deb" > /dev/null
  rm -rf "$dir"
}
alias_package python3.12 python3 python3.12 python3
alias_package python3.12-minimal python3-minimal
alias_package python3.12-venv "python3-venv, python3.12"
alias_package python3.12-dev "python3-dev, python3.12"
alias_package python3.12-full "python3-full, python3.12"
alias_package libpython3.12 libpython3-stdlib
alias_package libpython3.12-dev libpython3-dev
printf '#!/bin/sh\\necho "add-apt-repository: %s" >&2\\nexit 1\\n' \\
  "the stand-in for ubuntu:latest cannot reach Ubuntu PPAs" > /usr/lib/standin/add-apt-repository
chmod 0755 /usr/lib/standin/add-apt-repository
alias_package software-properties-common ca-certificates add-apt-repository \\
  /usr/lib/standin/add-apt-repository
cd "$names"
for deb in *.deb; do
  dpkg-deb -f "$deb"
  printf 'Filename: ./%s\\nSize: %s\\nSHA256: %s\\n\\n' "$deb" "$(stat -c %s "$deb")" \\
    "$(sha256sum "$deb" | cut -d' ' -f1)"
done > Packages
echo "deb [trusted=yes] file:$names ./" > /etc/apt/sources.list.d/standin-ubuntu-names.list
"""

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
    setup=_APT_SETUP
    + """
# As the official image is configured (its /etc/apt/apt.conf.d/docker-* and the minimized image's
# /etc/dpkg/dpkg.cfg.d/excludes), so that an image built on the stand-in has the official's size:
# APT keeps no .deb files or package caches, fetches no translations, dpkg installs no docs.
clean='rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb'
clean="$clean /var/cache/apt/*.bin || true"
cat > /etc/apt/apt.conf.d/docker-clean <<APT
DPkg::Post-Invoke { "$clean"; };
APT::Update::Post-Invoke { "$clean"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
echo 'Acquire::Languages "none";' > /etc/apt/apt.conf.d/docker-no-languages
cat > /etc/dpkg/dpkg.cfg.d/excludes <<'DPKG'
path-exclude=/usr/share/man/*
path-exclude=/usr/share/locale/*/LC_MESSAGES/*.mo
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/groff/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/lintian/*
DPKG
find /usr/share/doc -mindepth 2 ! -name copyright -delete 2>/dev/null || true
rm -rf /usr/share/man/* /usr/share/info/* /usr/share/locale/*/LC_MESSAGES/*.mo
"""
    + _UBUNTU_NAMES,
    dockerfile="""
COPY wheels/ /opt/standin-wheels/
# pip, once a Dockerfile installs it, finds every package in the wheelhouse, never on the network.
RUN printf '[global]\\nno-index = true\\nfind-links = /opt/standin-wheels\\n' > /etc/pip.conf
CMD ["/bin/bash"]
""",
)

# Learners' other bases, for `make check` (tools/check): Ubuntu 22.04 (two of fourteen learners'
# repositories), and the official Python images. Neither is externally managed, so a learner's
# system-wide `pip3 install` works there as on the real image: dpkg never installs the marker.
_NOT_EXTERNALLY_MANAGED = """
echo 'path-exclude=/usr/lib/python3*/EXTERNALLY-MANAGED' \
    > /etc/dpkg/dpkg.cfg.d/not-externally-managed
rm -f /usr/lib/python3*/EXTERNALLY-MANAGED
"""
_UBUNTU_JAMMY = dataclasses.replace(
    _UBUNTU,
    name="ubuntu-jammy",
    release="bookworm",
    python_version="3.11",  # Ubuntu 22.04 has 3.10; bookworm's is the nearest Debian has
    setup=_UBUNTU.setup + _NOT_EXTERNALLY_MANAGED,
)
_PYTHON = dataclasses.replace(
    _UBUNTU,
    name="python",
    packages=("python3", "python3-pip", "python3-venv", "python-is-python3"),
    setup=_UBUNTU.setup + _NOT_EXTERNALLY_MANAGED,
    dockerfile=_UBUNTU.dockerfile.replace('CMD ["/bin/bash"]', 'CMD ["python3"]'),
)

_NGINX = Recipe(
    name="nginx",
    release="forky",
    packages=("nginx",),
    setup=_APT_SETUP
    + """
# Reproduce the parts of the official image's layout this repo relies on:
# user nginx (uid/gid 101), conf.d included from nginx.conf, logs on stdout/stderr.
rm -f /etc/nginx/sites-enabled/default
groupadd --system --gid 101 nginx
useradd --system --uid 101 --gid nginx --no-create-home --home-dir /nonexistent \\
    --shell /usr/sbin/nologin nginx
mkdir -p /var/cache/nginx /usr/share/nginx/html /docker-entrypoint.d
ln -sf /dev/stdout /var/log/nginx/access.log
ln -sf /dev/stderr /var/log/nginx/error.log
""",
    dockerfile="""
EXPOSE 80
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
""",
)


# A stand-in for GitHub's `ubuntu-24.04` runner, for `make act RUNNER=standin`: no Dockerfile
# names it, so it is built on demand (`python -m tools bases runner`). Shaped like the
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
    setup=_APT_SETUP
    + """
groupadd --gid 1001 runner
useradd --uid 1001 --gid runner --create-home --shell /bin/bash runner
echo 'runner ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/runner
chmod 0440 /etc/sudoers.d/runner
""",
    dockerfile="""
USER runner
WORKDIR /home/runner
ENV LANG=C.UTF-8 ImageOS=standin-ubuntu24
CMD ["bash"]
""",
)


# A Swarm node for `make cluster-up`: Docker Engine in a container, as the official docker:dind
# image is, from Debian's docker.io (26.1). fuse-overlayfs: overlayfs cannot stack on the host's
# fuse-overlayfs. Arguments go to dockerd, as with the official image's entrypoint.
NODE_IMAGE = "docker:28-dind"
_NODE = Recipe(
    name="node",
    release="trixie",
    packages=("docker.io", "docker-cli", "iptables", "fuse-overlayfs", "ca-certificates", "procps"),
    setup=_APT_SETUP,
    dockerfile="""
VOLUME /var/lib/docker
EXPOSE 2375 2377 7946 4789
ENTRYPOINT ["dockerd"]
""",
)

# The registry the cluster's nodes pull from: the CNCF Distribution registry, as registry:2 is,
# from Debian's docker-registry, listening on :5000 with its storage in /var/lib/registry.
REGISTRY_IMAGE = "registry:2"
_REGISTRY = Recipe(
    name="registry",
    release="trixie",
    packages=("docker-registry",),
    setup=_APT_SETUP
    + """
mkdir -p /var/lib/registry /etc/docker/registry
cat > /etc/docker/registry/config.yml <<'YAML'
version: 0.1
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
http:
  addr: :5000
YAML
""",
    dockerfile="""
VOLUME /var/lib/registry
EXPOSE 5000
ENTRYPOINT ["/usr/bin/docker-registry", "serve", "/etc/docker/registry/config.yml"]
""",
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
        f"registry reachable or add a recipe to {Path(__file__).relative_to(REPO)}"
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


# --------------------------------------------------------------------------------------------
# Online / offline decision
# --------------------------------------------------------------------------------------------
_UNREACHABLE = re.compile(
    r"no such host|dial tcp|i/o timeout|connection refused|network is unreachable|"
    r"TLS handshake timeout|Client.Timeout|temporary failure in name resolution|"
    r"server misbehaving|timed out",
    re.IGNORECASE,
)


# The registry is there but cannot serve right now: worth another try.
_TRANSIENT = re.compile(
    r"toomanyrequests|too many requests|\b429\b|\b50[0234]\b|service unavailable|"
    r"bad gateway|unexpected EOF|connection reset",
    re.IGNORECASE,
)


def classify_pull(returncode: int, output: str) -> str:
    """'pulled'; 'offline' (registry unreachable: a stand-in can be built); 'transient' (the
    registry is there but cannot serve now: try again); or 'error' (a real error)."""
    if returncode == 0:
        return "pulled"
    if _UNREACHABLE.search(output):
        return "offline"
    if _TRANSIENT.search(output):
        return "transient"
    return "error"


def on_github_actions() -> bool:
    """A GitHub-hosted job (act sets GITHUB_ACTIONS too, and ACT: it is offline here)."""
    return os.environ.get("GITHUB_ACTIONS") == "true" and not os.environ.get("ACT")


def plan(image: str, local_labels: dict[str, str] | None, expected_key: str) -> str:
    """What to do with one base image.

    'ok'      the official image, or an up-to-date stand-in, is present;
    'fetch'   missing, or a stale stand-in: try the registry, fall back to a stand-in.
    """
    if local_labels is None:
        return "fetch"
    if local_labels.get(STANDIN_LABEL) != "true":
        return "ok"
    return "ok" if local_labels.get(KEY_LABEL) == expected_key else "fetch"


# --------------------------------------------------------------------------------------------
# Building a stand-in
# --------------------------------------------------------------------------------------------
def log(message: str) -> None:
    print(f"[bases] {message}", flush=True)


def image_labels(reference: str) -> dict[str, str] | None:
    found = image(reference)
    return None if found is None else found.labels


def archive_url() -> str:
    """The Debian archive the host's own APT sources use (deb822 or one-line format)."""
    candidates = sorted(Path("/etc/apt/sources.list.d").glob("*.sources"))
    candidates += [Path("/etc/apt/sources.list")]
    for path in candidates:
        try:
            text = path.read_text()
        except OSError:
            continue
        for match in re.finditer(r"^(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s+)?)(\S+)", text, re.M):
            url = match.group(1).rstrip("/")
            if url.endswith("/debian"):
                return url.replace("https://", "http://")
    return DEFAULT_ARCHIVE


def download_wheels(target: Path, version: str) -> None:
    """The files every lock names, checked against its hashes: tasks are snapshots and may pin
    different versions, and the wheelhouse holds them all. A lock is complete, so no resolving
    (--no-deps); the image's own `pip install --require-hashes` checks them again."""
    base = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--disable-pip-version-check",
        "--only-binary=:all:",
        "--require-hashes",
        "--no-deps",
        "--python-version",
        version,
        "--implementation",
        "cp",
        "-d",
        str(target),
    ]
    for platform in WHEEL_PLATFORMS:
        base += ["--platform", platform]
    for path in requirements_files():
        proc = run([*base, "-r", str(path)], timeout=600, check=False)
        if proc.returncode != 0:
            raise ToolError(
                f"cannot download wheels for {path.relative_to(REPO)}: "
                f"{(proc.stderr.strip().splitlines() or ['pip failed'])[-1]}"
            )


_DEBOOTSTRAP_INSTALL = threading.Lock()


def debootstrap(recipe: Recipe, root: Path, log_file: Path) -> None:
    """The recipe's Debian release with its packages, into `root`."""
    # Only stand-ins need debootstrap: installed when they do, once for builds side by side, and
    # --bare, so that the .venv this runs in is never rebuilt under it.
    with _DEBOOTSTRAP_INSTALL:
        if shutil.which("debootstrap") is None:
            run(
                [str(REPO / "tools" / "bootstrap.sh"), "--bare", "--packages", "debootstrap"],
                timeout=900,
            )
    cmd = ["debootstrap", "--variant=minbase"]
    if recipe.packages:
        cmd.append("--include=" + ",".join(recipe.packages))
    cmd += [recipe.release, str(root), archive_url()]
    script = Path("/usr/share/debootstrap/scripts") / recipe.release
    if not script.exists():  # an older debootstrap knows no newer release: use the generic one
        cmd.append(str(script.with_name("sid")))
    log(f"{recipe.name}: debootstrap {recipe.release} {' '.join(recipe.packages)}")
    proc = run(cmd, timeout=1800, check=False)
    log_file.write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise ToolError(
            f"debootstrap failed for the {recipe.name} stand-in: "
            f"{(proc.stderr.strip().splitlines() or ['see its log'])[-1]}",
            details=(proc.stdout + proc.stderr)[-4000:],
        )


def build_rootfs(recipe: Recipe, tag: str, key: str) -> None:
    """debootstrap the recipe's release with its packages and import it as ``tag``."""
    with tempfile.TemporaryDirectory(prefix=f"standin-{recipe.name}-") as tmp:
        root = Path(tmp) / "rootfs"
        debootstrap(recipe, root, Path(tmp) / "debootstrap.log")
        # The rootfs's own /tmp: the caller's TMPDIR is a path of the host, not of the chroot.
        run(["chroot", str(root), "/bin/sh", "-euc", recipe.setup], timeout=600,
            env={"TMPDIR": "/tmp"})  # fmt: skip
        # A pipe between two processes: the one place that needs Popen. Its `with` closes the
        # pipe and waits for tar (an unclosed pipe is a ResourceWarning, an error under pytest).
        with subprocess.Popen(
            ["tar", "--numeric-owner", "-C", str(root), "-c", "."], stdout=subprocess.PIPE
        ) as tar:
            run(
                ["docker", "import", "--change", f"LABEL {KEY_LABEL}={key}", "-", tag],
                stdin=tar.stdout,
                timeout=900,
            )
        if tar.returncode != 0:
            raise ToolError(f"packing the {recipe.name} rootfs failed")


def build_standin(reference: str, recipe: Recipe, key: str, tool_source: str) -> None:
    rootfs_tag = f"{ROOTFS_REPOSITORY}:{recipe.name}"
    fs_key = rootfs_key(recipe, tool_source)
    labels = image_labels(rootfs_tag)
    if labels is None or labels.get(KEY_LABEL) != fs_key:
        build_rootfs(recipe, rootfs_tag, fs_key)
    else:
        log(f"{recipe.name}: reusing the bootstrapped filesystem {rootfs_tag}")
    with tempfile.TemporaryDirectory(prefix=f"standin-{recipe.name}-ctx-") as ctx:
        context = Path(ctx)
        (context / "wheels").mkdir()
        if recipe.wheelhouse:
            log(f"{recipe.name}: downloading wheels for Python {recipe.python_version}")
            download_wheels(context / "wheels", recipe.python_version)
        labels_line = (
            f'LABEL {STANDIN_LABEL}="true" {KEY_LABEL}="{key}" '
            f'org.softy-pinko.standin.for="{reference}" '
            f'org.opencontainers.image.description="stand-in for {reference}, built '
            f"from Debian {recipe.release} packages because the registry was "
            f'unreachable"'
        )
        (context / "Dockerfile").write_text(
            f"FROM {rootfs_tag}\n{recipe.dockerfile.strip()}\n{labels_line}\n"
        )
        docker("build", "--quiet", "-t", reference, str(context), timeout=1800)


# The code that makes a stand-in: part of its cache key, so a change to it rebuilds them.
BUILD_CODE = "".join(
    inspect.getsource(f) for f in (debootstrap, build_rootfs, build_standin, download_wheels)
)


# --------------------------------------------------------------------------------------------
# Pull, or build
# --------------------------------------------------------------------------------------------
PULL_TRIES = 3
PULL_BACKOFF_S = 2.0  # then 4 s: a rate limit or a registry restart gets a little time
# Set once a registry stayed unreachable through every try: later pulls of the same run try once.
_unreachable: set[str] = set()


def registry_of(reference: str) -> str:
    first = reference.split("/", 1)[0]
    return first if "/" in reference and ("." in first or ":" in first) else "docker.io"


def pull(reference: str) -> str:
    """`docker pull`, tried again with backoff while the registry is unreachable or answers a
    temporary error: 'pulled' or 'offline'. A real error raises; so does any failure on GitHub
    Actions, where a stand-in is never built: an official image there is the point."""
    outcome, answer = "error", "no output"
    tries = 1 if registry_of(reference) in _unreachable else PULL_TRIES
    for attempt in range(1, tries + 1):
        proc = run(["docker", "pull", "--quiet", reference], timeout=600, check=False)
        outcome = classify_pull(proc.returncode, proc.stdout + proc.stderr)
        answer = (proc.stderr.strip().splitlines() or [proc.stdout.strip() or "no output"])[-1]
        if outcome in ("pulled", "error"):
            break
        if attempt < tries:
            log(
                f"{reference}: pull failed ({outcome}), trying again in "
                f"{PULL_BACKOFF_S * 2 ** (attempt - 1):.0f}s"
            )
            time.sleep(PULL_BACKOFF_S * 2 ** (attempt - 1))
    if outcome == "pulled":
        return outcome
    if on_github_actions():
        raise ToolError(
            f"docker pull {reference} failed on GitHub Actions, where no stand-in "
            f"is built ({attempt} tries); the registry said: {answer}"
        )
    if outcome != "offline":
        raise ToolError(f"docker pull {reference} failed ({attempt} tries): {answer}")
    _unreachable.add(registry_of(reference))
    return outcome


# --------------------------------------------------------------------------------------------
# Digests: what a base's tag pointed to when `make lock` last looked
# --------------------------------------------------------------------------------------------
DIGESTS = REPO / "tools" / "base-images.lock"
DIGESTS_HEADER = """\
# The digest each base image's tag pointed to when `make lock` last pulled it. Online, `make bases`
# pulls a base by this digest, so builds start from the same bytes until the lock is refreshed.
# A base with no line here is pulled by its tag (and says so). Offline, stand-ins are used.
"""


def read_digests(text: str) -> dict[str, str]:
    pins = {}
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) == 2 and fields[1].startswith("sha256:"):
            pins[fields[0]] = fields[1]
    return pins


def untagged(reference: str) -> str:
    """The repository part of `name[:tag]` (a registry's port is not a tag)."""
    head, _, last = reference.rpartition("/")
    return f"{head}/{last.split(':')[0]}" if head else last.split(":")[0]


def repo_digests(reference: str) -> list[str]:
    """The registry digests (sha256:...) the engine knows for a local image."""
    found = docker_json("image", "inspect", reference) if image(reference) else []
    return [d.split("@", 1)[1] for d in (found[0].get("RepoDigests") or [])] if found else []


def fetch(reference: str, pinned: str | None) -> str:
    """Pull the base by its recorded digest and give it its tag, or by its tag: 'pulled' or
    'offline' (see pull())."""
    if not pinned:
        outcome = pull(reference)
        if outcome == "pulled":
            said = f"{reference}: pulled {', '.join(repo_digests(reference))}, by its tag: no "
            said += f"digest is recorded in {DIGESTS.relative_to(REPO)} (`make lock`, online)"
            log(said)
            if on_github_actions():
                print(f"::warning title=Base image not pinned::{said}", flush=True)
        return outcome
    outcome = pull(f"{untagged(reference)}@{pinned}")
    if outcome == "pulled":
        docker("tag", f"{untagged(reference)}@{pinned}", reference)
        log(f"{reference}: pulled at its recorded digest {pinned}")
    return outcome


def record(bases: dict[str, list[Path]]) -> None:
    """Pull each base by its tag and write the digests it points to now."""
    pins = read_digests(DIGESTS.read_text()) if DIGESTS.exists() else {}
    for reference in sorted(bases):
        if pull(reference) != "pulled":
            kept = f"keeps {pins[reference]}" if reference in pins else "stays without a digest"
            log(f"{reference}: registry unreachable, so it {kept}")
            continue
        pins[reference] = repo_digests(reference)[0]
        log(f"{reference}: {pins[reference]}")
    lines = [f"{ref} {digest}\n" for ref, digest in sorted(pins.items()) if ref in bases]
    DIGESTS.write_text(DIGESTS_HEADER + "".join(lines))


def ensure(
    reference: str,
    tool_source: str,
    requirements: dict[str, str],
    pull_first: bool = True,
    pinned: str | None = None,
    learners: bool = False,
) -> None:
    try:
        recipe: Recipe | None = recipe_for(reference, learners)
    except ToolError:
        recipe = None  # fine, as long as the image is present or pullable
    key = cache_key(recipe, tool_source, requirements) if recipe else ""
    labels = image_labels(reference)
    standin = (labels or {}).get(STANDIN_LABEL) == "true"
    present = labels is not None
    repinned = bool(present and not standin and pinned and pinned not in repo_digests(reference))
    if plan(reference, labels, key) == "ok" and not repinned:
        log(f"{reference}: present ({'stand-in' if standin else 'image'}, up to date)")
        return
    started = time.monotonic()
    if pull_first and fetch(reference, pinned) == "pulled":
        log(f"{reference}: ready in {time.monotonic() - started:.1f}s")
        return
    recipe = recipe or recipe_for(reference, learners)  # no recipe: its clear error
    log(
        f"{reference}: {'registry unreachable, ' if pull_first else ''}building a stand-in from "
        f"Debian {recipe.release}"
    )
    build_standin(reference, recipe, key, tool_source)
    size = image(reference)
    log(
        f"{reference}: stand-in built in {time.monotonic() - started:.1f}s, "
        f"{(size.size if size else 0) / 1e6:.0f} MB"
    )


def status(bases: dict[str, list[Path]]) -> None:
    for reference in sorted(bases):
        labels = image_labels(reference)
        state = (
            "missing"
            if labels is None
            else f"stand-in {labels.get(KEY_LABEL)}"
            if labels.get(STANDIN_LABEL) == "true"
            else "official"
        )
        print(f"{reference:24} {state}")


def repo_requirements() -> dict[str, str]:
    """The requirements files a wheelhouse holds, by path: part of a Python stand-in's key."""
    return {str(p.relative_to(REPO)): p.read_text() for p in requirements_files()}


@contextlib.contextmanager
def one_builder() -> Iterator[None]:
    """One builder at a time on this engine: parallel CI jobs (act runs a matrix at once) or a
    `make check` beside a `make test` would otherwise build the same stand-in side by side."""
    with open(Path(tempfile.gettempdir()) / "softy-pinko-baseimages.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


_ready: set[str] = set()


def ensure_learner_base(reference: str) -> None:
    """A base a learner's Dockerfile names, pulled or stood in for (`make check`); said only
    when something must be fetched or built."""
    if reference in _ready:
        return
    labels = image_labels(reference)
    requirements = repo_requirements()
    # The official image is used as it is. So is any stand-in, for an installed checker: it has
    # none of the repository's requirements files, so its key for a stand-in that `make bases`
    # built would differ, and rebuilding would retag the base under the repository's images.
    if labels is not None and (labels.get(STANDIN_LABEL) != "true" or not requirements):
        _ready.add(reference)
        return
    if labels is not None:  # a checkout's stand-in: up to date if its key is the recipe's
        key = cache_key(recipe_for(reference, learners=True), BUILD_CODE, requirements)
        if labels.get(KEY_LABEL) == key:
            _ready.add(reference)
            return
    with one_builder():
        pins = read_digests(DIGESTS.read_text()) if DIGESTS.exists() else {}
        ensure(reference, BUILD_CODE, requirements, pinned=pins.get(reference), learners=True)
    _ready.add(reference)


def ensure_all(bases: dict[str, list[Path]]) -> None:
    """Every base of the repo present, the stand-ins built side by side: their builds wait on
    the archive more than on a CPU, and a new machine builds two. Every failure is said."""
    requirements = repo_requirements()
    started = time.monotonic()
    with one_builder():
        pins = read_digests(DIGESTS.read_text()) if DIGESTS.exists() else {}
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(bases) or 1) as pool:
            builds = {
                ref: pool.submit(ensure, ref, BUILD_CODE, requirements, pinned=pins.get(ref))
                for ref in sorted(bases)
            }
    failed = {ref: error for ref, build in builds.items() if (error := build.exception())}
    for reference, error in failed.items():
        log(f"{reference}: failed: {error}")
    if failed:
        raise next(iter(failed.values()))
    log(f"{len(bases)} base image(s) ready in {time.monotonic() - started:.1f}s")


COMMANDS = {
    "ensure": "every base the tasks use: pulled, or a stand-in built offline (the default)",
    "list": "each base and the Dockerfiles that use it",
    "status": "where each base came from: pulled, a stand-in, missing",
    "runner": "the GitHub runner stand-in that `make act RUNNER=standin` uses",
    "cluster": "the cluster's node and registry images",
    "record": "each base's digest into tools/base-images.lock (online)",
}


def main(argv: list[str]) -> int:
    parser = cli.parser(argv, "tools.baseimages", __doc__)
    parser.add_argument(
        "command",
        nargs="?",
        default="ensure",
        choices=COMMANDS,
        help="; ".join(f"{k}: {v}" for k, v in COMMANDS.items()),
    )
    command = parser.parse_args(argv[1:]).command
    bases = bases_in_repo()
    if command == "list":
        for reference, paths in sorted(bases.items()):
            print(reference, " ".join(str(p.relative_to(REPO)) for p in paths))
        return 0
    if command == "status":
        status(bases)
        return 0
    if command == "runner":
        ensure(RUNNER_IMAGE, BUILD_CODE, {}, pull_first=False)  # it is in no registry
        return 0
    if command == "cluster":
        for reference in (NODE_IMAGE, REGISTRY_IMAGE):
            ensure(reference, BUILD_CODE, {})
        return 0
    if command == "record":
        record(bases)
        return 0
    ensure_all(bases)
    return 0


if __name__ == "__main__":
    sys.exit(cli.run_main(main))
