"""Pulling a base: tried again with backoff while the registry is only busy, recognised as
unreachable (a stand-in will do) or as a real error; by the digest base-images.lock records."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from softy_pinko_docker.baseimages import log
from softy_pinko_docker.docker import ToolError, docker, docker_json, image, run

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


DIGESTS = Path(__file__).with_name("base-images.lock")
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
            said += f"digest is recorded in {DIGESTS.name} (`make lock`, online)"
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
