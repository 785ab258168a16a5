"""task4: the task3 stack in `task4/docker-compose.yml`.

docker-compose up         (in task4/: containers task4-back-end-1 and task4-front-end-1)

The services' names are the learner's: the statement's sample names them back-end and
front-end, which only task6's command requires.
"""

from __future__ import annotations

from softy_pinko_docker.check import composefile, running, site, stacks, steps
from softy_pinko_docker.check.registry import UNJUDGED, Context, check

ROLES = ("back-end", "front-end")

# The statement's words each check comes from (docs/check.md's table), and when it only warns.
STATEMENT = {
    "compose_file_exists": ("Inside the task4 directory, create a docker-compose.yml file", ""),
    "compose_reads_it": ("build them using docker-compose build", ""),
    "nothing_reaches_the_host": ("(the checker's own: it runs nothing that reaches the host)", ""),
    "back_end_and_front_end_services": (
        "your docker-compose.yml file with the correct services",
        "",
    ),
    "dockerfiles_found": ("build, context, dockerfile", ""),
    "back_end_build_and_image": (
        "Important keywords: build, context, dockerfile; image",
        "a short build (build: ./back-end); an image name other than the sample's",
    ),
    "front_end_build_and_image": (
        "Important keywords: build, context, dockerfile; image",
        "a short build (build: ./front-end); an image name other than the sample's",
    ),
    "back_end_based_on_latest_ubuntu": ("(task3's back-end)", "always: task4 does not restate it"),
    "front_end_based_on_latest_nginx": ("(task3's front-end)", "always: task4 does not restate it"),
    "site_files": ("(task3's) the site", "as task2"),
    "page_fetches_the_api": ("(task3's) the page fetches http://localhost:5252/api/hello", ""),
    "ports_5252_and_9000": ("Important keywords: ports ... HOSTPORT:CONTAINERPORT", ""),
    "depends_on": ("Important keywords: depends_on", ""),
    "container_names": (
        "Container task4-back-end-1 Created (the sample output)",
        "always: the sample is an example",
    ),
    "images_build": ("build them using docker-compose build", UNJUDGED),
    "front_end_config_loads": ("(task3's) the site shows up", ""),
    "stack_starts": ("run it with docker-compose up", ""),
    "page_shows_the_api_s_answer": ("(task3's) the page shows the API's answer", ""),
}

check("task4/docker-compose.yml exists", task="task4", name="compose_file_exists")(
    composefile.compose_file
)
check(
    "Compose reads it (docker compose config)",
    needs=(composefile.compose_file,),
    task="task4",
    name="compose_reads_it",
)(composefile.model)
check(
    "nothing in it reaches the host (the checker runs nothing that would)",
    needs=(composefile.model,),
    task="task4",
    name="nothing_reaches_the_host",
)(composefile.nothing_reaches_the_host)


@check("a back-end and a front-end service (their names are yours)", needs=(composefile.model,))
def back_end_and_front_end_services(ctx: Context) -> str:
    return composefile.require_roles(ctx, *ROLES)


@check("each service builds its folder's Dockerfile", needs=(back_end_and_front_end_services,))
def dockerfiles_found(ctx: Context) -> str:
    return ", ".join(ctx.rel(composefile.role_files(ctx, r)) for r in ROLES)


@check(
    "back-end: build (context, dockerfile) and image softy-pinko-back-end:task4",
    needs=(back_end_and_front_end_services,),
)
def back_end_build_and_image(ctx: Context) -> str:
    return composefile.builds_and_image(ctx, "back-end", "softy-pinko-back-end:task4")


@check(
    "front-end: build (context, dockerfile) and image softy-pinko-front-end:task4",
    needs=(back_end_and_front_end_services,),
)
def front_end_build_and_image(ctx: Context) -> str:
    return composefile.builds_and_image(ctx, "front-end", "softy-pinko-front-end:task4")


@check("the back-end is task3's, on the latest Ubuntu", needs=(dockerfiles_found,), advisory=True)
def back_end_based_on_latest_ubuntu(ctx: Context) -> str:
    path = composefile.role_files(ctx, "back-end")
    return steps.from_latest(ctx, path, "ubuntu", "the latest Ubuntu", inherited=True)


@check("the front-end is task3's, on the latest Nginx", needs=(dockerfiles_found,), advisory=True)
def front_end_based_on_latest_nginx(ctx: Context) -> str:
    return steps.from_latest(
        ctx, composefile.role_files(ctx, "front-end"), "nginx", "the latest Nginx", inherited=True
    )


@check("the site's files are in the front-end's folder", needs=(dockerfiles_found,))
def site_files(ctx: Context) -> str:
    return site.site_files(ctx, stacks.front_end(ctx))


@check(
    "the page is task3's: it fetches http://localhost:5252/api/hello into #dynamic-content",
    needs=(site_files,),
)
def page_fetches_the_api(ctx: Context) -> str:
    site.has_dynamic_content(ctx, stacks.front_end(ctx))
    return site.fetches(
        ctx, stacks.front_end(ctx), site.direct_api, "http://localhost:5252/api/hello"
    )


@check(
    "ports: the back-end on 5252, the front-end on 9000, as in task3",
    needs=(back_end_and_front_end_services,),
)
def ports_5252_and_9000(ctx: Context) -> str:
    why = " (the page fetches http://localhost:5252)"
    back = composefile.publishes(ctx, "back-end", 5252, why)
    listens = stacks.front_end_ports(ctx) or [9000]  # the host's 9000 to where Nginx listens
    to = 9000 if 9000 in listens else listens[0]
    why = f" (its Nginx listens on {to})" if to != 9000 else ""
    return f"{back}; {composefile.publishes(ctx, 'front-end', 9000, why, to)}"


@check("depends_on: one service starts after the other", needs=(back_end_and_front_end_services,))
def depends_on(ctx: Context) -> str:
    return composefile.depends_on(ctx, *ROLES)


@check(
    "the containers are named task4-back-end-1 and task4-front-end-1 (from the services)",
    needs=(back_end_and_front_end_services,),
    advisory=True,
)
def container_names(ctx: Context) -> str:
    return composefile.compose_names(ctx, ROLES)


check(
    "`docker-compose up` builds every image",
    needs=(composefile.nothing_reaches_the_host, dockerfiles_found),
    runs_containers=True,
    task="task4",
    name="images_build",
)(stacks.build_all)


@check(
    "Nginx accepts the front-end's config (nginx -t in its image)",
    needs=(stacks.build_all,),
    runs_containers=True,
)
def front_end_config_loads(ctx: Context) -> str:
    return stacks.config_loads(ctx, "front-end")


@check(
    "`docker-compose up` starts the stack, and the back-end answers",
    needs=(stacks.build_all, ports_5252_and_9000),
    runs_containers=True,
)
def stack_starts(ctx: Context) -> str:
    stacks.up(ctx)
    url = stacks.url_of(ctx, "back-end", 5252, "/api/hello")
    return running.greeting(stacks.wait(ctx, url, "the back-end"), "the back-end's GET /api/hello")


@check(
    "in a browser, the page on 9000 shows the back-end's answer",
    needs=(stack_starts, front_end_config_loads, site_files, page_fetches_the_api),
    runs_containers=True,
)
def page_shows_the_api_s_answer(ctx: Context) -> str:
    service = ctx.roles["front-end"]
    target = next(
        p["target"] for p in composefile.ports(ctx, service) if p.get("published") == "9000"
    )
    stacks.page_through(ctx, stacks.url_of(ctx, "front-end", target, "/"))
    return running.page_shows(
        ctx,
        "http://localhost:9000/",
        stacks.browser_ports(ctx),
        steps.GREETING,
        stacks.front_end(ctx),
    )
