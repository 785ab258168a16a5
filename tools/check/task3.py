"""task3: the page shows what it fetched from the back-end, which enables CORS with flask-cors.

Images softy-pinko-back-end:task3 and softy-pinko-front-end:task3, run as task2's are: the
back-end on 5252, the front-end on 9000, and the page, at http://localhost:9000, fetches
http://localhost:5252/api/hello into <h1 id="dynamic-content">.
"""

from __future__ import annotations

from tools.check import files, probes, steps, task2
from tools.check.registry import Context, Failed, check
from tools.check.task2 import CONFIG, SITE_ROOT

ORIGIN = "http://localhost:9000"


@check("task3/back-end/ and task3/front-end/, as in task2")
def task2_layout(ctx: Context) -> str:
    for rel in (
        "back-end/Dockerfile",
        "back-end/api.py",
        "front-end/Dockerfile",
        "front-end/softy-pinko-front-end.conf",
    ):
        steps.require_file(ctx, rel, rel.rsplit("/", 1)[-1])
    return "back-end/{Dockerfile,api.py}, front-end/{Dockerfile,softy-pinko-front-end.conf}"


@check("the site's files are in task3/front-end/softy-pinko-front-end/")
def site_files(ctx: Context) -> str:
    return ctx.rel(steps.site_folder(ctx, "front-end") / "index.html")


@check("flask-cors is installed with pip3", needs=("task2_layout",))
def flask_cors_installed_with_pip3(ctx: Context) -> str:
    return steps.pip_installs(ctx, ctx.folder / "back-end/Dockerfile", "flask-cors")


@check("api.py enables CORS with flask_cors.CORS", needs=("task2_layout",))
def api_enables_cors(ctx: Context) -> str:
    api = ctx.folder / "back-end/api.py"
    text = api.read_text(errors="replace")
    if "flask_cors" not in text:
        raise Failed(
            "from flask_cors import CORS",
            "no flask_cors import",
            "add from flask_cors import CORS, then CORS(app)",
            ctx.rel(api),
        )
    if "CORS(" not in text:
        raise Failed(
            "CORS(app)",
            "flask_cors imported, CORS never applied",
            "add CORS(app) after app = Flask(__name__)",
            ctx.rel(api),
        )
    line = next(n for n, ln in enumerate(text.splitlines(), 1) if "CORS(" in ln)
    return f"CORS applied (line {line})"


@check('the page has an <h1 id="dynamic-content">', needs=("site_files",))
def page_has_dynamic_content(ctx: Context) -> str:
    site = ctx.folder / "front-end" / steps.SITE
    page = files.read_page(site)
    assert page is not None  # site_files passed
    element = page.elements.get("dynamic-content")
    if element is None:
        text = page.path.read_text(errors="replace")
        stray = next(
            (
                n
                for n, ln in enumerate(text.splitlines(), 1)
                if "dynamic-content" in ln and "#dynamic-content" not in ln
            ),
            None,
        )
        if (
            stray is not None
        ):  # e.g. <h1>id="dynamic-content"></h1>: the id is text, not an attribute
            line = text.splitlines()[stray - 1].strip()[:80]
            raise Failed(
                'an element with id="dynamic-content"',
                f"{line!r}, where the id is not inside the tag",
                'write it as <h1 id="dynamic-content"></h1>',
                ctx.rel(page.path),
                stray,
            )
        raise Failed(
            'an element with id="dynamic-content"',
            "none" + steps.template_hint(ctx, site),
            'add <h1 id="dynamic-content"></h1> to the page',
            ctx.rel(page.path),
        )
    if element.tag != "h1":
        raise Failed(
            '<h1 id="dynamic-content">',
            f'<{element.tag} id="dynamic-content">',
            "make it an h1, as the statement says",
            ctx.rel(page.path),
            element.line,
            warning=True,
        )
    return f'<h1 id="dynamic-content"> (line {element.line})'


@check("the page's script fetches http://localhost:5252/api/hello", needs=("site_files",))
def script_fetches_the_api(ctx: Context) -> str:
    return fetches(
        ctx,
        lambda url: url.rstrip("/").endswith(
            ("localhost:5252/api/hello", "127.0.0.1:5252/api/hello")
        ),
        "http://localhost:5252/api/hello",
    )


def fetches(ctx: Context, wanted: object, expected: str) -> str:
    site = ctx.folder / "front-end" / steps.SITE
    page = files.read_page(site)
    assert page is not None
    urls = files.fetched_urls(page)
    for path, line, url in urls:
        if callable(wanted) and wanted(url):
            return f"{ctx.rel(path)}:{line} fetches {url}"
    if urls:
        path, line, url = urls[0]
        raise Failed(
            f"a fetch of {expected}", url, f"fetch {expected} instead", ctx.rel(path), line
        )
    raise Failed(
        f"a script fetching {expected}",
        "no script names /api/hello" + steps.template_hint(ctx, site),
        f"add a script that fetches {expected} and sets #dynamic-content's text",
        ctx.rel(page.path),
    )


@check("the front-end copies the site and its config as in task2", needs=("task2_layout",))
def front_end_copies(ctx: Context) -> str:
    dockerfile = ctx.folder / "front-end/Dockerfile"
    steps.copied_to(ctx, dockerfile, steps.SITE, SITE_ROOT)
    return steps.copied_to(ctx, dockerfile, "softy-pinko-front-end.conf", CONFIG)


# The back-end and the front-end are task2's, and are built and served as task2's are.
check(
    "the back-end builds",
    needs=("task2_layout",),
    runs_containers=True,
    task="task3",
    name="back_end_builds",
)(task2.back_end_builds)
check(
    "the back-end answers GET /api/hello on 5252",
    needs=("back_end_builds",),
    runs_containers=True,
    task="task3",
    name="back_end_answers_hello_world",
)(task2.back_end_answers_hello_world)


@check(
    "the back-end's answer carries CORS headers for the page's origin",
    needs=("back_end_answers_hello_world",),
    runs_containers=True,
)
def back_end_allows_the_page_s_origin(ctx: Context) -> str:
    url = f"http://127.0.0.1:{ctx.state['port:back-end']}/api/hello"
    said = probes.get(url, headers={"Origin": ORIGIN})
    allowed = said.headers.get("access-control-allow-origin")
    if allowed not in ("*", ORIGIN):
        raise Failed(
            f"Access-Control-Allow-Origin: * or {ORIGIN}",
            f"{allowed!r}",
            "install flask-cors and apply CORS(app) in api.py",
            f"{ctx.task}/back-end/api.py",
        )
    return f"Access-Control-Allow-Origin: {allowed}"


check(
    "the front-end builds",
    needs=("task2_layout", "site_files"),
    runs_containers=True,
    task="task3",
    name="front_end_builds",
)(task2.front_end_builds)
check(
    "the front-end serves the page on 9000",
    needs=("front_end_builds",),
    runs_containers=True,
    task="task3",
    name="page_served_on_9000",
)(task2.page_served_on_9000)


@check(
    "in a browser, the page shows the back-end's answer in #dynamic-content",
    needs=("back_end_answers_hello_world", "page_served_on_9000"),
    runs_containers=True,
)
def page_shows_the_api_s_answer(ctx: Context) -> str:
    ports = {9000: ctx.state["port:front-end"], 5252: ctx.state["port:back-end"]}
    site = ctx.folder / "front-end" / steps.SITE
    return steps.page_shows(ctx, "http://localhost:9000/", ports, steps.GREETING, site)
