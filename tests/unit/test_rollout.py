"""tools/rollout.py's decisions that need no Docker."""
from pathlib import Path

import pytest

import rollout
from stack import Container

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("task,follows", [("task5", False), ("task6", True)])
def test_whether_a_proxy_follows_dns_is_read_from_its_config(task, follows):
    config = (REPO / task / "proxy" / "proxy.conf").read_text()
    assert rollout.follows_dns(config, "back-end") is follows
    assert rollout.follows_dns(config, "front-end") is follows
    assert not rollout.follows_dns(config, "back")  # a name, not a prefix


def test_a_commented_out_resolve_does_not_count():
    assert not rollout.follows_dns("upstream a {\n  # server back-end:5252 resolve;\n}\n",
                                   "back-end")


def container(config_hash: str, image: str) -> Container:
    return Container(id="c1", name="p-back-end-1", service="back-end", number=1,
                     state="running", health="healthy", health_log="", exit_code=0, image=image,
                     config_hash=config_hash, image_label=image, hostname="c1", networks={},
                     mounts=[])


def test_a_container_is_current_only_with_the_same_configuration_and_image():
    want = rollout.Wanted("back-end", "hash1", "img:tag", "sha256:new", 2, publishes=False)
    assert want.is_current(container("hash1", "sha256:new"))
    assert not want.is_current(container("hash1", "sha256:old"))
    assert not want.is_current(container("hash0", "sha256:new"))
