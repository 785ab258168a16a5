"""task6: the task5 stack with two back-ends behind the proxy, which takes them in turn.

docker-compose up --scale back-end=2      (in task6/; the command is in 2-api-servers.txt)
"""

from __future__ import annotations

from tools.check import probes, stacks
from tools.check.registry import Context, Failed, check
from tools.check.task5 import routes, routes_both

COMMAND = "docker-compose up --scale back-end=2\n"
REQUESTS = 12
LOAD_SECONDS = 10


@check("task6/2-api-servers.txt is exactly `docker-compose up --scale back-end=2` and a newline")
def command_file(ctx: Context) -> str:
    path = ctx.folder / "2-api-servers.txt"
    if not path.is_file():
        raise Failed(
            "task6/2-api-servers.txt",
            "no such file",
            f"printf '{COMMAND.strip()}\\n' > task6/2-api-servers.txt",
        )
    text = path.read_bytes().decode(errors="replace")
    if text == COMMAND:
        return repr(text)
    if text == COMMAND.strip():
        fix = "end it with a newline: echo >> task6/2-api-servers.txt"
    elif text.rstrip("\n") == COMMAND.strip():
        fix = "leave one newline only, at the end"
    else:
        fix = f"write exactly that: printf '{COMMAND.strip()}\\n' > task6/2-api-servers.txt"
        said = differences(text)
        if said:
            fix += f" ({'; '.join(said)})"
    raise Failed(repr(COMMAND), repr(text[:120]), fix, ctx.rel(path), 1)


stacks.declare_file_checks("task6")


@check(
    "the back-end service is named back-end, as the command assumes", needs=("compose_reads_it",)
)
def back_end_named_back_end(ctx: Context) -> str:
    return stacks.require_services(ctx, "back-end", "proxy")


@check(
    "the back-end can run twice: no container_name, no fixed host port",
    needs=("back_end_named_back_end",),
)
def back_end_can_scale(ctx: Context) -> str:
    raw = stacks.raw_service(ctx, "back-end")
    where = f"{ctx.task}/{stacks.FILE}"
    if "container_name" in raw:
        raise Failed(
            "no container_name on back-end",
            f"container_name: {raw['container_name']}",
            "remove it: two containers cannot share a name",
            where,
            stacks.line_of(ctx, "services.back-end.container_name"),
        )
    if stacks.published(ctx, "back-end"):
        raise Failed(
            "no host port on back-end",
            f"host port {stacks.published(ctx, 'back-end')[0]}",
            "remove back-end's ports: two containers cannot share a host port",
            where,
            stacks.line_of(ctx, "services.back-end.ports"),
        )
    return "nothing pins one container"


@check(
    "proxy.conf routes /api to back-end:5252 and / to front-end:9000", needs=("compose_reads_it",)
)
def proxy_routes(ctx: Context) -> str:
    return routes(ctx)


stacks.declare_build_check("task6")


@check(
    "`docker-compose up --scale back-end=2` starts two back-ends, a front-end and the proxy",
    needs=("images_build", "back_end_named_back_end"),
    runs_containers=True,
)
def two_back_ends_start(ctx: Context) -> str:
    stack = stacks.up(ctx, {"back-end": 2})
    stacks.wait(ctx, stacks.url_of(ctx, "proxy", 80, "/"), "the proxy")
    counts = {s: len(stack.service(s)) for s in ("back-end", "front-end", "proxy")}
    if counts["back-end"] != 2:
        raise Failed(
            "2 back-end containers",
            f"{counts['back-end']}",
            "check the back-end service",
            f"{ctx.task}/{stacks.FILE}",
        )
    return ", ".join(f"{n}x {s}" for s, n in counts.items())


@check(
    "through the proxy, /api/hello is the back-end's and / the site's page",
    needs=("two_back_ends_start",),
    runs_containers=True,
)
def proxy_routes_both(ctx: Context) -> str:
    return routes_both(ctx)


@check(
    f"both back-ends answer through the proxy, in turn ({REQUESTS} requests)",
    needs=("proxy_routes_both",),
    runs_containers=True,
)
def both_back_ends_answer_in_turn(ctx: Context) -> str:
    stack = ctx.state["stack"]
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
                "read its log",
                f"{ctx.task}/back-end/api.py",
            )
    seen = probes.every_replica_serves(url, back_ends, timeout=20)
    if seen != {c.name for c in back_ends}:
        raise Failed(
            "both back-ends to answer through the proxy within 20s",
            f"only back-end {' '.join(short[n] for n in sorted(seen)) or 'none'}",
            "let the proxy resolve the service name back-end (proxy_pass "
            "http://back-end:5252), so that it knows both",
            f"{ctx.task}/proxy/proxy.conf",
        )
    sequence = probes.replica_sequence(url, back_ends, REQUESTS)
    shown = " ".join(short.get(s, s) for s in sequence)
    counts = {c.name: sequence.count(c.name) for c in back_ends}
    if "!" in sequence:
        raise Failed(
            f"{REQUESTS} answers",
            f"{sequence.count('!')} failed (replicas: {shown})",
            "read the proxy's log",
            f"{ctx.task}/proxy/proxy.conf",
        )
    if min(counts.values()) == 0 or max(counts.values()) - min(counts.values()) > 1:
        raise Failed(
            f"back-end-1 and back-end-2 in turn, {REQUESTS // 2} each",
            f"{' and '.join(f'{short[n]}: {k}' for n, k in counts.items())} (in order: {shown})",
            "let the proxy resolve the service name back-end (proxy_pass http://back-end:5252), "
            "so that it knows both",
            f"{ctx.task}/proxy/proxy.conf",
        )
    return f"in order: {shown}"


@check(
    f"under load (Locust, 10 users for {LOAD_SECONDS} s) the two back-ends share the requests "
    "evenly and none fails",
    needs=("both_back_ends_answer_in_turn",),
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
        f"{ctx.task}/proxy/proxy.conf",
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
