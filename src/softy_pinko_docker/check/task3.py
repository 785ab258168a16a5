"""task3: the page shows what it fetched from the back-end, which enables CORS with flask-cors.

Images softy-pinko-back-end:task3 and softy-pinko-front-end:task3, run as task2's are: the
back-end on 5252, the front-end on 9000, and the page, at http://localhost:9000, fetches
http://localhost:5252/api/hello into <h1 id="dynamic-content">.
"""

from __future__ import annotations

import re
from pathlib import Path

from softy_pinko_docker.check import probes, running, site, steps, task2
from softy_pinko_docker.check.registry import UNJUDGED, Context, Failed, check
from softy_pinko_docker.check.site import CONFIG, FRONT_END_CONF, SITE_ROOT

ORIGIN = "http://localhost:9000"


# The statement's words each check comes from (docs/check.md's table), and when it only warns.
STATEMENT = {
    "task2_layout": ("make a copy of your task2 directory and name it task3", ""),
    "site_files": ("(task2's) the site in task3/front-end/softy-pinko-front-end", "as task2"),
    "back_end_based_on_latest_ubuntu": ("(task2's back-end)", "always: task3 does not restate it"),
    "flask_cors_installed_with_pip3": (
        "use pip3 to install flask-cors after you have installed flask through pip3",
        "",
    ),
    "api_enables_cors": ("use this updated python script as your api.py: CORS(app)", ""),
    "front_end_based_on_latest_nginx": ("(task2's front-end)", "always: task3 does not restate it"),
    "page_has_dynamic_content": (
        '<h1 id="dynamic-content"></h1> ... the place we’re going to insert dynamic data',
        "another element than an h1",
    ),
    "script_fetches_the_api": ('url: "http://localhost:5252/api/hello"', ""),
    "front_end_copies": ("(task2's) the site and its config copied", ""),
    "config_serves_the_site": ("(task2's) the site shows up when visiting the URL", ""),
    "back_end_builds": (
        "docker build -f ./back-end/Dockerfile -t softy-pinko-back-end:task3 ./back-end",
        UNJUDGED,
    ),
    "back_end_answers_hello_world": ("(task2's) “Hello, World!” on port 5252", ""),
    "back_end_allows_the_page_s_origin": (
        "so that it can accept cross-origin requests from our front-end",
        "",
    ),
    "front_end_builds": ("(task2's) the front-end builds", UNJUDGED),
    "front_end_config_loads": ("(task2's) the site shows up", ""),
    "page_served_on_9000": ("(task2's) docker run -p 9000:9000", ""),
    "page_shows_the_api_s_answer": (
        "$('#dynamic-content').text(data): your front-end to communicate with it",
        "",
    ),
}


@check("task3/back-end/ and task3/front-end/, as in task2")
def task2_layout(ctx: Context) -> str:
    steps.require_dockerfile(ctx, "back-end/Dockerfile", "the back-end's Dockerfile")
    steps.require_file(ctx, "back-end/api.py", "the back-end's API")
    steps.require_dockerfile(ctx, "front-end/Dockerfile", "the front-end's Dockerfile")
    steps.require_file(ctx, f"front-end/{FRONT_END_CONF}", "the site's Nginx config")
    return f"back-end/{{Dockerfile,api.py}}, front-end/{{Dockerfile,{FRONT_END_CONF}}}"


@check(f"the site's files are in task3/front-end/{site.SITE}/")
def site_files(ctx: Context) -> str:
    return site.site_files(ctx, ctx.folder / "front-end")


@check("the back-end is task2's: on the latest Ubuntu", needs=(task2_layout,), advisory=True)
def back_end_based_on_latest_ubuntu(ctx: Context) -> str:
    return steps.from_latest(
        ctx, ctx.folder / "back-end/Dockerfile", "ubuntu", "the latest Ubuntu", inherited=True
    )


@check("flask-cors is installed with pip3", needs=(task2_layout,))
def flask_cors_installed_with_pip3(ctx: Context) -> str:
    return steps.pip_installs(ctx, ctx.folder / "back-end/Dockerfile", "flask-cors")


@check("api.py enables CORS with flask_cors.CORS", needs=(task2_layout,))
def api_enables_cors(ctx: Context) -> str:
    return enables_cors(ctx, ctx.folder / "back-end/api.py")


def enables_cors(ctx: Context, api: Path) -> str:
    text = api.read_bytes().decode(errors="replace")
    code = "\n".join(re.sub(r"#.*$", "", line) for line in text.splitlines())
    if "flask_cors" not in code:
        raise Failed(
            "from flask_cors import CORS",
            "no flask_cors import",
            "add from flask_cors import CORS, then CORS(app)",
            ctx.rel(api),
        )
    applied = re.search(r"\bCORS\(|cross_origin\b", code)
    if applied is None:
        raise Failed(
            "CORS(app)",
            "flask_cors imported, CORS never applied",
            "add CORS(app) after app = Flask(__name__)",
            ctx.rel(api),
        )
    return f"CORS applied (line {code[: applied.start()].count(chr(10)) + 1})"


@check("the front-end is task2's: on the latest Nginx", needs=(task2_layout,), advisory=True)
def front_end_based_on_latest_nginx(ctx: Context) -> str:
    return steps.from_latest(
        ctx, ctx.folder / "front-end/Dockerfile", "nginx", "the latest Nginx", inherited=True
    )


@check('the page has an <h1 id="dynamic-content">', needs=(site_files,))
def page_has_dynamic_content(ctx: Context) -> str:
    return site.has_dynamic_content(ctx, ctx.folder / "front-end")


@check("the page's script fetches http://localhost:5252/api/hello", needs=(site_files,))
def script_fetches_the_api(ctx: Context) -> str:
    return site.fetches(
        ctx, ctx.folder / "front-end", site.direct_api, "http://localhost:5252/api/hello"
    )


@check("the front-end copies the site and its config as in task2", needs=(task2_layout,))
def front_end_copies(ctx: Context) -> str:
    site.site_copied(ctx, ctx.folder / "front-end")
    return steps.copied_to(ctx, ctx.folder / "front-end/Dockerfile", FRONT_END_CONF, CONFIG)


@check(f"{FRONT_END_CONF} serves the site: / from {SITE_ROOT}", needs=(task2_layout,))
def config_serves_the_site(ctx: Context) -> str:
    return site.serves_the_site(ctx, ctx.folder / "front-end" / FRONT_END_CONF)


# The back-end and the front-end are task2's, and are built and served as task2's are.
check(
    "the back-end builds",
    needs=(task2_layout,),
    runs_containers=True,
    task="task3",
    name="back_end_builds",
)(task2.back_end_builds)
check(
    "the back-end answers GET /api/hello on 5252",
    needs=(task2.back_end_builds,),
    runs_containers=True,
    task="task3",
    name="back_end_answers_hello_world",
)(task2.back_end_answers_hello_world)


@check(
    "the back-end's answer carries CORS headers for the page's origin",
    needs=(task2.back_end_answers_hello_world,),
    runs_containers=True,
)
def back_end_allows_the_page_s_origin(ctx: Context) -> str:
    url = f"http://127.0.0.1:{ctx.ports['back-end']}/api/hello"
    said = probes.get(url, headers={"Origin": ORIGIN})
    allowed = said.headers.get("access-control-allow-origin")
    if allowed not in ("*", ORIGIN):
        raise Failed(
            f"Access-Control-Allow-Origin: * or {ORIGIN}",
            f"Access-Control-Allow-Origin: {allowed}" if allowed else "no such header",
            "install flask-cors and apply CORS(app) in api.py",
            f"{ctx.task}/back-end/api.py",
        )
    return f"Access-Control-Allow-Origin: {allowed}"


check(
    "the front-end builds",
    needs=(task2_layout, site_files),
    runs_containers=True,
    task="task3",
    name="front_end_builds",
)(task2.front_end_builds)
check(
    "Nginx accepts the front-end's config (nginx -t in its image)",
    needs=(task2.front_end_builds,),
    runs_containers=True,
    task="task3",
    name="front_end_config_loads",
)(task2.front_end_config_loads)
check(
    "the front-end serves the page on 9000",
    needs=(task2.front_end_config_loads, config_serves_the_site),
    runs_containers=True,
    task="task3",
    name="page_served_on_9000",
)(task2.page_served_on_9000)


@check(
    "in a browser, the page shows the back-end's answer in #dynamic-content",
    needs=(
        task2.back_end_answers_hello_world,
        task2.page_served_on_9000,
        page_has_dynamic_content,
        script_fetches_the_api,
    ),
    runs_containers=True,
)
def page_shows_the_api_s_answer(ctx: Context) -> str:
    ports = {9000: ctx.ports["front-end"], 5252: ctx.ports["back-end"]}
    return running.page_shows(
        ctx, "http://localhost:9000/", ports, steps.GREETING, ctx.folder / "front-end"
    )
