"""The proxy of task5 and task6: its folder and files, where its config sends /api/hello and /
(read as Nginx picks a location and passes a request on), and what it answers once running."""

from __future__ import annotations

from pathlib import Path

from softy_pinko_docker.check import composefile, nginx, running, site, stacks, steps
from softy_pinko_docker.check.registry import Context, Failed, listed, unsure

CONF = "proxy.conf"
CONFIG = "/etc/nginx/conf.d/default.conf"
ROUTES = (("/api/hello", "back-end", 5252), ("/", "front-end", 9000))


def conf_path(ctx: Context) -> Path:
    """proxy.conf beside the Dockerfile the proxy service builds."""
    found = composefile.role(ctx, "proxy")
    folder = found.dockerfile.parent if found.dockerfile else ctx.folder / "proxy"
    return folder / CONF


def proxy_files(ctx: Context) -> str:
    dockerfile = composefile.role_files(ctx, "proxy")
    conf = conf_path(ctx)
    steps.require_file(ctx, str(conf.relative_to(ctx.folder)), "the proxy's config")
    return f"{ctx.rel(dockerfile)}, {ctx.rel(conf)}"


def routes(ctx: Context) -> str:
    """/api/hello reaches the back-end's service on 5252 as /api/hello, / the front-end's on
    9000, as Nginx would route them."""
    conf = conf_path(ctx)
    rel = ctx.rel(conf)
    directives = site.read_config(ctx, conf)
    server = nginx.server_on(directives, 80)
    if server is None:
        raise Failed("a server listening on 80", "none", "listen 80; in the server block", rel)
    said = []
    for uri, role, port in ROUTES:
        service = ctx.roles[role]
        location = nginx.location_for(server, uri)
        if location is None:
            prefix = "/api" if role == "back-end" else "/"
            raise Failed(
                f"a location that serves {uri}",
                "none",
                f"add location {prefix} {{ proxy_pass http://{service}:{port}; }}",
                rel,
                server.line,
            )
        said.append(_route(ctx, directives, location, uri, f"{service}:{port}"))
    listens = stacks.front_end_ports(ctx)
    if listens and 9000 not in listens:  # the statement's proxy_pass reaches it on 9000
        conf_rel = ctx.rel(stacks.front_end(ctx) / site.FRONT_END_CONF)
        raise Failed(
            "the front-end listening on 9000, where proxy.conf sends /",
            f"its Nginx listens on {', '.join(map(str, listens))} ({conf_rel})",
            f"listen 9000; in {conf_rel}",
            conf_rel,
        )
    return "; ".join(said)


def _route(
    ctx: Context, directives: list[nginx.Directive], location: nginx.Directive, uri: str, want: str
) -> str:
    rel = ctx.rel(conf_path(ctx))
    where = f"location {' '.join(location.args)} (line {location.line})"
    target = nginx.proxy_target(directives, location)
    if target is None:
        raise Failed(
            f"proxy_pass http://{want}; in {where}",
            "no proxy_pass",
            f"proxy_pass http://{want};",
            rel,
            location.line,
        )
    if target.variable:
        raise unsure(
            f"{where} proxies to an address made of variables: the routes are judged "
            "by running the stack",
            "nothing to change if the stack's checks pass",
            rel,
            target.line,
        )
    if want not in target.hosts:
        names = sorted(composefile.services(ctx))
        strangers = [h for h in target.hosts if h.rsplit(":", 1)[0] not in names]
        why = (
            f" (no service is named {strangers[0].rsplit(':', 1)[0]}: the stack's are "
            f"{listed(names)})"
            if strangers
            else ""
        )
        raise Failed(
            f"{uri} sent to {want}",
            f"{where} sends it to {listed(target.hosts)}{why}",
            f"proxy_pass http://{want};",
            rel,
            target.line,
        )
    passed = target.upstream_uri(location, uri)
    if uri.startswith("/api") and passed != uri:  # Flask's route is /api/hello, whatever proxies
        raise Failed(
            f"{uri} to reach {want} as {uri}",
            f"{where} passes it on as {passed}: a path after the port replaces the location's",
            f"proxy_pass http://{want}; (nothing after the port)",
            rel,
            target.line,
        )
    return f"{uri} -> {want} ({where})"


def routes_both(ctx: Context) -> str:
    """Through the running proxy: /api/hello is the back-end's answer, / the site's page."""
    url = stacks.url_of(ctx, "proxy", 80, "/api/hello")
    api = stacks.wait(ctx, url, "the proxy's /api/hello")
    running.greeting(api, "GET /api/hello through the proxy", ctx.rel(conf_path(ctx)))
    stacks.page_through(ctx, stacks.url_of(ctx, "proxy", 80, "/"))
    return "/api/hello: the back-end's greeting; /: the site's page"
