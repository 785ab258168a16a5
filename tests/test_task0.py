"""task0: an Ubuntu image that updates APT and prints exactly ``Hello, World!``."""
import subprocess

import pytest

from support import REPO, build_image

pytestmark = pytest.mark.docker


def test_task0_prints_exactly_hello_world():
    build_image(REPO / "task0", "softy-pinko:task0")
    run = subprocess.run(["docker", "run", "--rm", "softy-pinko:task0"],
                         capture_output=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout == b"Hello, World!\n"
    assert run.stderr == b""


def test_task0_does_not_run_as_root():
    user = subprocess.run(["docker", "image", "inspect", "--format", "{{.Config.User}}",
                           "softy-pinko:task0"], capture_output=True, text=True, check=True)
    assert user.stdout.strip() not in ("", "0", "root", "0:0")


def test_task0_dockerfile_upgrades_apt_and_uses_latest_ubuntu():
    text = (REPO / "task0" / "Dockerfile").read_text()
    assert "FROM ubuntu:latest" in text
    assert "apt-get update" in text and "apt-get upgrade -y" in text
