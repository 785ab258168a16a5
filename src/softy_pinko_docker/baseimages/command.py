"""`softy-pinko-docker bases [ensure|list|status|runner|cluster|record]` (default: ensure):
every base the tasks use, present; runner: the stand-in for GitHub's runner that
`make act RUNNER=standin` uses. How each is got: see the package's docstring."""

from __future__ import annotations

import concurrent.futures
import contextlib
import fcntl
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from softy_pinko_docker import REPO, cli
from softy_pinko_docker.baseimages import KEY_LABEL, STANDIN_LABEL, log
from softy_pinko_docker.baseimages.inventory import bases_in_repo, repo_requirements
from softy_pinko_docker.baseimages.recipes import (
    NODE_IMAGE,
    REGISTRY_IMAGE,
    RUNNER_IMAGE,
    Recipe,
    cache_key,
    recipe_for,
)
from softy_pinko_docker.baseimages.registry import (
    DIGESTS,
    fetch,
    read_digests,
    record,
    repo_digests,
)
from softy_pinko_docker.baseimages.standins import BUILD_CODE, build_standin, image_labels
from softy_pinko_docker.docker import ToolError, image


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
    "record": "each base's digest into base-images.lock (online)",
}


def main(argv: list[str]) -> int:
    parser = cli.parser(argv, "softy_pinko_docker.baseimages", __doc__)
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
