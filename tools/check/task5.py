"""task5: an Nginx reverse proxy in front: `/api` to the back-end, the rest to the front-end.

docker-compose up         (in task5/: only the proxy publishes a port, 80)
"""

from __future__ import annotations

import re

from tools.check import files, stacks, steps
from tools.check.registry import Context, Failed, check, unsure
from tools.check.task3 import fetches

CONFIG = "/etc/nginx/conf.d/default.conf"


@check("task5/proxy/ has a Dockerfile and proxy.conf")
def proxy_files(ctx: Context) -> str:
    steps.require_file(ctx, "proxy/Dockerfile", "the proxy's Dockerfile")
    steps.require_file(ctx, "proxy/proxy.conf", "the proxy's config")
    return "task5/proxy/Dockerfile, task5/proxy/proxy.conf"


@check("the proxy is based on the latest Nginx", needs=("proxy_files",))
def proxy_based_on_latest_nginx(ctx: Context) -> str:
    return steps.from_latest(ctx, ctx.folder / "proxy/Dockerfile", "nginx", "the latest Nginx")


@check(f"proxy.conf is copied to {CONFIG}", needs=("proxy_files",))
def proxy_config_copied(ctx: Context) -> str:
    return steps.copied_to(ctx, ctx.folder / "proxy/Dockerfile", "proxy.conf", CONFIG)


stacks.declare_file_checks("task5")


@check("services back-end, front-end and proxy", needs=("compose_reads_it",))
def services_named(ctx: Context) -> str:
    return stacks.require_services(ctx, "back-end", "front-end", "proxy")


@check(
    "proxy: build (context, dockerfile) and image softy-pinko-proxy:task5",
    needs=("compose_reads_it",),
)
def proxy_build_and_image(ctx: Context) -> str:
    return stacks.builds_and_image(ctx, "proxy", "softy-pinko-proxy:task5")


@check("the proxy maps host port 80 to its 80", needs=("compose_reads_it",))
def proxy_on_80(ctx: Context) -> str:
    return stacks.publishes(ctx, "proxy", 80)


@check("only the proxy publishes a host port", needs=("compose_reads_it",))
def only_the_proxy_publishes(ctx: Context) -> str:
    proxy = stacks.service_for(ctx, "proxy")
    for name, service in (ctx.state["model"].get("services") or {}).items():
        if name != proxy and service.get("ports"):
            port = service["ports"][0]
            shown = (
                f"{port.get('published', '')}:{port['target']}"
                if port.get("published")
                else str(port["target"])
            )
            raise Failed(
                f"no ports on {name} (the proxy reaches it on Compose's network)",
                f'ports: ["{shown}"]'
                + (" (a random host port)" if not port.get("published") else ""),
                f'remove {name}\'s ports (expose: ["{port["target"]}"] documents it)',
                f"{ctx.task}/{stacks.FILE}",
                stacks.line_of(ctx, f"services.{name}.ports"),
            )
    return "only the proxy"


@check(
    "proxy.conf routes /api to back-end:5252 and / to front-end:9000",
    needs=("proxy_files", "compose_reads_it"),
)
def proxy_routes(ctx: Context) -> str:
    return routes(ctx)


def blocks(text: str, keyword: str) -> list[tuple[str, str, int]]:
    """Each `keyword <argument> { ... }` of an Nginx config with its comments dropped:
    (argument, body, line), the body's own nested blocks included."""
    text = "\n".join(re.sub(r"(^|\s)#.*$", "", line) for line in text.splitlines())
    found = []
    for match in re.finditer(rf"(?<![\w$]){keyword}\s+([^{{;]*?)\s*\{{", text):
        depth, end = 1, match.end()
        while depth and end < len(text):
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            end += 1
        found.append(
            (match.group(1), text[match.end() : end - 1], text[: match.start()].count("\n") + 1)
        )
    return found


def location_for(text: str, prefix: str) -> tuple[str, int] | None:
    """The body and line of the location that serves `prefix` (/api or /)."""
    for argument, body, line in blocks(text, "location"):
        path = argument.split()[-1] if argument.split() else ""
        if prefix == "/" and path == "/":
            return body, line
        if prefix != "/" and path.lstrip("^").rstrip("/").startswith(prefix):
            return body, line
    return None


def routes(ctx: Context) -> str:
    conf = ctx.folder / "proxy/proxy.conf"
    text = conf.read_text(errors="replace")
    upstreams = {name: body for name, body, _ in blocks(text, "upstream")}
    said = []
    for prefix, role, port in (("/api", "back-end", 5252), ("/", "front-end", 9000)):
        service = stacks.service_for(ctx, role) or role
        location = location_for(text, prefix)
        if location is None:
            raise Failed(
                f"location {prefix} {{ proxy_pass http://{service}:{port}; }}",
                f"no location {prefix}",
                f"add location {prefix}",
                ctx.rel(conf),
            )
        body, line = location
        target = re.search(r"proxy_pass\s+https?://([^/;\s]+)", body)
        if target is None:
            raise Failed(
                f"proxy_pass http://{service}:{port} in location {prefix}",
                "no proxy_pass",
                "add it",
                ctx.rel(conf),
                line,
            )
        host = target.group(1)
        if "$" in host:
            raise unsure(
                f"location {prefix} proxies to {host}, a variable: the routes are judged "
                "by running the stack",
                "nothing to change if the checks of the running stack pass",
                ctx.rel(conf),
                line,
            )
        if f"{service}:{port}" not in upstreams.get(host, host):
            raise Failed(
                f"location {prefix} to {service}:{port}",
                f"proxy_pass http://{host}",
                f"proxy_pass http://{service}:{port};",
                ctx.rel(conf),
                line,
            )
        said.append(f"{prefix} -> {service}:{port} (line {line})")
    return "; ".join(said)


@check("the page now calls the relative URL /api/hello")
def page_calls_relative_api(ctx: Context) -> str:
    site = ctx.folder / "front-end" / steps.SITE
    if files.read_page(site) is None:
        steps.site_folder(ctx, "front-end")
    return fetches(ctx, lambda url: url.startswith("/api/hello"), "/api/hello")


stacks.declare_build_check("task5")


@check(
    "`docker-compose up` starts the stack; the proxy answers on 80",
    needs=("images_build",),
    runs_containers=True,
)
def stack_starts(ctx: Context) -> str:
    stacks.up(ctx)
    said = stacks.wait(ctx, stacks.url_of(ctx, "proxy", 80, "/"), "the proxy")
    return f"GET / through the proxy: {said.status}"


@check(
    "through the proxy, /api/hello is the back-end's and / the site's page",
    needs=("stack_starts",),
    runs_containers=True,
)
def proxy_routes_both(ctx: Context) -> str:
    return routes_both(ctx)


def routes_both(ctx: Context) -> str:
    api = stacks.wait(ctx, stacks.url_of(ctx, "proxy", 80, "/api/hello"), "the proxy's /api/hello")
    steps.greeting(api, "GET /api/hello through the proxy", f"{ctx.task}/proxy/proxy.conf")
    page = stacks.wait(ctx, stacks.url_of(ctx, "proxy", 80, "/"), "the proxy's /")
    if page.status != 200 or "<html" not in page.body.lower():
        raise Failed(
            "the site's page on / through the proxy",
            f"{page.status} {page.body.strip()[:80]!r}",
            "proxy location / to the front-end's 9000",
            f"{ctx.task}/proxy/proxy.conf",
        )
    return "/api/hello: 'Hello, World!'; /: the page"


@check(
    "in a browser, the page through the proxy shows the back-end's answer",
    needs=("proxy_routes_both",),
    runs_containers=True,
)
def page_shows_the_api_s_answer(ctx: Context) -> str:
    site = ctx.folder / "front-end" / steps.SITE
    return steps.page_shows(
        ctx, "http://localhost/", stacks.browser_ports(ctx), steps.GREETING, site
    )
