"""task4: the task3 stack in `task4/docker-compose.yml`.

docker-compose up         (in task4/: containers task4-back-end-1 and task4-front-end-1)
"""

from __future__ import annotations

from tools.check import stacks, steps
from tools.check.registry import Context, Failed, check

stacks.declare_file_checks("task4")


@check("services back-end and front-end", needs=("compose_reads_it",))
def services_back_end_and_front_end(ctx: Context) -> str:
    return stacks.require_services(ctx, "back-end", "front-end")


@check(
    "back-end: build (context, dockerfile) and image softy-pinko-back-end:task4",
    needs=("compose_reads_it",),
)
def back_end_build_and_image(ctx: Context) -> str:
    return stacks.builds_and_image(ctx, "back-end", "softy-pinko-back-end:task4")


@check(
    "front-end: build (context, dockerfile) and image softy-pinko-front-end:task4",
    needs=("compose_reads_it",),
)
def front_end_build_and_image(ctx: Context) -> str:
    return stacks.builds_and_image(ctx, "front-end", "softy-pinko-front-end:task4")


@check("ports: back-end 5252, front-end 9000", needs=("compose_reads_it",))
def ports_5252_and_9000(ctx: Context) -> str:
    return f"{stacks.publishes(ctx, 'back-end', 5252)}; {stacks.publishes(ctx, 'front-end', 9000)}"


@check("depends_on: the front-end starts after the back-end", needs=("compose_reads_it",))
def front_end_depends_on_back_end(ctx: Context) -> str:
    front, back = stacks.service_for(ctx, "front-end"), stacks.service_for(ctx, "back-end")
    service = (ctx.state["model"].get("services") or {}).get(front or "", {})
    other = (ctx.state["model"].get("services") or {}).get(back or "", {})
    if front in (other.get("depends_on") or {}) and back not in (service.get("depends_on") or {}):
        raise Failed(
            f"services.{front}.depends_on: [{back}]",
            f"{back} depends on {front}, the other way round",
            f"move depends_on to {front}: the page needs the API",
            f"{ctx.task}/{stacks.FILE}",
            stacks.line_of(ctx, f"services.{back}.depends_on"),
        )
    if back not in (service.get("depends_on") or {}):
        raise Failed(
            f"services.{front}.depends_on: [{back}]",
            f"depends_on {list(service.get('depends_on') or [])}",
            f"add depends_on: [{back}] to {front}",
            f"{ctx.task}/{stacks.FILE}",
            stacks.line_of(ctx, f"services.{front}"),
        )
    return f"{front} depends on {back}"


@check(
    "the containers are named task4-back-end-1 and task4-front-end-1", needs=("compose_reads_it",)
)
def container_names(ctx: Context) -> str:
    return stacks.compose_names(ctx)


stacks.declare_build_check("task4")


@check(
    "`docker-compose up` starts the stack, and the back-end answers",
    needs=("images_build",),
    runs_containers=True,
)
def stack_starts(ctx: Context) -> str:
    stacks.up(ctx)
    url = stacks.url_of(ctx, "back-end", 5252, "/api/hello")
    return steps.greeting(stacks.wait(ctx, url, "the back-end"), "the back-end's GET /api/hello")


@check(
    "in a browser, the page on 9000 shows the back-end's answer",
    needs=("stack_starts",),
    runs_containers=True,
)
def page_shows_the_api_s_answer(ctx: Context) -> str:
    stacks.wait(ctx, stacks.url_of(ctx, "front-end", 9000, "/"), "the front-end")
    port = (stacks.published(ctx, "front-end") or [9000])[0]
    site = ctx.folder / "front-end" / steps.SITE
    return steps.page_shows(
        ctx, f"http://localhost:{port}/", stacks.browser_ports(ctx), steps.GREETING, site
    )
