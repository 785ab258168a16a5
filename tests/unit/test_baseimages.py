"""The base-image tool's logic, without Docker: parsing, the online/offline decision, cache keys."""

import dataclasses
import json

import pytest

from softy_pinko_docker import baseimages as bi
from softy_pinko_docker.baseimages import command, inventory, recipes, standins
from softy_pinko_docker.baseimages import registry as reg
from softy_pinko_docker.docker import Completed, ToolError


def test_bases_in_repo_cover_exactly_the_tasks(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "Dockerfile").write_text("FROM ubuntu:latest\n")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "Dockerfile").write_text("FROM ignored:1\n")
    (tmp_path / "b.Dockerfile").write_text("FROM nginx:latest\n")
    found = inventory.bases_in_repo(tmp_path)
    assert sorted(found) == ["nginx:latest", "ubuntu:latest"]


def test_the_repo_uses_the_curriculum_s_two_bases_each_with_a_stand_in():
    bases = set(inventory.bases_in_repo())
    assert bases == {"ubuntu:latest", "nginx:latest"}, "the latest Ubuntu and the latest Nginx"
    for image in bases:
        recipes.recipe_for(image)  # raises for a base without a stand-in recipe


@pytest.mark.parametrize(
    "image,recipe",
    [
        ("ubuntu:latest", "ubuntu"),
        ("ubuntu", "ubuntu"),
        ("nginx:latest", "nginx"),
        ("nginx", "nginx"),
        ("docker.io/library/nginx:latest", "nginx"),
    ],
)
def test_recipe_for_known_images(image, recipe):
    assert recipes.recipe_for(image).name == recipe


@pytest.mark.parametrize(
    "image", ["python:3.13-slim", "nginx:1.30", "alpine:3", "ubuntu:24.04", "ngix:latest"]
)
def test_recipe_for_unknown_image_is_a_clear_error(image):
    with pytest.raises(ToolError, match="no stand-in recipe"):
        recipes.recipe_for(image)


@pytest.mark.parametrize(
    "rc,output,expected",
    [
        (0, "docker.io/library/nginx:1.30", "pulled"),
        (
            1,
            'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: '
            "no such host",
            "offline",
        ),
        (1, "net/http: TLS handshake timeout", "offline"),
        (1, "manifest for nginx:9.9 not found: manifest unknown", "error"),
        (1, "pull access denied for nope, repository does not exist", "error"),
    ],
)
def test_classify_pull(rc, output, expected):
    assert reg.classify_pull(rc, output) == expected


@pytest.mark.parametrize(
    "labels,expected",
    [
        (None, "fetch"),  # missing
        ({}, "ok"),  # official, no labels
        ({"maintainer": "x"}, "ok"),  # official
        ({bi.STANDIN_LABEL: "true", bi.KEY_LABEL: "k1"}, "ok"),  # fresh stand-in
        ({bi.STANDIN_LABEL: "true", bi.KEY_LABEL: "old"}, "fetch"),  # stale stand-in
    ],
)
def test_plan(labels, expected):
    assert command.plan("ubuntu:latest", labels, "k1") == expected


def test_cache_key_changes_only_where_inputs_change():
    tool = "tool v1"
    reqs = {"task1/requirements.txt": "flask==3.1.3\n"}
    bumped = {"task1/requirements.txt": "flask==3.1.4\n"}
    ubuntu, nginx = recipes.recipe_for("ubuntu:latest"), recipes.recipe_for("nginx:latest")
    # A requirement bump rebuilds the stand-in that carries the wheelhouse, and only it.
    assert recipes.cache_key(ubuntu, tool, reqs) != recipes.cache_key(ubuntu, tool, bumped)
    assert recipes.cache_key(nginx, tool, reqs) == recipes.cache_key(nginx, tool, bumped)
    # ... and a change above the filesystem (the wheelhouse's layer) reuses the bootstrapped one.
    relayered = dataclasses.replace(ubuntu, dockerfile=ubuntu.dockerfile + "\nENV X=1\n")
    assert recipes.cache_key(relayered, tool, reqs) != recipes.cache_key(ubuntu, tool, reqs)
    assert recipes.rootfs_key(relayered, tool) == recipes.rootfs_key(ubuntu, tool)
    # Nothing changed: the same key.
    assert recipes.cache_key(ubuntu, tool, dict(reqs)) == recipes.cache_key(ubuntu, tool, reqs)
    # The tool itself or the recipe changed: every stand-in is rebuilt.
    assert recipes.cache_key(nginx, "tool v2", reqs) != recipes.cache_key(nginx, tool, reqs)
    changed = dataclasses.replace(nginx, packages=("nginx", "curl"))
    assert recipes.cache_key(changed, tool, reqs) != recipes.cache_key(nginx, tool, reqs)
    assert recipes.rootfs_key(changed, tool) != recipes.rootfs_key(nginx, tool)


def test_archive_url_is_plain_http_debian():
    url = standins.archive_url()
    assert url.startswith("http://") and url.endswith("/debian")


class FakePulls:
    """`docker pull` that answers each call from a list: (exit code, stderr)."""

    def __init__(self, answers):
        self.answers, self.calls = list(answers), 0

    def __call__(self, cmd, **_kwargs):
        assert cmd[:2] == ["docker", "pull"], cmd
        self.calls += 1
        code, said = self.answers.pop(0)
        return Completed(code, "", said)


@pytest.fixture
def pulls(monkeypatch):
    monkeypatch.setattr(reg.time, "sleep", lambda _s: None)
    monkeypatch.setattr(reg, "_unreachable", set())

    def install(answers):
        fake = FakePulls(answers)
        monkeypatch.setattr(reg, "run", fake)
        return fake

    return install


OFFLINE = (
    1,
    'Error response from daemon: Get "https://registry-1.docker.io/v2/": dial tcp: '
    "lookup registry-1.docker.io: no such host",
)
RATE_LIMITED = (
    1,
    "Error response from daemon: toomanyrequests: You have reached your pull rate limit.",
)


def test_a_pull_is_tried_again_after_a_temporary_error(pulls):
    fake = pulls([RATE_LIMITED, RATE_LIMITED, (0, "")])
    assert reg.pull("nginx:latest") == "pulled" and fake.calls == 3


def test_a_real_error_is_not_tried_again(pulls):
    fake = pulls([(1, "Error response from daemon: manifest for nginx:9 not found")])
    with pytest.raises(ToolError, match="manifest for nginx:9 not found"):
        reg.pull("nginx:9")
    assert fake.calls == 1


def test_offline_outside_github_means_a_stand_in(pulls, monkeypatch):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    fake = pulls([OFFLINE] * 3)
    assert reg.pull("nginx:latest") == "offline" and fake.calls == 3


def test_once_a_registry_stayed_unreachable_later_pulls_try_once(pulls, monkeypatch):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    fake = pulls([OFFLINE] * 4)
    reg.pull("nginx:latest")
    assert reg.pull("ubuntu:latest") == "offline" and fake.calls == 4


@pytest.mark.parametrize(
    ("reference", "registry"),
    [
        ("nginx:latest", "docker.io"),
        ("library/nginx", "docker.io"),
        ("ghcr.io/owner/image:1", "ghcr.io"),
        ("localhost:5000/image", "localhost:5000"),
    ],
)
def test_registry_of(reference, registry):
    assert reg.registry_of(reference) == registry


def test_on_github_a_failed_pull_is_one_line_and_never_a_stand_in(pulls, monkeypatch):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.delenv("ACT", raising=False)
    monkeypatch.setattr(command, "image_labels", lambda _ref: None)  # the image is missing
    monkeypatch.setattr(command, "build_standin", lambda *_a: pytest.fail("built a stand-in"))
    pulls([RATE_LIMITED] * 3)
    with pytest.raises(ToolError) as failed:
        command.ensure("nginx:latest", "code", {})
    message = str(failed.value)
    assert "\n" not in message
    assert message == (
        "docker pull nginx:latest failed on GitHub Actions, where no stand-in is "
        "built (3 tries); the registry said: Error response from daemon: "
        "toomanyrequests: You have reached your pull rate limit."
    )


class FakeEngine:
    """`docker pull` / `tag` / `image inspect` answered from a dict of local images."""

    def __init__(self, local, pulls_work=True):
        self.local, self.pulls_work, self.commands = dict(local), pulls_work, []

    def __call__(self, cmd, **_kwargs):
        self.commands.append(" ".join(cmd[1:]))
        if cmd[1] == "pull":
            if not self.pulls_work:
                return Completed(1, "", OFFLINE[1])
            name, _, digest = cmd[-1].partition("@")
            self.local[cmd[-1]] = {"RepoDigests": [f"{name}@{digest or 'sha256:new'}"]}
            return Completed(0, "", "")
        if cmd[1] == "tag":
            self.local[cmd[3]] = self.local[cmd[2]]
            return Completed(0, "", "")
        found = [{"Id": "x", "Config": {}, **self.local[r]} for r in cmd[3:] if r in self.local]
        return Completed(0 if found else 1, json.dumps(found), "")


@pytest.fixture
def engine(monkeypatch):
    monkeypatch.setattr(reg.time, "sleep", lambda _s: None)
    monkeypatch.setattr(reg, "_unreachable", set())
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)

    def install(local, pulls_work=True):
        fake = FakeEngine(local, pulls_work)
        monkeypatch.setattr(reg, "run", fake)
        monkeypatch.setattr("softy_pinko_docker.docker.run", fake)
        return fake

    return install


def test_base_image_digests_are_read_from_the_lock():
    text = "# comment\nnginx:latest sha256:aa  # why\n\nubuntu:latest sha256:bb\nbroken\n"
    assert reg.read_digests(text) == {"nginx:latest": "sha256:aa", "ubuntu:latest": "sha256:bb"}


@pytest.mark.parametrize(
    ("reference", "name"),
    [("nginx:latest", "nginx"), ("localhost:5000/app:1", "localhost:5000/app"), ("a/b", "a/b")],
)
def test_untagged(reference, name):
    assert reg.untagged(reference) == name


def test_an_official_image_at_another_digest_is_pulled_again_at_the_recorded_one(engine):
    fake = engine({"nginx:latest": {"RepoDigests": ["nginx@sha256:old"]}})
    command.ensure("nginx:latest", "code", {}, pinned="sha256:pinned")
    assert "pull --quiet nginx@sha256:pinned" in fake.commands
    assert "tag nginx@sha256:pinned nginx:latest" in fake.commands
    assert reg.repo_digests("nginx:latest") == ["sha256:pinned"]


def test_an_official_image_at_the_recorded_digest_is_left_alone(engine):
    fake = engine({"nginx:latest": {"RepoDigests": ["nginx@sha256:pinned"]}})
    command.ensure("nginx:latest", "code", {}, pinned="sha256:pinned")
    assert not [c for c in fake.commands if c.startswith("pull")]


def test_record_writes_what_each_tag_points_to_and_keeps_the_rest_offline(
    engine, tmp_path, monkeypatch
):
    monkeypatch.setattr(reg, "DIGESTS", tmp_path / "base-images.lock")
    engine({})
    reg.record({"nginx:latest": [], "ubuntu:latest": []})
    assert reg.read_digests(reg.DIGESTS.read_text()) == {
        "nginx:latest": "sha256:new",
        "ubuntu:latest": "sha256:new",
    }
    engine({}, pulls_work=False)
    reg.record({"nginx:latest": []})  # offline: the recorded digest stays; a gone base is dropped
    assert reg.read_digests(reg.DIGESTS.read_text()) == {"nginx:latest": "sha256:new"}
