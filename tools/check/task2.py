"""task2: task1's files moved into `back-end/`, and an Nginx `front-end/` serving the site.

docker build -f ./front-end/Dockerfile -t softy-pinko-front-end:task2 ./front-end   (in task2/)
docker run -p 9000:9000 -it --rm --name softy-pinko-front-end-task2 softy-pinko-front-end:task2
"""

from __future__ import annotations

from tools.check import steps
from tools.check.registry import Context, Failed, check

SITE_ROOT = "/var/www/html/softy-pinko-front-end"
CONFIG = "/etc/nginx/conf.d/default.conf"


@check("task1's Dockerfile and api.py moved into task2/back-end/")
def back_end_moved(ctx: Context) -> str:
    steps.require_file(ctx, "back-end/Dockerfile", "the back-end's Dockerfile")
    steps.require_file(ctx, "back-end/api.py", "the back-end's API")
    return "task2/back-end/Dockerfile, task2/back-end/api.py"


@check("the back-end is task1's: on the latest Ubuntu", needs=("back_end_moved",))
def back_end_based_on_latest_ubuntu(ctx: Context) -> str:
    return steps.from_latest(ctx, ctx.folder / "back-end/Dockerfile", "ubuntu", "the latest Ubuntu")


@check("the back-end is task1's: Flask installed with pip3", needs=("back_end_moved",))
def back_end_installs_flask_with_pip3(ctx: Context) -> str:
    return steps.pip_installs(ctx, ctx.folder / "back-end/Dockerfile", "flask")


@check("task2/front-end/ has a Dockerfile and softy-pinko-front-end.conf")
def front_end_files(ctx: Context) -> str:
    steps.require_file(ctx, "front-end/Dockerfile", "the front-end's Dockerfile")
    steps.require_file(ctx, "front-end/softy-pinko-front-end.conf", "the site's Nginx config")
    return "task2/front-end/Dockerfile, task2/front-end/softy-pinko-front-end.conf"


@check("the site's files are in task2/front-end/softy-pinko-front-end/")
def site_files(ctx: Context) -> str:
    return ctx.rel(steps.site_folder(ctx, "front-end") / "index.html")


@check("the front-end is based on the latest Nginx", needs=("front_end_files",))
def front_end_based_on_latest_nginx(ctx: Context) -> str:
    return steps.from_latest(ctx, ctx.folder / "front-end/Dockerfile", "nginx", "the latest Nginx")


@check(f"the site is copied to {SITE_ROOT}", needs=("front_end_files",))
def site_copied(ctx: Context) -> str:
    return steps.copied_to(ctx, ctx.folder / "front-end/Dockerfile", steps.SITE, SITE_ROOT)


@check(f"softy-pinko-front-end.conf is copied to {CONFIG}", needs=("front_end_files",))
def config_copied(ctx: Context) -> str:
    return steps.copied_to(
        ctx, ctx.folder / "front-end/Dockerfile", "softy-pinko-front-end.conf", CONFIG
    )


@check("the site's config listens on 9000", needs=("front_end_files",), advisory=True)
def config_listens_on_9000(ctx: Context) -> str:
    return listens_on_9000(ctx)


def listens_on_9000(ctx: Context) -> str:
    conf = ctx.folder / "front-end/softy-pinko-front-end.conf"
    line = steps.nginx_listens(conf, 9000)
    if line is None:
        raise Failed(
            "listen 9000;", "no listen 9000", "add listen 9000; to the server block", ctx.rel(conf)
        )
    return f"listen 9000 (line {line})"


@check("the back-end builds", needs=("back_end_moved",), runs_containers=True)
def back_end_builds(ctx: Context) -> str:
    return f"built in {steps.build(ctx, 'back-end', 'back-end').seconds:.0f}s"


@check(
    "the back-end answers GET /api/hello on 5252", needs=("back_end_builds",), runs_containers=True
)
def back_end_answers_hello_world(ctx: Context) -> str:
    steps.serve(ctx, "back-end", 5252)
    said = steps.answer(ctx, "back-end", "/api/hello")
    return steps.greeting(said, "GET /api/hello", f"{ctx.task}/back-end/api.py")


@check(
    "the front-end builds with the statement's command",
    needs=("front_end_files", "site_files"),
    runs_containers=True,
)
def front_end_builds(ctx: Context) -> str:
    return f"built in {steps.build(ctx, 'front-end', 'front-end').seconds:.0f}s"


@check(
    "the front-end serves the site's page on 9000",
    needs=("front_end_builds",),
    runs_containers=True,
)
def page_served_on_9000(ctx: Context) -> str:
    return serves_page(ctx)


def serves_page(ctx: Context) -> str:
    steps.serve(ctx, "front-end", 9000)
    said = steps.answer(ctx, "front-end", "/")
    conf = f"{ctx.task}/front-end/softy-pinko-front-end.conf"
    if said.status != 200 or "<html" not in said.body.lower():
        raise Failed(
            "200 and the site's index.html on GET /",
            f"{said.status} {said.body.strip()[:80]!r}",
            f"make {conf} listen on 9000 and serve root {SITE_ROOT} with index index.html",
            conf,
        )
    return f"GET / on 9000: {said.status}, the site's page"
