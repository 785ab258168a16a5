"""task2: task1's files moved into `back-end/`, and an Nginx `front-end/` serving the site.

docker build -f ./front-end/Dockerfile -t softy-pinko-front-end:task2 ./front-end   (in task2/)
docker run -p 9000:9000 -it --rm --name softy-pinko-front-end-task2 softy-pinko-front-end:task2
"""

from __future__ import annotations

from softy_pinko_docker.check import nginx, running, site, steps
from softy_pinko_docker.check.registry import UNJUDGED, Context, Failed, check
from softy_pinko_docker.check.site import CONFIG, FRONT_END_CONF, SITE_ROOT

# The statement's words each check comes from (docs/check.md's table), and when it only warns.
STATEMENT = {
    "back_end_moved": (
        "Move all of the files currently in task2 inside of the new back-end directory",
        "",
    ),
    "back_end_based_on_latest_ubuntu": (
        "(task1's files, moved) Is based on the latest ubuntu",
        "a release named by its number that may be the latest (ubuntu:24.04)",
    ),
    "back_end_installs_flask_with_pip3": ("(task1's) flask must be installed with pip3", ""),
    "front_end_files": (
        "a new Dockerfile in your task2/front-end directory; an Nginx config file named "
        "softy-pinko-front-end.conf",
        "",
    ),
    "site_files": (
        "Inside your new task2/front-end, clone this repository",
        "the page kept in another folder that the Dockerfile copies; a submodule not checked "
        "out here (not judged)",
    ),
    "front_end_based_on_latest_nginx": (
        "use the latest version of nginx",
        "a version named by its tag (nginx:1.27)",
    ),
    "site_copied": (
        "Your softy-pinko-front-end files must be copied to /var/www/html/softy-pinko-front-end",
        "",
    ),
    "config_copied": ("must be copied to the Docker image to /etc/nginx/conf.d/default.conf", ""),
    "config_serves_the_site": (
        "all of the configuration settings required to get your site to show up when visiting "
        "the URL",
        "",
    ),
    "config_listens_on_9000": ("(recommendation: port 9000)", "always: a recommendation"),
    "back_end_builds": ("(task1's) it builds", UNJUDGED),
    "back_end_answers_hello_world": ("(task1's) “Hello, World!” on port 5252", ""),
    "front_end_builds": (
        "docker build -f ./front-end/Dockerfile -t softy-pinko-front-end:task2 ./front-end",
        UNJUDGED,
    ),
    "front_end_config_loads": ("to get your site to show up (Nginx starts only then)", ""),
    "page_served_on_9000": (
        "docker run -p 9000:9000 -it --rm --name softy-pinko-front-end-task2 ...",
        "",
    ),
}


@check("task1's Dockerfile and api.py moved into task2/back-end/")
def back_end_moved(ctx: Context) -> str:
    steps.require_dockerfile(ctx, "back-end/Dockerfile", "the back-end's Dockerfile")
    steps.require_file(ctx, "back-end/api.py", "the back-end's API")
    return "task2/back-end/Dockerfile, task2/back-end/api.py"


@check("the back-end is task1's: on the latest Ubuntu", needs=(back_end_moved,))
def back_end_based_on_latest_ubuntu(ctx: Context) -> str:
    return steps.from_latest(ctx, ctx.folder / "back-end/Dockerfile", "ubuntu", "the latest Ubuntu")


@check("the back-end is task1's: Flask installed with pip3", needs=(back_end_moved,))
def back_end_installs_flask_with_pip3(ctx: Context) -> str:
    return steps.pip_installs(ctx, ctx.folder / "back-end/Dockerfile", "flask")


@check(f"task2/front-end/ has a Dockerfile and {FRONT_END_CONF}")
def front_end_files(ctx: Context) -> str:
    steps.require_dockerfile(ctx, "front-end/Dockerfile", "the front-end's Dockerfile")
    steps.require_file(ctx, f"front-end/{FRONT_END_CONF}", "the site's Nginx config")
    return f"task2/front-end/Dockerfile, task2/front-end/{FRONT_END_CONF}"


@check(f"the site's files are in task2/front-end/{site.SITE}/")
def site_files(ctx: Context) -> str:
    return site.site_files(ctx, ctx.folder / "front-end")


@check("the front-end is based on the latest Nginx", needs=(front_end_files,))
def front_end_based_on_latest_nginx(ctx: Context) -> str:
    return steps.from_latest(ctx, ctx.folder / "front-end/Dockerfile", "nginx", "the latest Nginx")


@check(f"the site is copied to {SITE_ROOT}", needs=(front_end_files,))
def site_copied(ctx: Context) -> str:
    return site.site_copied(ctx, ctx.folder / "front-end")


@check(f"{FRONT_END_CONF} is copied to {CONFIG}", needs=(front_end_files,))
def config_copied(ctx: Context) -> str:
    return steps.copied_to(ctx, ctx.folder / "front-end/Dockerfile", FRONT_END_CONF, CONFIG)


@check(f"{FRONT_END_CONF} serves the site: / from {SITE_ROOT}", needs=(front_end_files,))
def config_serves_the_site(ctx: Context) -> str:
    return site.serves_the_site(ctx, ctx.folder / "front-end" / FRONT_END_CONF)


@check(
    "the site's config listens on 9000 (the statement recommends it)",
    needs=(config_serves_the_site,),
    advisory=True,
)
def config_listens_on_9000(ctx: Context) -> str:
    return listens_on_9000(ctx)


def listens_on_9000(ctx: Context) -> str:
    conf = ctx.folder / "front-end" / FRONT_END_CONF
    servers = nginx.servers(site.read_config(ctx, conf))
    ports = sorted({p for s in servers for p in nginx.listen_ports(s)})
    if 9000 not in ports:
        raise Failed(
            "listen 9000;",
            f"it listens on {', '.join(map(str, ports))}",
            "listen 9000; in the server block",
            ctx.rel(conf),
            servers[0].line,
        )
    return "listen 9000"


@check("the back-end builds", needs=(back_end_moved,), runs_containers=True)
def back_end_builds(ctx: Context) -> str:
    return f"built in {running.build(ctx, 'back-end', 'back-end').seconds:.0f}s"


@check(
    "the back-end answers GET /api/hello on 5252", needs=(back_end_builds,), runs_containers=True
)
def back_end_answers_hello_world(ctx: Context) -> str:
    running.serve(ctx, "back-end", 5252)
    api = f"{ctx.task}/back-end/api.py"
    said = running.answer(ctx, "back-end", "/api/hello", 5252, api)
    return running.greeting(said, "GET /api/hello", api)


@check(
    "the front-end builds with the statement's command",
    needs=(front_end_files, site_files),
    runs_containers=True,
)
def front_end_builds(ctx: Context) -> str:
    return f"built in {running.build(ctx, 'front-end', 'front-end').seconds:.0f}s"


@check(
    "Nginx accepts the front-end's config (nginx -t in its image)",
    needs=(front_end_builds,),
    runs_containers=True,
)
def front_end_config_loads(ctx: Context) -> str:
    sources = steps.image_sources(ctx, ctx.folder / "front-end/Dockerfile")
    return running.nginx_accepts(ctx, ctx.images["front-end"], sources, [])


@check(
    "the front-end serves the site's page on 9000",
    needs=(front_end_config_loads, config_serves_the_site),
    runs_containers=True,
)
def page_served_on_9000(ctx: Context) -> str:
    return serves_page(ctx)


def serves_page(ctx: Context) -> str:
    """GET / on 9000, where the statement's `docker run -p 9000:9000` publishes it."""
    listens_on_9000(ctx)  # a server on another port would leave 9000 answering nothing
    running.serve(ctx, "front-end", 9000)
    said = running.answer(ctx, "front-end", "/", 9000)
    conf = f"{ctx.task}/front-end/{FRONT_END_CONF}"
    return running.page_answer(said, conf, f"{ctx.task}/front-end/{site.SITE}")
