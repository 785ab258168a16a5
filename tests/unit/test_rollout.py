"""deploy/: the decisions that need no Docker."""

from pathlib import Path

import pytest

from softy_pinko_docker.deploy import proxy, wanted
from softy_pinko_docker.docker import Container

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("task,follows", [("task5", False), ("task6", True)])
def test_whether_a_proxy_follows_dns_is_read_from_its_config(task, follows):
    config = (REPO / task / "proxy" / "proxy.conf").read_text()
    assert proxy.follows_dns(config, "back-end") is follows
    assert proxy.follows_dns(config, "front-end") is follows
    assert not proxy.follows_dns(config, "back")  # a name, not a prefix


def test_a_commented_out_resolve_does_not_count():
    assert not proxy.follows_dns("upstream a {\n  # server back-end:5252 resolve;\n}\n", "back-end")


def container(config_hash: str, image: str) -> Container:
    return Container(
        id="c1",
        name="p-back-end-1",
        service="back-end",
        number=1,
        state="running",
        health="healthy",
        health_log="",
        exit_code=0,
        image=image,
        config_hash=config_hash,
        image_label=image,
        hostname="c1",
        user="",
        restarts=0,
        started_at="",
        labels={},
        host_config={},
        networks={},
        mounts=[],
    )


def test_a_container_is_current_only_with_the_same_configuration_and_image():
    want = wanted.Wanted("back-end", "hash1", "img:tag", "sha256:new", 2, publishes=False)
    assert want.is_current(container("hash1", "sha256:new"))
    assert not want.is_current(container("hash1", "sha256:old"))
    assert not want.is_current(container("hash0", "sha256:new"))


BUILDKIT = [
    'CMD ["nginx" "-g" "daemon off;"]',
    'ENTRYPOINT ["/usr/local/bin/live-config"]',
    "COPY proxy.conf /etc/nginx/conf.d/default.conf # buildkit",
    "LABEL org.softy-pinko.live-config=/etc/nginx/conf.d",
    "RUN /bin/sh -c install -d -o 101 -g 101 /etc/nginx/live # buildkit",
]
CLASSIC = [
    '/bin/sh -c #(nop)  CMD ["nginx" "-g" "daemon off;"]',
    "/bin/sh -c #(nop) COPY file:3b2c9d in /etc/nginx/conf.d/default.conf ",
    "/bin/sh -c install -d -o 101 -g 101 /etc/nginx/live",
]


@pytest.mark.parametrize("history", [BUILDKIT, CLASSIC], ids=["buildkit", "classic builder"])
def test_a_last_layer_that_copies_into_the_config_folder_is_recognised(history):
    assert proxy.last_layer_copies_into(history, "/etc/nginx/conf.d")
    assert not proxy.last_layer_copies_into(history, "/etc/nginx/conf")  # a folder, not a prefix


@pytest.mark.parametrize(
    "history",
    [
        [
            "RUN /bin/sh -c sed -i s/a/b/ /etc/nginx/conf.d/default.conf # buildkit",
            "COPY proxy.conf /etc/nginx/conf.d/default.conf # buildkit",
        ],  # a RUN after the COPY
        ["COPY nginx.conf /etc/nginx/nginx.conf # buildkit"],  # another file
        ['CMD ["nginx"]'],  # no layer at all
    ],
)
def test_any_other_last_layer_is_not_a_config_change(history):
    assert not proxy.last_layer_copies_into(history, "/etc/nginx/conf.d")


@pytest.mark.parametrize(
    "line,status",
    [
        ("HTTP/1.1 200 OK\r", 200),
        ("HTTP/1.0 500 x", 500),
        ("", 0),
        ("garbage here", 0),
        ("HTTP/1.1 OK", 0),
    ],
)
def test_the_status_of_a_status_line(line, status):
    assert proxy.status_of(line) == status


def test_a_new_commit_alone_does_not_change_an_images_settings():
    """The provenance labels change with every commit; a proxy image that differs from the
    running one only in them and its config is still applied with a reload."""
    labels = {"org.softy-pinko.live-config": "/etc/nginx/conf.d", "a": "1"}
    old = {"Labels": {**labels, "org.opencontainers.image.revision": "1" * 40}}
    new = {"Labels": {**labels, "org.opencontainers.image.revision": "2" * 40}}
    assert wanted.settings(old, "Labels") == wanted.settings(new, "Labels")
    changed = {"Labels": {**new["Labels"], "a": "2"}}
    assert wanted.settings(old, "Labels") != wanted.settings(changed, "Labels")
