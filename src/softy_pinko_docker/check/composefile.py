"""The file checks of the Compose tasks (task4 to task6): the file, what Compose makes of it, what
it may not do here (`policy`), which service plays which role, and what each role's service says
(its build, image and ports). Service names are the learner's until task6, whose command names
`back-end`; task5 names its new service `proxy`. A rename's fix names every line to change."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

from softy_pinko_docker.check import files, policy, steps
from softy_pinko_docker.check.registry import Context, Failed, listed, quoted

FILE = "docker-compose.yml"
OTHER_NAMES = ("docker-compose.yaml", "compose.yaml", "compose.yml")
ROLES = ("back-end", "front-end", "proxy")
# Names learners give each role's service (compared without - and _, in lower case).
SYNONYMS = {
    "back-end": {"backend", "api", "flask", "flaskapi", "apiserver", "server", "app"},
    "front-end": {"frontend", "web", "nginx", "nginxweb", "static", "site", "client"},
    "proxy": {"proxy", "nginxproxy", "reverseproxy", "proxyserver", "loadbalancer", "lb"},
}


def compose_file(ctx: Context) -> str:
    path = ctx.folder / FILE
    if path.is_file():
        return f"{ctx.task}/{FILE}"
    for name in OTHER_NAMES:
        if (ctx.folder / name).is_file():
            raise Failed(
                f"{ctx.task}/{FILE}, as the statement names it",
                f"{ctx.task}/{name}",
                f"git mv {ctx.task}/{name} {ctx.task}/{FILE}",
                f"{ctx.task}/{name}",
            )
    return ctx.rel(steps.require_file(ctx, FILE, "the Compose file"))


def model(ctx: Context) -> str:
    """Compose's own reading of the file, kept for the checks after; first, from the file
    itself, what Compose would read from outside the repository is refused."""
    path = ctx.folder / FILE
    try:
        ctx.raw = files.compose_raw(path)
    except Exception as error:  # noqa: BLE001 - ruamel's errors share no base worth naming
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise Failed(
            "YAML that Compose can read", reason, "fix the YAML there", ctx.rel(path)
        ) from None
    refused = policy.before_reading(ctx.raw, ctx.folder, ctx.root)
    if refused:
        raise refusal(ctx, refused)
    said = ctx.sandbox.compose_model(path)
    if said.returncode != 0:
        line = (said.stderr.strip().splitlines() or ["no output"])[-1]
        raise Failed(
            "a Compose file that `docker compose config` reads",
            line,
            "fix what Compose says; `docker compose config` in the task's folder shows it",
            ctx.rel(path),
        )
    ctx.model = json.loads(said.stdout)
    return f"services: {listed(services(ctx))}"


def services(ctx: Context) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = ctx.model.get("services") or {}
    return found


def line_of(ctx: Context, key: str) -> int | None:
    parts: list[str | int] = []
    for part in key.replace("]", "").split("."):
        name, _, index = part.partition("[")
        parts += [name] + ([int(index)] if index else [])
    return files.key_line(ctx.raw, *parts)


def nothing_reaches_the_host(ctx: Context) -> str:
    refused = policy.refusals(ctx.model, ctx.raw, ctx.folder, ctx.root)
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


# --- which service plays which role ------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Role:
    role: str  # back-end, front-end or proxy
    service: str  # the learner's name for it
    context: Path | None  # its build context (None: no build)
    dockerfile: Path | None


def _norm(name: str) -> str:
    return re.sub(r"[-_.\s]", "", name.lower())


def _context(service: dict[str, Any]) -> Path | None:
    build = service.get("build") or {}
    return Path(build["context"]) if isinstance(build, dict) and build.get("context") else None


def _base_role(service: dict[str, Any]) -> str:
    """What the service's Dockerfile builds: an Nginx with a proxy config, an Nginx, an API."""
    context = _context(service)
    dockerfile = (
        context / str((service.get("build") or {}).get("dockerfile") or "Dockerfile")
        if context
        else None
    )
    if dockerfile is None or not dockerfile.is_file():
        return ""
    text = dockerfile.read_bytes().decode(errors="replace").lower()
    if "nginx" in text:
        return "proxy" if "proxy" in text else "front-end"
    return "back-end" if re.search(r"ubuntu|python|flask|api\.py", text) else ""


def find_roles(ctx: Context) -> dict[str, str]:
    """role -> service: by the name the statement uses, else by the folder it builds, else by
    a name learners use for it, else by what its Dockerfile builds."""
    found: dict[str, str] = {}
    ways = (
        lambda role, name, s: name == role,
        lambda role, name, s: _context(s) is not None and _norm(_context(s).name) == _norm(role),  # type: ignore[union-attr]
        lambda role, name, s: _norm(name) in SYNONYMS[role] | {_norm(role)},
        lambda role, name, s: _base_role(s) == role,
    )
    for way in ways:
        for role in ROLES:
            for name, service in services(ctx).items():
                if role not in found and name not in found.values() and way(role, name, service):
                    found[role] = name
    return found


def role(ctx: Context, name: str) -> Role:
    service_name = ctx.roles[name]
    service = services(ctx)[service_name]
    context = _context(service)
    build = service.get("build") or {}
    dockerfile = context / str(build.get("dockerfile") or "Dockerfile") if context else None
    return Role(name, service_name, context, dockerfile)


def require_roles(ctx: Context, *roles: str, named: tuple[str, ...] = ()) -> str:
    """Each role has a service; those in `named` under the statement's own name for it."""
    ctx.roles = found = find_roles(ctx)
    names = list(services(ctx))
    for wanted in roles:
        if wanted not in found:
            raise Failed(
                f"a {wanted} service",
                f"services {listed(names)}",
                f"add a service for the {wanted}, built from {ctx.task}/{wanted}/",
                f"{ctx.task}/{FILE}",
                line_of(ctx, "services"),
            )
    for wanted in named:
        if found[wanted] != wanted:
            raise Failed(
                f"the {wanted} service named {wanted}",
                f"it is named {found[wanted]}",
                rename_service(ctx, found[wanted], wanted),
                f"{ctx.task}/{FILE}",
                line_of(ctx, f"services.{found[wanted]}"),
            )
    return listed(f"{r}: {found[r]}" for r in roles)


def rename_service(ctx: Context, old: str, new: str) -> str:
    """A service renamed everywhere its name is used: the Compose file (its key, depends_on,
    links) and the Nginx configs that proxy to it by that name."""
    places = [
        (p, n) for p, n in files.mentions(ctx.folder, old) if p.name == FILE or p.suffix == ".conf"
    ]
    where = listed(f"{ctx.rel(p)}:{n}" for p, n in places[:6])
    return f"rename {old} to {new} everywhere it is named ({where})"


def role_files(ctx: Context, name: str) -> Path:
    """The Dockerfile the role's service builds, as Compose finds it: its context, and its
    `dockerfile` (Dockerfile unless it says), in the repository."""
    found = role(ctx, name)
    key = f"services.{found.service}.build"
    where = f"{ctx.task}/{FILE}"
    line = line_of(ctx, f"{key}.context")  # the build's own line when it has no context key
    if found.context is None or found.dockerfile is None:
        raise Failed(
            f"services.{found.service}.build",
            "no build",
            f"build: {{context: ./{name}, dockerfile: Dockerfile}}",
            where,
            line_of(ctx, f"services.{found.service}"),
        )
    if not found.context.is_dir():
        elsewhere = _folder_for(ctx, name)
        hint = f" ({ctx.rel(elsewhere)}/ holds the {name}'s files)" if elsewhere else ""
        raise Failed(
            f"the folder {key} names",
            f"no folder {ctx.rel(found.context)}/{hint}",
            f"point build at the {name}'s folder, or create {ctx.rel(found.context)}/",
            where,
            line,
        )
    if not found.dockerfile.is_file():
        near = files.near_names(found.context, found.dockerfile.name)
        said = f"no {ctx.rel(found.dockerfile)}" + (f" ({ctx.rel(near[0])} is)" if near else "")
        raise Failed(
            f"the Dockerfile {key} names",
            said,
            f"create {ctx.rel(found.dockerfile)}, or name the one there in build.dockerfile",
            where,
            line_of(ctx, f"{key}.dockerfile") or line,
        )
    steps.read_dockerfile(ctx, found.dockerfile)
    return found.dockerfile


# The file that tells a role's folder from another's.
MARKS = {"back-end": "api.py", "front-end": "softy-pinko-front-end.conf", "proxy": "proxy.conf"}


def _folder_for(ctx: Context, name: str) -> Path | None:
    """A folder of the task (or one down) with a Dockerfile and the role's own file."""
    for mark in sorted(ctx.folder.rglob(MARKS[name])):
        folder = mark.parent
        if any(folder.glob("*ockerfile*")) and len(folder.relative_to(ctx.folder).parts) <= 2:
            return folder
    return None


# Official images a learner's Dockerfiles start from, whose names a build must not take.
OFFICIAL = {"ubuntu", "nginx", "python", "debian", "alpine", "busybox"}


def raw_service(ctx: Context, name: str) -> Any:
    return (ctx.raw.get("services") or {}).get(name) or {}


def builds_and_image(ctx: Context, name: str, image: str) -> str:
    """The role's service has a build (context and dockerfile spelled out, as the statement
    shows: a warning, Compose's defaults build the same), and an image name (`image_name`)."""
    found = role(ctx, name)
    raw = raw_service(ctx, found.service)
    where = f"{ctx.task}/{FILE}"
    build, tag = raw.get("build"), raw.get("image")
    example = f"build: {{context: ./{name}, dockerfile: Dockerfile}}"
    service_line = line_of(ctx, f"services.{found.service}")
    if build is None:
        raise Failed(f"services.{found.service}.build", "none", example, where, service_line)
    if not tag:
        raise Failed(
            f"services.{found.service}.image", "none", f"image: {image}", where, service_line
        )
    image_name(ctx, found.service, str(tag), image)
    if not isinstance(build, dict) or "context" not in build or "dockerfile" not in build:
        raise Failed(
            f"services.{found.service}.build with context and dockerfile",
            f"build: {quoted(str(build)) if isinstance(build, str) else 'without both keys'}",
            example,
            where,
            line_of(ctx, f"services.{found.service}.build"),
            warning=True,
        )
    return f"{found.service}: build {build['context']}, image {tag}"


def image_name(ctx: Context, service: str, tag: str, image: str) -> None:
    """One another service builds too is a failure (each build overwrites the other's); an
    official image's name, or one not the statement's, a warning."""
    where, line = f"{ctx.task}/{FILE}", line_of(ctx, f"services.{service}.image")
    shared = [
        n
        for n, s in services(ctx).items()
        if n != service and s.get("build") and s.get("image") == tag
    ]
    if shared:
        raise Failed(
            f"an image name of {service}'s own",
            f"image: {tag}, which {listed(shared)} builds too: each build overwrites the "
            "other's, and both services run whichever was built last",
            f"image: {image}",
            where,
            line,
        )
    official = tag.split(":")[0].removeprefix("docker.io/").removeprefix("library/")
    if official in OFFICIAL:
        raise Failed(
            f"services.{service}.image: {image}",
            f"image: {tag}, an official image's name: the build is tagged with it, and every "
            f"later FROM {tag} on that machine starts from this image",
            f"image: {image}",
            where,
            line,
            warning=True,
        )
    if tag != image:
        raise Failed(
            f"services.{service}.image: {image}",
            f"image: {tag}",
            f"image: {image} (the statement's name; yours works as well)",
            where,
            line,
            warning=True,
        )


# --- ports -------------------------------------------------------------------------------------
def ports(ctx: Context, service: str) -> list[dict[str, Any]]:
    return list(services(ctx).get(service, {}).get("ports") or [])


def shown(port: dict[str, Any]) -> str:
    """A port as the file writes it: "9000:80", or "9000" for one with no host port."""
    return f"{port['published']}:{port['target']}" if port.get("published") else str(port["target"])


def publishes(ctx: Context, name: str, port: int, why: str = "", to: int | None = None) -> str:
    """The role's service maps host `port` to its own `to` (`port` unless said)."""
    found = role(ctx, name)
    mapped = [shown(p) for p in ports(ctx, found.service)]
    if f"{port}:{to or port}" not in mapped:
        said = f"ports {listed(quoted(m) for m in mapped)}" if mapped else "no ports"
        raise Failed(
            f'services.{found.service}.ports: ["{port}:{to or port}"]{why}',
            said,
            f'ports: ["{port}:{to or port}"]',
            f"{ctx.task}/{FILE}",
            line_of(ctx, f"services.{found.service}.ports")
            or line_of(ctx, f"services.{found.service}"),
        )
    return f"{found.service} publishes {port}:{to or port}"


def only_the_proxy_publishes(ctx: Context) -> str:
    """The front-end's and the back-end's host mappings removed. A lone container port
    ("5252") is what the statement calls internal; Compose in fact publishes it on a random
    host port: a warning that says so."""
    proxy = ctx.roles["proxy"]
    lone = []
    for name in services(ctx):
        if name == proxy:
            continue
        for index, port in enumerate(ports(ctx, name)):
            key = f"services.{name}.ports[{index}]"
            if port.get("published"):
                raise Failed(
                    f"no host port on {name} (the proxy reaches it on Compose's network)",
                    f"ports: [{quoted(shown(port))}]",
                    f'remove {name}\'s host mapping: expose: ["{port["target"]}"] keeps '
                    f"{port['target']} open to the other services",
                    f"{ctx.task}/{FILE}",
                    line_of(ctx, key) or line_of(ctx, f"services.{name}.ports"),
                )
            lone.append((name, port, line_of(ctx, key) or line_of(ctx, f"services.{name}.ports")))
    if lone:
        name, port, line = lone[0]
        raise Failed(
            f"{name}'s {port['target']} open to the other services only",
            f'ports: ["{port["target"]}"], which Compose publishes on a random host '
            "port (the statement calls it internal; Docker does not)",
            f'expose: ["{port["target"]}"] keeps it internal',
            f"{ctx.task}/{FILE}",
            line,
            warning=True,
        )
    return f"only {proxy}"


def depends_on(ctx: Context, *roles: str) -> str:
    """The statement asks for depends_on, not its direction: one of the services starts after
    the other."""
    names = [ctx.roles[r] for r in roles]
    edges = [
        (n, d) for n in names for d in (services(ctx)[n].get("depends_on") or {}) if d in names
    ]
    if not edges:
        first = names[-1]
        raise Failed(
            f"depends_on between {listed(names)}",
            "none",
            f"add depends_on: [{names[0]}] to {first}",
            f"{ctx.task}/{FILE}",
            line_of(ctx, f"services.{first}"),
        )
    return listed(f"{a} depends on {b}" for a, b in edges)


def compose_names(ctx: Context, roles: tuple[str, ...]) -> str:
    """The containers are Compose's `<task>-<service>-<n>`, as the statement's sample shows them
    (its own service names): a recommendation, since the sample is an example output."""
    raw = ctx.raw
    where = f"{ctx.task}/{FILE}"
    if raw.get("name") not in (None, ctx.task):
        raise Failed(
            f"the project named {ctx.task}, from the folder",
            f"name: {raw.get('name')}",
            "remove the top-level name: (the sample's containers are named from the folder)",
            where,
            line_of(ctx, "name"),
        )
    for name, service in (raw.get("services") or {}).items():
        if isinstance(service, dict) and "container_name" in service:
            raise Failed(
                f"containers named {ctx.task}-{name}-1 by Compose",
                f"container_name: {service['container_name']}",
                "remove container_name: fine here, but task6's --scale cannot start two "
                "containers of one name",
                where,
                line_of(ctx, f"services.{name}.container_name"),
            )
    names = [f"{ctx.task}-{ctx.roles[r]}-1" for r in roles]
    expected = [f"{ctx.task}-{r}-1" for r in roles]
    if names != expected:
        raise Failed(
            f"containers {listed(expected)}, as the statement's sample shows",
            f"{listed(names)}, from your service names",
            "nothing to change for this task; task6's command assumes a service named back-end",
            where,
        )
    return listed(names)
