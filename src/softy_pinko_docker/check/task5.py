"""task5: an Nginx reverse proxy in front: `/api` to the back-end, the rest to the front-end.

docker-compose up         (in task5/: only the proxy publishes a port, 80)

The proxy is the service the statement names `proxy`; proxy.conf reaches the other two by their
service names, whatever the learner named them.
"""

from __future__ import annotations

from softy_pinko_docker.check import composefile, proxy, running, site, stacks, steps
from softy_pinko_docker.check.registry import UNJUDGED, Context, check

ROLES = ("back-end", "front-end", "proxy")
PREVIOUS = "task4"

# The statement's words each check comes from (docs/check.md's table), and when it only warns.
STATEMENT = {
    "compose_file_exists": ("copy the task4 directory and name it task5", ""),
    "compose_reads_it": ("docker-compose build", ""),
    "nothing_reaches_the_host": ("(the checker's own: it runs nothing that reaches the host)", ""),
    "services_named": ("add a new service named proxy", ""),
    "dockerfiles_found": ("build, context, dockerfile", ""),
    "proxy_files": (
        "create a new folder named proxy ... a Dockerfile ... a file named proxy.conf",
        "",
    ),
    "proxy_based_on_latest_nginx": (
        "create a Dockerfile that uses the latest version of nginx",
        "a version named by its tag",
    ),
    "proxy_config_copied": (
        "copy the proxy.conf file to ... /etc/nginx/conf.d/default.conf",
        "",
    ),
    "proxy_build_and_image": (
        "Be sure to include the same sections as previously used: build, context, "
        "dockerfile; image",
        "a short build; an image name other than the sample's",
    ),
    "proxy_on_80": ("Map the container’s port 80 to the host machine’s port 80", ""),
    "only_the_proxy_publishes": (
        "remove the mapping for the front-end and back-end service to the host machine ports",
        'a lone container port ("5252"), which the statement calls internal and Compose '
        "publishes on a random host port",
    ),
    "back_end_based_on_latest_ubuntu": ("(task4's back-end)", "always: task5 does not restate it"),
    "front_end_based_on_latest_nginx": ("(task4's front-end)", "always: task5 does not restate it"),
    "proxy_routes": (
        "location / ... http://INSERT-YOUR-FRONT-END-DOCKER-COMPOSE-SERVICE-NAME-HERE:9000; "
        "location /api ... :5252",
        "an address made of variables (judged by running the stack)",
    ),
    "site_files": ("(task4's) the site", "as task2"),
    "page_calls_relative_api": ('Replace your JavaScript ...: url: "/api/hello"', ""),
    "images_build": ("docker-compose build", UNJUDGED),
    "proxy_config_loads": ("listening to port 80 ... proxy_pass (Nginx starts only then)", ""),
    "front_end_config_loads": ("(task4's) the site shows up", ""),
    "stack_starts": ("the browser hitting http://localhost:80, which is the proxy server", ""),
    "proxy_routes_both": ("route any request coming in on that route", ""),
    "page_shows_the_api_s_answer": ("(the page through the proxy shows the API's answer)", ""),
}

check("task5/docker-compose.yml exists", task="task5", name="compose_file_exists")(
    composefile.compose_file
)
check(
    "Compose reads it (docker compose config)",
    needs=(composefile.compose_file,),
    task="task5",
    name="compose_reads_it",
)(composefile.model)
check(
    "nothing in it reaches the host (the checker runs nothing that would)",
    needs=(composefile.model,),
    task="task5",
    name="nothing_reaches_the_host",
)(composefile.nothing_reaches_the_host)


@check(
    "a back-end and a front-end service, and a new service named proxy", needs=(composefile.model,)
)
def services_named(ctx: Context) -> str:
    return composefile.require_roles(ctx, *ROLES, named=("proxy",))


@check("each service builds its folder's Dockerfile", needs=(services_named,))
def dockerfiles_found(ctx: Context) -> str:
    return ", ".join(ctx.rel(composefile.role_files(ctx, r)) for r in ROLES)


@check("task5/proxy/ has the proxy's Dockerfile and proxy.conf", needs=(dockerfiles_found,))
def proxy_files(ctx: Context) -> str:
    return proxy.proxy_files(ctx)


@check("the proxy is based on the latest Nginx", needs=(proxy_files,))
def proxy_based_on_latest_nginx(ctx: Context) -> str:
    return steps.from_latest(ctx, composefile.role_files(ctx, "proxy"), "nginx", "the latest Nginx")


@check(f"proxy.conf is copied to {proxy.CONFIG}", needs=(proxy_files,))
def proxy_config_copied(ctx: Context) -> str:
    return steps.copied_to(ctx, composefile.role_files(ctx, "proxy"), proxy.CONF, proxy.CONFIG)


@check(
    "proxy: build (context, dockerfile) and image softy-pinko-proxy:task5", needs=(services_named,)
)
def proxy_build_and_image(ctx: Context) -> str:
    return composefile.builds_and_image(ctx, "proxy", "softy-pinko-proxy:task5")


@check("the proxy maps host port 80 to its 80", needs=(services_named,))
def proxy_on_80(ctx: Context) -> str:
    return composefile.publishes(ctx, "proxy", 80)


@check("only the proxy publishes a host port", needs=(services_named,))
def only_the_proxy_publishes(ctx: Context) -> str:
    return composefile.only_the_proxy_publishes(ctx)


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
    "proxy.conf routes /api to the back-end's 5252 and / to the front-end's 9000",
    needs=(proxy_files,),
)
def proxy_routes(ctx: Context) -> str:
    return proxy.routes(ctx)


@check("the site's files are in the front-end's folder", needs=(dockerfiles_found,))
def site_files(ctx: Context) -> str:
    return site.site_files(ctx, stacks.front_end(ctx))


@check("the page now calls the relative URL /api/hello into #dynamic-content", needs=(site_files,))
def page_calls_relative_api(ctx: Context) -> str:
    site.has_dynamic_content(ctx, stacks.front_end(ctx))
    return site.fetches(ctx, stacks.front_end(ctx), site.relative_api, "/api/hello")


check(
    "`docker-compose up` builds every image",
    needs=(composefile.nothing_reaches_the_host, dockerfiles_found),
    runs_containers=True,
    task="task5",
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
    "`docker-compose up` starts the stack; the proxy answers on 80",
    needs=(proxy_config_loads, front_end_config_loads, proxy_on_80),
    runs_containers=True,
)
def stack_starts(ctx: Context) -> str:
    stacks.up(ctx)
    said = stacks.wait(ctx, stacks.url_of(ctx, "proxy", 80, "/"), "the proxy")
    return f"GET / through the proxy: {said.status}"


@check(
    "through the proxy, /api/hello is the back-end's and / the site's page",
    needs=(stack_starts, proxy_routes, site_files),
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
