"""The checks of the Compose tasks that build and run: every image built from the learner's
files, `nginx -t` in each Nginx image with the stack's service names resolvable, the stack
started as `policy.sandboxed` rewrites it, and its answers, each failure traced to its cause."""

from __future__ import annotations

from pathlib import Path

from softy_pinko_docker.check import composefile, nginx, probes, running, site, steps
from softy_pinko_docker.check.composefile import FILE, line_of, services
from softy_pinko_docker.check.registry import Context, Failed
from softy_pinko_docker.check.sandbox import NotStarted, Stack
from softy_pinko_docker.docker import ToolError


def build_all(ctx: Context) -> str:
    images: dict[str, str] = {}
    built: dict[tuple[str, str], str] = {}
    for name, service in services(ctx).items():
        build = service.get("build")
        if not build:
            _use_image(ctx, name, service)
            continue
        context = Path(build["context"])
        dockerfile = context / build.get("dockerfile", "Dockerfile")
        key = (str(context), str(dockerfile))
        if key not in built:
            if not dockerfile.is_file():
                raise Failed(
                    f"{ctx.rel(dockerfile)}, which services.{name}.build names",
                    "no such file",
                    f"create {ctx.rel(dockerfile)}, or point build at the folder that holds it",
                    f"{ctx.task}/{FILE}",
                    line_of(ctx, f"services.{name}.build"),
                )
            result = ctx.sandbox.build(
                context,
                dockerfile,
                ctx.sandbox.tag(ctx.task, name),
                build.get("args"),
                build.get("target"),
            )
            if not result.ok:
                raise running.build_failure(ctx, dockerfile, result)
            built[key] = result.tag
        images[name] = built[key]
    ctx.stack_images = images
    return f"built {len(built)} image(s)"


def _use_image(ctx: Context, name: str, service: dict[str, object]) -> None:
    """A service with an image and no build: an official image, pulled or stood in for."""
    image = str(service.get("image", ""))
    where = f"{ctx.task}/{FILE}"
    if image.startswith("softy-pinko"):
        raise Failed(
            f"services.{name}.build",
            f"only image: {image}, which this machine has "
            "from another build than this repository's",
            "add build: with the service's folder",
            where,
            line_of(ctx, f"services.{name}"),
        )
    try:
        from softy_pinko_docker.baseimages.command import ensure_learner_base

        ensure_learner_base(image)
    except ToolError as error:
        raise Failed(
            f"the image {image}",
            str(error),
            "build it from a Dockerfile",
            where,
            line_of(ctx, f"services.{name}.image"),
            warning=True,
            blocks=True,
        ) from None


def config_loads(ctx: Context, name: str) -> str:
    """`nginx -t` in the image built for the role's service, every service's name resolving as
    on the stack's network; a line it names is the learner's file copied there."""
    found = composefile.role(ctx, name)
    assert found.dockerfile is not None  # role_files passed
    sources = steps.image_sources(ctx, found.dockerfile)
    image = ctx.stack_images[found.service]
    return running.nginx_accepts(ctx, image, sources, sorted(services(ctx)))


def up(ctx: Context, scale: dict[str, int] | None = None) -> Stack:
    try:
        stack: Stack = ctx.sandbox.compose_up(ctx.task, ctx.model, ctx.stack_images, scale or {})
    except NotStarted as error:
        raise Failed(
            "the stack to start",
            str(error),
            "run docker compose up in the task's folder and fix what it says",
            f"{ctx.task}/{FILE}",
            details=error.output,
        ) from None
    ctx.started = stack
    return stack


def url_of(ctx: Context, name: str, target: int, path: str) -> str:
    stack = ctx.stack
    service = ctx.roles.get(name, name)
    port = stack.port(service, target)
    if port is None:
        gone = probes.exited(ctx.sandbox.stack_containers(stack.project))
        if gone:  # a container that exits at once publishes nothing
            raise Failed(
                f"{service} to keep running",
                gone,
                "docker compose up in the task's folder shows the same: fix what the log says",
                f"{ctx.task}/{FILE}",
            )
        raise Failed(
            f"{service} reachable on its port {target}",
            "no published port",
            f'ports: ["{target}:{target}"]',
            f"{ctx.task}/{FILE}",
        )
    return f"http://127.0.0.1:{port}{path}"


def wait(ctx: Context, url: str, what: str) -> probes.Answer:
    """The answer, waited on while it can still come: not once a container of the stack has
    exited (its log's last error is the reason), a back-end listens elsewhere than 0.0.0.0:5252
    (its own log says so), or the front-end's Nginx listens elsewhere than 9000."""
    stack = ctx.stack
    said = probes.wait_answer(url, running.WAIT, lambda: decided(ctx, stack))
    if isinstance(said, str):
        raise Failed(
            f"an answer from {what}",
            said,
            "docker compose up in the task's folder shows the same: fix what the log says",
            f"{ctx.task}/{FILE}",
        )
    return said


def decided(ctx: Context, stack: Stack) -> str | None:
    """Why no answer can come any more, or None while one still may."""
    containers = ctx.sandbox.stack_containers(stack.project)
    gone = probes.exited(containers)
    if gone:
        return gone
    back_end = ctx.roles.get("back-end")
    for container in (c for c in containers if c.service == back_end):
        elsewhere = probes.listens_elsewhere(container, 5252)
        if elsewhere:
            return f"{container.name}: {elsewhere}"
    return None


def front_end_ports(ctx: Context) -> list[int]:
    """The ports the front-end's Nginx listens on, from its config ([] when it cannot be read:
    the stack's own answers will tell)."""
    conf = front_end(ctx) / site.FRONT_END_CONF
    try:
        return sorted({p for s in nginx.servers(nginx.read(conf)) for p in nginx.listen_ports(s)})
    except (OSError, nginx.NotRead):
        return []


def browser_ports(ctx: Context) -> dict[int, int]:
    """Each host port the learner's file publishes -> where the checker published it."""
    stack = ctx.stack
    ports: dict[int, int] = {}
    for name, service in services(ctx).items():
        for port in service.get("ports") or []:
            where = stack.port(name, port["target"])
            if port.get("published") and where:
                ports[int(port["published"])] = where
    return ports


def front_end(ctx: Context) -> Path:
    """The front-end's folder: the context its service builds."""
    found = composefile.role(ctx, "front-end")
    return found.context or ctx.folder / "front-end"


def page_through(ctx: Context, url: str) -> str:
    """GET / through the stack: the site's page, or the cause (the site's folder when Nginx
    finds no index.html)."""
    said = wait(ctx, url, "GET /")
    folder = front_end(ctx)
    conf = ctx.rel(folder / site.FRONT_END_CONF)
    return running.page_answer(said, conf, ctx.rel(folder / site.SITE))
