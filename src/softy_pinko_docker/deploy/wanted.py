"""What each service should run, how a running container is compared with it, and how a
deploy fails."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import tempfile
from collections.abc import Iterator
from pathlib import Path

from softy_pinko_docker.docker import (
    Container,
    ToolError,
)

# Image settings that, if any differs, make a change more than a config change.
IMAGE_SETTINGS = (
    "Cmd",
    "Entrypoint",
    "Env",
    "ExposedPorts",
    "Healthcheck",
    "Labels",
    "OnBuild",
    "Shell",
    "StopSignal",
    "User",
    "Volumes",
    "WorkingDir",
)


# Labels that say where an image came from, not how it runs: a new commit changes them.
PROVENANCE_LABELS = ("org.opencontainers.image.revision", "org.opencontainers.image.created")


# Dockerfile instructions that change an image's settings but make no layer.
SETTINGS_ONLY = {
    "ARG",
    "CMD",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
}


class DeployError(ToolError):
    """A rolled deploy stopped; the message is one line, and the old containers still serve."""


class NotReady(Exception):
    """A new container did not take over; the message says why, in a few words."""


@dataclasses.dataclass(frozen=True)
class Wanted:
    """What the Compose file asks of one service now."""

    name: str
    config_hash: str
    ref: str  # its `image:` (name:tag)
    image: str  # the ID of the image that tag names, just built
    count: int
    publishes: bool  # it publishes a host port itself
    port: int | None = None  # the port it serves on inside the network (`expose`)

    def is_current(self, container: Container) -> bool:
        return container.config_hash == self.config_hash and container.image_label == self.image


def settings(config: dict[str, object], key: str) -> object:
    """One of an image's settings, its labels without the provenance ones."""
    value = config.get(key)
    if key == "Labels" and isinstance(value, dict):
        return {k: v for k, v in value.items() if k not in PROVENANCE_LABELS}
    return value


@contextlib.contextmanager
def project_lock(project: str) -> Iterator[None]:
    """One deploy per project at a time: a second `make up` would take the first one's new
    containers for its own."""
    path = Path(tempfile.gettempdir()) / f"softy-pinko-deploy-{project}.lock"
    with path.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DeployError(
                f"another `make up` is deploying {project} right now: wait for it to finish"
            ) from None
        yield
