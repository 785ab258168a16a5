"""The check bodies of the Compose tasks (task4 to task6): the file, what Compose makes of it,
what it may not do here (`policy`), its images built, and its stack started."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tools.check import files, policy, probes, steps
from tools.check.registry import Context, Failed, check
from tools.check.sandbox import NotStarted, Stack
from tools.docker import ToolError

FILE = "docker-compose.yml"
OTHER_NAMES = ("docker-compose.yaml", "compose.yaml", "compose.yml")


def compose_file(ctx: Context) -> str:
    path = ctx.folder / FILE
    if path.is_file():
        return f"{ctx.task}/{FILE}"
    for name in OTHER_NAMES:
        if (ctx.folder / name).is_file():
            raise Failed(
                f"{ctx.task}/{FILE}",
                f"{ctx.task}/{name}",
                f"git mv {ctx.task}/{name} {ctx.task}/{FILE}",
            )
    return ctx.rel(steps.require_file(ctx, FILE, "the Compose file"))


def model(ctx: Context) -> str:
    """Compose's own reading of the file, kept for the checks after; first, from the file
    itself, what Compose would read from outside the repository is refused."""
    path = ctx.folder / FILE
    try:
        ctx.state["raw"] = files.compose_raw(path)
    except Exception as error:  # noqa: BLE001 - ruamel's errors share no base worth naming
        raise Failed("YAML", str(error).splitlines()[0], "fix the YAML", ctx.rel(path)) from None
    refused = policy.before_reading(ctx.state["raw"], ctx.folder, ctx.root)
    if refused:
        raise refusal(ctx, refused)
    said = ctx.sandbox.compose_model(path)
    if said.returncode != 0:
        line = (said.stderr.strip().splitlines() or ["no output"])[-1]
        raise Failed(
            "a Compose file that `docker compose config` reads",
            line.replace(str(ctx.root) + "/", ""),
            "fix what Compose says; `docker compose config` in the task's folder shows it",
            ctx.rel(path),
        )
    ctx.state["model"] = json.loads(said.stdout)
    return f"services: {', '.join(ctx.state['model'].get('services') or {})}"


def line_of(ctx: Context, key: str) -> int | None:
    parts: list[str | int] = []
    for part in key.replace("]", "").split("."):
        name, _, index = part.partition("[")
        parts += [name] + ([int(index)] if index else [])
    return files.key_line(ctx.state["raw"], *parts)


def nothing_reaches_the_host(ctx: Context) -> str:
    refused = policy.refusals(ctx.state["model"], ctx.state["raw"], ctx.folder, ctx.root)
    if refused:
        raise refusal(ctx, refused)
    return "no privileges, host namespaces, devices or host paths"


def refusal(ctx: Context, refused: list[policy.Refusal]) -> Failed:
    first = refused[0]
    more = ""
    if len(refused) > 1:
        more = f" (and {len(refused) - 1} more: {', '.join(r.key for r in refused[1:4])})"
    return Failed(
        "no key that reaches outside the container",
        f"{first.key}: {first.reason}{more}",
        f"remove {first.key.split('.')[-1]}: the checker runs nothing that can reach the host",
        f"{ctx.task}/{FILE}",
        line_of(ctx, first.key),
    )


def service_for(ctx: Context, role: str) -> str | None:
    """The service named `role`, or else the one built from the `role`/ folder."""
    services: dict[str, Any] = ctx.state["model"].get("services") or {}
    if role in services:
        return role
    for name, service in services.items():
        context = str((service.get("build") or {}).get("context", ""))
        if Path(context).name == role:
            return name
    return None


def require_services(ctx: Context, *roles: str) -> str:
    services = list(ctx.state["model"].get("services") or {})
    for role in roles:
        if role not in services:
            other = service_for(ctx, role)
            raise Failed(
                f"a service named {role}",
                f"services {', '.join(services)}",
                f"rename {other} to {role}" if other else f"add a service {role}",
                f"{ctx.task}/{FILE}",
                line_of(ctx, f"services.{other}") if other else None,
            )
    return f"services {', '.join(roles)}"


def raw_service(ctx: Context, name: str) -> Any:
    return (ctx.state["raw"].get("services") or {}).get(name) or {}


def builds_and_image(ctx: Context, role: str, image: str | None) -> str:
    """The service has a build and the image name the statement gives; build's context and
    dockerfile keys spelled out, as the statement shows them (a warning: Compose's defaults
    build the same)."""
    name = service_for(ctx, role) or role
    raw = raw_service(ctx, name)
    where = f"{ctx.task}/{FILE}"
    build = raw.get("build")
    example = f"build: {{context: ./{role}, dockerfile: Dockerfile}}"
    if build is None:
        raise Failed(
            f"services.{name}.build", "none", example, where, line_of(ctx, f"services.{name}")
        )
    if image is not None and raw.get("image") != image:
        raise Failed(
            f"services.{name}.image: {image}",
            repr(raw.get("image")),
            f"image: {image}",
            where,
            line_of(ctx, f"services.{name}.image") or line_of(ctx, f"services.{name}"),
        )
    if not isinstance(build, dict) or "context" not in build or "dockerfile" not in build:
        raise Failed(
            f"services.{name}.build with context and dockerfile",
            f"build: {build!r}",
            example,
            where,
            line_of(ctx, f"services.{name}.build"),
            warning=True,
        )
    return f"{name}: build {build['context']}, image {raw.get('image')}"


def published(ctx: Context, role: str) -> list[int]:
    name = service_for(ctx, role) or role
    service = (ctx.state["model"].get("services") or {}).get(name) or {}
    return [int(p["published"]) for p in service.get("ports") or [] if p.get("published")]


def publishes(ctx: Context, role: str, port: int) -> str:
    name = service_for(ctx, role) or role
    service = (ctx.state["model"].get("services") or {}).get(name) or {}
    pairs = [(p.get("published"), p["target"]) for p in service.get("ports") or []]
    if (str(port), port) not in pairs:
        raise Failed(
            f'services.{name}.ports: "{port}:{port}"',
            f"ports {pairs or 'none'}",
            f'ports: ["{port}:{port}"]',
            f"{ctx.task}/{FILE}",
            line_of(ctx, f"services.{name}"),
        )
    return f"{name} publishes {port}:{port}"


def compose_names(ctx: Context) -> str:
    """Nothing renames the containers from the `<task>-<service>-<n>` the statement shows."""
    raw = ctx.state["raw"]
    where = f"{ctx.task}/{FILE}"
    if raw.get("name") not in (None, ctx.task):
        raise Failed(
            f"the project named {ctx.task}, from the folder",
            f"name: {raw.get('name')}",
            "remove the top-level name:",
            where,
            line_of(ctx, "name"),
        )
    for name, service in (raw.get("services") or {}).items():
        if isinstance(service, dict) and "container_name" in service:
            raise Failed(
                f"containers named {ctx.task}-{name}-1 by Compose",
                f"container_name: {service['container_name']}",
                "remove container_name",
                where,
                line_of(ctx, f"services.{name}.container_name"),
            )
    return ", ".join(f"{ctx.task}-{n}-1" for n in raw.get("services") or {})


def build_all(ctx: Context) -> str:
    images: dict[str, str] = {}
    built: dict[tuple[str, str], str] = {}
    for name, service in (ctx.state["model"].get("services") or {}).items():
        build = service.get("build")
        if not build and str(service.get("image", "")).startswith("softy-pinko"):
            raise Failed(
                f"services.{name}.build",
                f"only image: {service['image']}, which this "
                "machine has from another build than this repository's",
                "add build: with the service's folder",
                f"{ctx.task}/{FILE}",
                line_of(ctx, f"services.{name}"),
            )
        if not build:
            try:  # an image a learner uses as it is: pulled, or stood in for offline
                from tools import baseimages

                baseimages.ensure_learner_base(service["image"])
            except ToolError as error:
                raise Failed(
                    f"the image {service.get('image')}",
                    str(error),
                    "build it from a Dockerfile",
                    f"{ctx.task}/{FILE}",
                    line_of(ctx, f"services.{name}.image"),
                    warning=True,
                ) from None
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
                raise steps.build_failure(ctx, dockerfile, result)
            built[key] = result.tag
        images[name] = built[key]
    ctx.state["images"] = images
    return f"built {len(built)} image(s)"


def up(ctx: Context, scale: dict[str, int] | None = None) -> Stack:
    try:
        stack: Stack = ctx.sandbox.compose_up(
            ctx.task, ctx.state["model"], ctx.state["images"], scale or {}
        )
    except NotStarted as error:
        raise Failed(
            "the stack to start",
            str(error),
            "run docker compose up in the task's folder and fix what it says",
            f"{ctx.task}/{FILE}",
            details=error.output,
        ) from None
    ctx.state["stack"] = stack
    return stack


def url_of(ctx: Context, role: str, target: int, path: str) -> str:
    stack: Stack = ctx.state["stack"]
    name = service_for(ctx, role) or role
    port = stack.port(name, target)
    if port is None:
        gone = probes.exited(ctx.sandbox.stack_containers(stack.project))
        if gone:  # a container that exits at once publishes nothing
            raise Failed(
                f"{name} to keep running",
                gone.replace("/etc/nginx/conf.d/default.conf", "proxy.conf (as default.conf)"),
                "docker compose up in the task's folder shows the same: fix what the log says",
                f"{ctx.task}/{FILE}",
            )
        raise Failed(
            f"{name} reachable on its port {target}",
            "no published port",
            f'ports: ["{target}:{target}"]',
            f"{ctx.task}/{FILE}",
        )
    return f"http://127.0.0.1:{port}{path}"


def wait(ctx: Context, url: str, what: str) -> probes.Answer:
    stack: Stack = ctx.state["stack"]
    said = probes.wait_answer(
        url, 60, lambda: probes.exited(ctx.sandbox.stack_containers(stack.project))
    )
    if isinstance(said, str):
        said = said.replace("/etc/nginx/conf.d/default.conf", "proxy.conf (as default.conf)")
        raise Failed(
            f"an answer from {what}",
            said,
            "docker compose up in the task's folder shows the same: fix what the log says",
            f"{ctx.task}/{FILE}",
        )
    return said


def browser_ports(ctx: Context) -> dict[int, int]:
    """Each host port the learner's file publishes -> where the checker published it."""
    stack: Stack = ctx.state["stack"]
    ports: dict[int, int] = {}
    for name, service in (ctx.state["model"].get("services") or {}).items():
        for port in service.get("ports") or []:
            where = stack.port(name, port["target"])
            if port.get("published") and where:
                ports[int(port["published"])] = where
    return ports


def declare_file_checks(task: str) -> None:
    """The checks every Compose task starts with: the file, Compose's reading of it, and that
    nothing in it reaches the host."""
    check(f"{task}/docker-compose.yml exists", task=task, name="compose_file_exists")(compose_file)
    check(
        "Compose reads it (docker compose config)",
        needs=("compose_file_exists",),
        task=task,
        name="compose_reads_it",
    )(model)
    check(
        "nothing in it reaches the host (the checker runs nothing that would)",
        needs=("compose_reads_it",),
        task=task,
        name="nothing_reaches_the_host",
    )(nothing_reaches_the_host)


def declare_build_check(task: str) -> None:
    check(
        "`docker-compose up` builds every image",
        needs=("nothing_reaches_the_host",),
        runs_containers=True,
        task=task,
        name="images_build",
    )(build_all)
