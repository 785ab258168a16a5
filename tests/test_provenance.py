"""What a build says about itself: OCI labels naming the commit, an SBOM per image, and a clean
build of a back-end installing exactly the distributions of the image the stack runs, the locked
ones."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from softy_pinko_docker import locks, sbom
from softy_pinko_docker.docker import build, image_ids, provenance, remove_images_since, run
from support import REPO

pytestmark = pytest.mark.docker
TASKS = sorted(p.name for p in REPO.glob("task[0-9]*") if p.is_dir())
BACK_END = REPO / "task6" / "back-end"


@pytest.fixture(scope="module", params=TASKS)
def task_images(request):
    return request.param, sbom.images_of(request.param)  # builds them (cached)


def test_every_image_carries_the_oci_labels_of_the_current_commit(task_images):
    task, images = task_images
    commit = run(["git", "-C", str(REPO), "show", "-s", "--format=%H %cI", "HEAD"]).stdout.split()
    assert provenance() == {"REVISION": commit[0], "CREATED": commit[1]}
    for reference in images:
        labels = json.loads(
            run(
                ["docker", "image", "inspect", "--format", "{{json .Config.Labels}}", reference]
            ).stdout
        )
        assert labels["org.opencontainers.image.revision"] == commit[0], reference
        assert labels["org.opencontainers.image.created"] == commit[1], reference
        assert labels["org.opencontainers.image.licenses"] == "MIT", reference
        assert labels["org.opencontainers.image.source"].startswith("https://github.com/")
        # One title per role: the tag names the task. (Compose's builder here reused task4's
        # image for task5 when two Dockerfiles differed only in a LABEL's text.)
        role = Path(images[reference]).name  # back-end, front-end, proxy; task0 is itself
        expected = f"softy-pinko ({task})" if role == task else f"softy-pinko {role}"
        assert labels["org.opencontainers.image.title"] == expected, reference


def test_each_task6_image_has_a_valid_repeatable_sbom_of_what_it_holds():
    locked = locks.read_lock((BACK_END / "requirements.txt").read_text())
    for reference, context in sbom.images_of("task6").items():
        first = sbom.write(reference, context).read_bytes()
        again = sbom.write(reference, context).read_bytes()
        assert again == first, f"{reference}: SBOM not repeatable"
        document = json.loads(first)
        assert document["bomFormat"] == "CycloneDX" and document["specVersion"] == "1.6"
        subject = document["metadata"]["component"]
        assert subject["name"] == reference
        said = {p["name"]: p["value"] for p in subject["properties"]}
        assert said["softy-pinko:base.name"] in ("ubuntu:latest", "nginx:latest"), said
        assert said["softy-pinko:base.digest"].startswith(("sha256:", "none: ", "docker.io/"))
        purls = [c["purl"] for c in document["components"]]
        assert sum(p.startswith("pkg:deb/") for p in purls) > 20, reference
        if "back-end" in reference:
            for pin in locked.values():
                assert f"pkg:pypi/{pin.name}@{pin.version}" in purls, (reference, pin)


def installed(reference: str) -> dict[str, tuple[str, str]]:
    """{distribution: (version, sha256 of its RECORD)}: RECORD lists the hash of every file the
    wheel installed, so equal RECORDs mean byte-identical installed files."""
    return {
        dist["name"]: (dist["version"], hashlib.sha256(dist["record"].encode()).hexdigest())
        for dist in sbom.read_image(reference).python
    }


def test_a_clean_build_installs_the_same_locked_distributions_as_the_stack_s_image():
    """Every step again, no cache (APT and pip afresh), against the image the stack runs, built
    earlier the same way: one clean build is the second of the pair (the first costs ~70 s here)."""
    shipped = next(ref for ref in sbom.images_of("task6") if "back-end" in ref)
    tag = "softy-pinko-repro:clean"
    before = image_ids()
    try:
        build(tag, BACK_END, no_cache=True)
        first, second = installed(shipped), installed(tag)
    finally:
        remove_images_since(before)  # all of it: its layers would lead later builds off the cache
    assert image_ids() == before
    assert first == second
    locked = locks.read_lock((BACK_END / "requirements.txt").read_text())
    assert {name: first[name][0] for name in locked if name in first} == {
        name: pin.version for name, pin in locked.items()
    }
