"""Building a stand-in: debootstrap the recipe's Debian release (the filesystem cached as its own
image), run the recipe's scripts in it, then `docker build` the recipe's Dockerfile on it with the
wheelhouse and the stand-in's labels."""

from __future__ import annotations

import inspect
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from softy_pinko_docker import REPO
from softy_pinko_docker.baseimages import KEY_LABEL, ROOTFS_REPOSITORY, STANDIN_LABEL, log
from softy_pinko_docker.baseimages.inventory import requirements_files
from softy_pinko_docker.baseimages.recipes import Recipe, rootfs_key
from softy_pinko_docker.docker import ToolError, docker, image, run

DEFAULT_ARCHIVE = "http://deb.debian.org/debian"
# Wheels for the image's Python come from the host: inside a container PyPI's TLS fails here.
WHEEL_PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64")


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
        bootstrap = REPO / "tools" / "bootstrap.sh"
        if shutil.which("debootstrap") is None and bootstrap.is_file():
            run([str(bootstrap), "--bare", "--packages", "debootstrap"], timeout=900)
        elif shutil.which("debootstrap") is None:  # installed from a wheel: no checkout here
            raise ToolError(
                f"no registry, so the {recipe.name} base is built from Debian's packages, which "
                "needs debootstrap: install it (sudo apt-get install debootstrap) and run again"
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
        (context / "Dockerfile").write_text(f"{recipe.dockerfile.strip()}\n{labels_line}\n")
        docker("build", "--quiet", "--build-arg", f"ROOTFS={rootfs_tag}", "-t", reference,
               str(context), timeout=1800)  # fmt: skip


# The code that makes a stand-in: part of its cache key, so a change to it rebuilds them.
BUILD_CODE = "".join(
    inspect.getsource(f) for f in (debootstrap, build_rootfs, build_standin, download_wheels)
)
