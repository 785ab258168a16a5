"""task0: an Ubuntu image that updates APT and prints exactly ``Hello, World!``."""

import pytest

from softy_pinko_docker.docker import image, run
from support import REPO, build_image

pytestmark = pytest.mark.docker


def test_task0_prints_exactly_hello_world():
    build_image(REPO / "task0", "softy-pinko:task0")
    hello = run(["docker", "run", "--rm", "softy-pinko:task0"], timeout=60)
    assert hello.stdout == "Hello, World!\n"
    assert hello.stderr == ""


def test_task0_does_not_run_as_root():
    built = image("softy-pinko:task0")
    assert built is not None
    assert built.config.get("User", "") not in ("", "0", "root", "0:0")


def test_task0_dockerfile_upgrades_apt_and_uses_latest_ubuntu():
    text = (REPO / "task0" / "Dockerfile").read_text()
    assert "FROM ubuntu:latest" in text
    assert "apt-get update" in text and "apt-get upgrade -y" in text
