"""A change to the proxy itself: applied with `nginx -s reload` when only its site config
changed (checked with `nginx -t` first, in a one-off container of the new image), otherwise by
recreating it; a failure leaves the proxy as it was."""

from __future__ import annotations

import time
from collections.abc import Callable

from softy_pinko_docker.compose import ComposeProject
from softy_pinko_docker.deploy.proxy import (
    LIVE_DIR,
    LIVE_LABEL,
    PROXY,
    Proxy,
    last_layer_copies_into,
)
from softy_pinko_docker.deploy.wanted import IMAGE_SETTINGS, DeployError, Wanted, settings
from softy_pinko_docker.docker import (
    Container,
    ToolError,
    docker,
    inspect_images,
    run,
    wait_container_healthy,
)


class ProxyChange:
    """Bring the running proxy to the wanted image; `say` prints a line of progress."""

    def __init__(
        self,
        project: ComposeProject,
        proxy: Proxy | None,
        timeout: float,
        say: Callable[[str], None],
    ):
        self.project, self.proxy, self.timeout, self.say = project, proxy, timeout, say

    def converge(self, container: Container, want: Wanted) -> None:
        # The config it runs is its own image's, unless `make up` installed another since.
        running = self.live_image(container) or container.image_label
        if container.config_hash == want.config_hash and running == want.image:
            self.say(f"[up] {PROXY}: unchanged")
            return
        self.check_config(want, running)
        reason = (
            "its Compose configuration changed"
            if container.config_hash != want.config_hash
            else self.not_reloadable(container.image, want.image)
        )
        if reason:
            self.recreate_proxy(want, running, reason)
        else:
            self.reload_config(container, want.image, running)

    def live_image(self, container: Container) -> str:
        """The image whose site config the proxy runs, when `make up` installed one."""
        return docker("exec", container.name, "cat", f"{LIVE_DIR}/.image", check=False).strip()

    def check_config(self, want: Wanted, running: str) -> None:
        """`nginx -t` in a one-off container of the new image, on the proxy's network (its
        upstreams' names resolve there). A failure changes nothing, the tag included."""
        assert self.proxy is not None
        check = run(
            ["docker", "run", "--rm", "--network", self.proxy.network, want.image, "nginx", "-t"],
            timeout=60,
            check=False,
        )
        if check.returncode != 0:
            docker("tag", running, want.ref, check=False)
            why = next(
                (line for line in check.stderr.splitlines() if "emerg" in line), check.stderr
            )
            raise DeployError(
                f"{PROXY}: the new image's config fails `nginx -t` ("
                f"{' '.join(why.split())[:300]}); the proxy keeps running as it "
                f"was, and {want.ref} names its image again"
            )

    @staticmethod
    def not_reloadable(running: str, new: str) -> str:
        """Why the new proxy image cannot be applied with a reload ("" when it can)."""
        old_image, new_image = inspect_images(running, new)
        source = new_image.labels.get(LIVE_LABEL)
        if not source or old_image.labels.get(LIVE_LABEL) != source:
            return "its image cannot reload its site config in place"
        if any(
            settings(old_image.config, k) != settings(new_image.config, k) for k in IMAGE_SETTINGS
        ):
            return "the image's settings changed"
        old_layers, new_layers = old_image.layers, new_image.layers
        if len(old_layers) != len(new_layers) or old_layers[:-1] != new_layers[:-1]:
            return "more than its site config changed"
        history = docker(
            "image", "history", "--no-trunc", "--format", "{{.CreatedBy}}", new
        ).splitlines()
        if not last_layer_copies_into(history, source):
            return f"its last layer is not a copy into {source}"
        return ""

    def reload_config(self, container: Container, new_image: str, running: str) -> None:
        assert self.proxy is not None
        started = time.monotonic()
        self.install_config(container, new_image)
        try:
            self.proxy.reload()
        except DeployError:
            self.install_config(container, running)
            raise
        self.say(
            f"[up] {PROXY}: only its site config changed: checked with nginx -t, installed "
            f"and reloaded in {time.monotonic() - started:.1f}s (the listening socket stays "
            "open)"
        )

    @staticmethod
    def install_config(container: Container, image: str) -> None:
        volume = next(
            (
                m["Name"]
                for m in container.mounts
                if m.get("Destination") == LIVE_DIR and m.get("Name")
            ),
            None,
        )
        if volume is None:
            raise DeployError(
                f"{PROXY}: {container.name} has no volume on {LIVE_DIR} to "
                "install a config into; recreate it with `make down && make up`"
            )
        docker(
            "run",
            "--rm",
            "--network",
            "none",
            "--volume",
            f"{volume}:{LIVE_DIR}",
            image,
            "install",
            image,
        )

    def recreate_proxy(self, want: Wanted, running: str, reason: str) -> None:
        started = time.monotonic()
        try:
            self.start_proxy()
        except ToolError as error:
            # Back to the image that ran: a proxy that does not come up is a full outage.
            docker("tag", running, want.ref)
            self.start_proxy()
            raise DeployError(
                f"{PROXY}: the new proxy did not turn healthy ({error}); the "
                f"previous image runs again and {want.ref} names it"
            ) from None
        self.say(
            f"[up] {PROXY}: recreated ({reason}) in {time.monotonic() - started:.1f}s; "
            "the connections open to it were closed"
        )

    def start_proxy(self) -> None:
        self.project.run("up", "--detach", "--no-deps", "--no-build", "--force-recreate", PROXY)
        wait_container_healthy(self.project.containers(PROXY)[0].name, timeout=self.timeout)
