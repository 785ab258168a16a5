"""task6: the task5 stack with two back-ends behind the proxy, which takes them in turn.

docker-compose up --scale back-end=2      (in task6/; the command is in 2-api-servers.txt)

The statement fixes one name here: "the checker will assume that you named your back-end server
back-end".
"""

from __future__ import annotations

import time

from softy_pinko_docker.check import composefile, probes, proxy, running, site, stacks, steps
from softy_pinko_docker.check.registry import UNJUDGED, Context, Failed, check, quoted
from softy_pinko_docker.docker import Container

COMMAND = "docker-compose up --scale back-end=2\n"
FILE = "2-api-servers.txt"
REQUESTS = 12
LOAD_SECONDS = 10
ROLES = ("back-end", "front-end", "proxy")
PREVIOUS = "task5"


# The statement's words each check comes from (docs/check.md's table), and when it only warns.
STATEMENT = {
    "command_file": (
        "2-api-servers.txt ... the exact docker-compose command ... your file must end with a "
        "newline",
        "",
    ),
    "compose_file_exists": ("make a copy of the task5 directory and name it task6", ""),
    "compose_reads_it": ("docker-compose up", ""),
    "nothing_reaches_the_host": ("(the checker's own: it runs nothing that reaches the host)", ""),
    "back_end_named_back_end": (
        "the checker will assume that you named your back-end server back-end",
        "",
    ),
    "services_named": ("(task5's) a new service named proxy", ""),
    "back_end_can_scale": (
        "launch your Docker containers such that you have 2 (or more) API servers",
        "",
    ),
    "dockerfiles_found": ("(task5's) build, context, dockerfile", ""),
    "proxy_files": ("(task5's) proxy/Dockerfile and proxy.conf", ""),
    "back_end_based_on_latest_ubuntu": ("(task5's back-end)", "always: task6 does not restate it"),
    "front_end_based_on_latest_nginx": ("(task5's front-end)", "always: task6 does not restate it"),
    "proxy_routes": ("(task5's) location / and location /api", "an address made of variables"),
    "site_files": ("(task5's) the site", "as task2"),
    "page_calls_relative_api": ("If you go to the web page and reload it several times", ""),
    "images_build": ("docker-compose up", UNJUDGED),
    "proxy_config_loads": ("Nginx will act as a load-balance between them", ""),
    "front_end_config_loads": ("(task5's) the site shows up", ""),
    "two_back_ends_start": (
        "Container task6-back-end-2 Created ... task6-proxy-1 (the sample output)",
        "",
    ),
    "proxy_routes_both": ("(task5's) the proxy routes / and /api", ""),
    "page_shows_the_api_s_answer": ("go to the web page and reload it several times", ""),
    "both_back_ends_answer_in_turn": (
        "every request goes to the next API server using the Round-Robin load-balancing algorithm",
        "",
    ),
    "even_under_load": ("each server receives an equal share of the traffic", ""),
}


@check("task6/2-api-servers.txt is exactly `docker-compose up --scale back-end=2` and a newline")
def command_file(ctx: Context) -> str:
    path = steps.require_file(ctx, FILE, "the command's file")
    text = path.read_bytes().decode(errors="replace")
    if text == COMMAND:
        return f"{quoted(COMMAND.strip())} and a newline"
    if text == COMMAND.strip():
        fix = f"end it with a newline: echo >> task6/{FILE}"
    elif text.replace("\r\n", "\n").rstrip("\n") == COMMAND.strip():
        fix = f"one newline, at the end, no \\r: printf '{COMMAND.strip()}\\n' > task6/{FILE}"
    else:
        fix = f"write exactly that: printf '{COMMAND.strip()}\\n' > task6/{FILE}"
        said = differences(text)
        if said:
            fix += f" ({'; '.join(said)})"
    raise Failed(f"{quoted(COMMAND.strip())} and a newline", quoted(text), fix, ctx.rel(path), 1)


check("task6/docker-compose.yml exists", task="task6", name="compose_file_exists")(
    composefile.compose_file
)
check(
    "Compose reads it (docker compose config)",
    needs=(composefile.compose_file,),
    task="task6",
    name="compose_reads_it",
)(composefile.model)
check(
    "nothing in it reaches the host (the checker runs nothing that would)",
    needs=(composefile.model,),
    task="task6",
    name="nothing_reaches_the_host",
)(composefile.nothing_reaches_the_host)


@check("the back-end service is named back-end, as the command assumes", needs=(composefile.model,))
def back_end_named_back_end(ctx: Context) -> str:
    return composefile.require_roles(ctx, "back-end", named=("back-end",))


@check(
    "a front-end service, and the proxy named proxy, as in task5", needs=(back_end_named_back_end,)
)
def services_named(ctx: Context) -> str:
    return composefile.require_roles(ctx, *ROLES, named=("back-end", "proxy"))


@check(
    "the back-end can run twice: no container_name, no fixed host port",
    needs=(back_end_named_back_end,),
)
def back_end_can_scale(ctx: Context) -> str:
    raw = composefile.raw_service(ctx, "back-end")
    where = f"{ctx.task}/{composefile.FILE}"
    if "container_name" in raw:
        raise Failed(
            "no container_name on back-end",
            f"container_name: {raw['container_name']}",
            "remove it: two containers cannot share a name",
            where,
            composefile.line_of(ctx, "services.back-end.container_name"),
        )
    fixed = [p for p in composefile.ports(ctx, "back-end") if p.get("published")]
    if fixed:
        raise Failed(
            "no host port on back-end",
            f"ports: [{quoted(composefile.shown(fixed[0]))}]",
            "remove back-end's ports: two containers cannot share a host port",
            where,
            composefile.line_of(ctx, "services.back-end.ports"),
        )
    return "nothing pins one container"


@check("each service builds its folder's Dockerfile", needs=(services_named,))
def dockerfiles_found(ctx: Context) -> str:
    return ", ".join(ctx.rel(composefile.role_files(ctx, r)) for r in ROLES)


@check(
    "task6/proxy/ has the proxy's Dockerfile and proxy.conf, as in task5",
    needs=(dockerfiles_found,),
)
def proxy_files(ctx: Context) -> str:
    return proxy.proxy_files(ctx)


@check(
    f"the back-end is {PREVIOUS}'s, on the latest Ubuntu", needs=(dockerfiles_found,), advisory=True
)
def back_end_based_on_latest_ubuntu(ctx: Context) -> str:
    path = composefile.role_files(ctx, "back-end")
    return steps.from_latest(ctx, path, "ubuntu", "the latest Ubuntu", inherited=True)


@check(
    f"the front-end is {PREVIOUS}'s, on the latest Nginx", needs=(dockerfiles_found,), advisory=True
)
def front_end_based_on_latest_nginx(ctx: Context) -> str:
    path = composefile.role_files(ctx, "front-end")
    return steps.from_latest(ctx, path, "nginx", "the latest Nginx", inherited=True)


@check(
    "proxy.conf routes /api to back-end:5252 and / to the front-end's 9000", needs=(proxy_files,)
)
def proxy_routes(ctx: Context) -> str:
    return proxy.routes(ctx)


@check("the site's files are in the front-end's folder", needs=(dockerfiles_found,))
def site_files(ctx: Context) -> str:
    return site.site_files(ctx, stacks.front_end(ctx))


@check(
    "the page calls /api/hello into #dynamic-content, as in task5 (reloading it shows the "
    "back-ends taking turns)",
    needs=(site_files,),
)
def page_calls_relative_api(ctx: Context) -> str:
    site.has_dynamic_content(ctx, stacks.front_end(ctx))
    return site.fetches(ctx, stacks.front_end(ctx), site.relative_api, "/api/hello")


check(
    "`docker-compose up` builds every image",
    needs=(composefile.nothing_reaches_the_host, dockerfiles_found),
    runs_containers=True,
    task="task6",
    name="images_build",
)(stacks.build_all)


@check(
    "Nginx accepts the proxy's config (nginx -t in its image)",
    needs=(stacks.build_all, proxy_files),
    runs_containers=True,
)
def proxy_config_loads(ctx: Context) -> str:
    return stacks.config_loads(ctx, "proxy")


@check(
    "Nginx accepts the front-end's config (nginx -t in its image)",
    needs=(stacks.build_all,),
    runs_containers=True,
)
def front_end_config_loads(ctx: Context) -> str:
    return stacks.config_loads(ctx, "front-end")


@check(
    "`docker-compose up --scale back-end=2` starts two back-ends, a front-end and the proxy",
    needs=(proxy_config_loads, front_end_config_loads, back_end_can_scale),
    runs_containers=True,
)
def two_back_ends_start(ctx: Context) -> str:
    stack = stacks.up(ctx, {"back-end": 2})
    stacks.wait(ctx, stacks.url_of(ctx, "proxy", 80, "/"), "the proxy")
    counts = {s: len(stack.service(ctx.roles[s])) for s in ROLES}
    if counts["back-end"] != 2:
        raise Failed(
            "2 back-end containers",
            f"{counts['back-end']}",
            "check the back-end service",
            f"{ctx.task}/{composefile.FILE}",
        )
    return ", ".join(f"{n}x {s}" for s, n in counts.items())


@check(
    "through the proxy, /api/hello is the back-end's and / the site's page",
    needs=(two_back_ends_start, proxy_routes, site_files),
    runs_containers=True,
)
def proxy_routes_both(ctx: Context) -> str:
    return proxy.routes_both(ctx)


@check(
    "in a browser, the page through the proxy shows the back-end's answer",
    needs=(proxy_routes_both, page_calls_relative_api),
    runs_containers=True,
)
def page_shows_the_api_s_answer(ctx: Context) -> str:
    return running.page_shows(
        ctx, "http://localhost/", stacks.browser_ports(ctx), steps.GREETING, stacks.front_end(ctx)
    )


@check(
    f"both back-ends answer through the proxy, in turn ({REQUESTS} requests)",
    needs=(proxy_routes_both,),
    runs_containers=True,
)
def both_back_ends_answer_in_turn(ctx: Context) -> str:
    stack = ctx.stack
    replicas = ctx.sandbox.stack_containers(stack.project)
    back_ends = [c for c in replicas if c.service == "back-end"]
    short = {c.name: f"{c.number}" for c in back_ends}
    url = stacks.url_of(ctx, "proxy", 80, "/api/hello")
    # First each replica serving (asked directly), then each once through the proxy: a proxy
    # that met a replica still starting may keep it aside a few seconds, as Nginx's
    # fail_timeout does. Only then are the answers counted.
    for replica in back_ends:
        said = probes.wait_answer(
            probes.direct_url(replica, 5252, "/api/hello"), 60, lambda: probes.exited(back_ends)
        )
        if isinstance(said, str):
            raise Failed(
                f"{replica.name} to answer on its 5252",
                said,
                "read its log (docker logs)",
                ctx.rel(composefile.role_files(ctx, "back-end").parent / "api.py"),
            )
    seen = probes.every_replica_serves(url, back_ends, timeout=20)
    if seen != {c.name for c in back_ends}:
        raise Failed(
            "both back-ends to answer through the proxy within 20s",
            f"only back-end {' '.join(short[n] for n in sorted(seen)) or 'none'}",
            "let the proxy resolve the service name back-end (proxy_pass "
            "http://back-end:5252), so that it knows both",
            ctx.rel(proxy.conf_path(ctx)),
        )
    sequence = _turns(url, back_ends)
    shown = " ".join(short.get(s, s) for s in sequence)
    counts = {c.name: sequence.count(c.name) for c in back_ends}
    if "!" in sequence:
        raise Failed(
            f"{REQUESTS} answers",
            f"{sequence.count('!')} failed (replicas: {shown})",
            "read the proxy's log",
            ctx.rel(proxy.conf_path(ctx)),
        )
    if not _even(list(counts.values())):
        raise Failed(
            f"back-end-1 and back-end-2 in turn, {REQUESTS // 2} each",
            f"{' and '.join(f'{short[n]}: {k}' for n, k in counts.items())} (in order: {shown}), "
            f"in every measure for {ASIDE_SECONDS} s",
            "let the proxy resolve the service name back-end (proxy_pass http://back-end:5252), "
            "so that it knows both",
            ctx.rel(proxy.conf_path(ctx)),
        )
    return f"in order: {shown}"


# Nginx keeps a server that failed once aside for fail_timeout (10 s unless set), in that worker
# alone: a replica met while still starting, or a kept-alive connection it had just closed, can
# miss a whole measure of correct work. Uneven turns are measured again until that has passed;
# only turns uneven all along are a verdict.
ASIDE_SECONDS = 12


def _turns(url: str, back_ends: list[Container]) -> list[str]:
    deadline = time.monotonic() + ASIDE_SECONDS
    while True:
        sequence = probes.replica_sequence(url, back_ends, REQUESTS)
        if (
            _even([sequence.count(c.name) for c in back_ends])
            or "!" in sequence
            or time.monotonic() >= deadline
        ):
            return sequence
        time.sleep(1)


def _even(counts: list[int]) -> bool:
    return min(counts) > 0 and max(counts) - min(counts) <= 1


@check(
    f"under load (Locust, 10 users for {LOAD_SECONDS} s) the two back-ends share the requests "
    "evenly and none fails",
    needs=(both_back_ends_answer_in_turn,),
    runs_containers=True,
)
def even_under_load(ctx: Context) -> str:
    # The same run as `locust -f loadtest` (loadtest/), which counts each container's requests
    # from the engine since a learner's back-end names itself in no answer.
    verdict = probes.load_test(
        stacks.url_of(ctx, "proxy", 80, ""),
        replicas=2,
        seconds=LOAD_SECONDS,
        reports=ctx.sandbox.root.parent / f"locust-{ctx.task}",
    )
    shares = ", ".join(
        f"{name.rsplit('-', 1)[-1]}: {count} ({share:.0%})"
        for name, count, share, _ in verdict["rows"]
    )
    counted = "counted from " + verdict["counted_from_text"]  # the load test's own words
    if verdict["ok"]:
        return f"back-end {shares}, 0 failed, {counted}"
    raise Failed(
        f"an even split within ±{verdict['tolerance_pp']:.1f} points, no failed request",
        f"back-end {shares}; " + "; ".join(verdict["reasons"]) + f" ({counted})",
        "let the proxy take the back-ends in turn: proxy_pass http://back-end:5252, with no "
        "hash, ip_hash or sticky directive",
        ctx.rel(proxy.conf_path(ctx)),
    )


def differences(text: str) -> list[str]:
    """What a learner's command does otherwise than the statement's, word by word."""
    words = text.split()
    said = ["one line: the command alone"] if len(text.strip().splitlines()) > 1 else []
    if "docker" in words and "compose" in words:
        said.append("docker-compose, as the statement writes it, not docker compose")
    said += [
        f"no {w} (the statement runs it in the foreground)"
        for w in ("-d", "--detach")
        if w in words
    ]
    said += [f"no {w}" for w in words if w.startswith("--") and w not in ("--scale", "--detach")]
    scaled = [w.split("=", 1)[0] for w in words if "=" in w]
    said += [f"the service is back-end, not {name}" for name in scaled if name != "back-end"]
    return said
