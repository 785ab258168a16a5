"""The front-end's files: the site's folder (a plain folder, a submodule, or what the Dockerfile
copies), the page's element and the URLs its script fetches, and the Nginx config that serves it,
read as Nginx reads it. What the browser then shows is `running.page_shows`'."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from softy_pinko_docker.check import files, nginx, steps
from softy_pinko_docker.check.registry import Context, Failed, quoted, unsure

SITE = "softy-pinko-front-end"
SITE_ROOT = "/var/www/html/softy-pinko-front-end"
CONFIG = "/etc/nginx/conf.d/default.conf"
FRONT_END_CONF = "softy-pinko-front-end.conf"


def copied_site(ctx: Context, front_end: Path) -> tuple[Path, int] | None:
    """The folder of the build context that the front-end's Dockerfile copies to the site's
    root, and the line, when it holds an index.html (`COPY . /var/www/html/…` copies the
    context itself)."""
    dockerfile = front_end / "Dockerfile"
    if not dockerfile.is_file():
        return None
    try:
        found = steps.copies(steps.read_dockerfile(ctx, dockerfile))
    except Failed:
        return None
    for sources, destination, line in found:
        if destination.rstrip("/") != SITE_ROOT:
            continue
        for source in sources:
            folder = (front_end / source).resolve()
            inside = folder.is_relative_to(ctx.root.resolve())
            if inside and (folder / "index.html").is_file():
                return folder, line
    return None


def site_copied(ctx: Context, front_end: Path) -> str:
    """The site's files reach the site's root: softy-pinko-front-end/ copied there, or the
    folder that holds the page (the context itself, `COPY . /var/www/html/…`)."""
    dockerfile = front_end / "Dockerfile"
    try:
        return steps.copied_to(ctx, dockerfile, SITE, SITE_ROOT)
    except Failed:
        copied = copied_site(ctx, front_end)
        if copied is None:
            raise
        where = ctx.rel(copied[0]) if copied[0] != ctx.root else "."
        return f"line {copied[1]}: {where}/ (the page's folder) -> {SITE_ROOT}"


def _copies_of(ctx: Context, front_end: Path) -> list[tuple[list[str], str, int]]:
    try:
        return steps.copies(steps.read_dockerfile(ctx, front_end / "Dockerfile"))
    except (Failed, OSError):
        return []


def find_site(ctx: Context, front_end: Path) -> Path | None:
    """Where the page the front-end serves is, if anywhere: `softy-pinko-front-end/`, or the
    folder the Dockerfile copies to the site's root."""
    folder = front_end / SITE
    if (folder / "index.html").is_file():
        return folder
    copied = copied_site(ctx, front_end)
    return copied[0] if copied else None


def site_files(ctx: Context, front_end: Path) -> str:
    """The site's index.html is in the repository, where the Dockerfile copies it from."""
    folder = front_end / SITE
    rel = ctx.rel(folder)
    if (folder / "index.html").is_file():
        return f"{rel}/index.html"
    copied = copied_site(ctx, front_end)
    if copied is not None:
        where = ctx.rel(copied[0]) if copied[0] != ctx.root else "."
        raise Failed(
            f"the site's files in {rel}/",
            f"the page in {where}/, which {ctx.rel(front_end / 'Dockerfile')} copies to "
            f"{SITE_ROOT} (line {copied[1]}): it is served all the same",
            f"nothing to change for the page; the statement keeps the site in {rel}/",
            ctx.rel(front_end / "Dockerfile"),
            copied[1],
            warning=True,
        )
    raise _no_site(ctx, folder)


def _no_site(ctx: Context, folder: Path) -> Failed:
    rel = ctx.rel(folder)
    sub = next((s for s in files.submodules(ctx.original) if s.path == rel), None)
    empty = not folder.is_dir() or not any(folder.iterdir())
    if sub is not None and empty and not sub.url:
        return Failed(
            f"the site's files in {rel}/",
            f"a submodule (commit {sub.commit[:7]}) that .gitmodules does not list: no clone "
            "can check it out, so the folder is empty for everyone",
            f"commit the files themselves: git rm --cached {rel}, copy the site in, git add {rel}",
            rel,
        )
    if sub is not None and empty:
        return unsure(
            f"the site is the submodule {sub.url} at {sub.commit[:7]}, which is not checked out "
            "here: the page could not be judged",
            "check a clone made with --recurse-submodules (or run git submodule update --init "
            "first)",
            rel,
            blocks=True,
        )
    if folder.is_dir():
        near = files.near_names(folder, "index.html")
        found = f"{ctx.rel(near[0])}, not index.html" if near else "no index.html in it"
        return Failed(f"{rel}/index.html", found, f"put the site's index.html in {rel}/", rel)
    others = [p for p in folder.parent.iterdir() if p.is_dir()] if folder.parent.is_dir() else []
    near = [p for p in others if p.name.lower().replace("_", "-") in (SITE, SITE.replace("-", ""))]
    if near:
        fix = steps.rename_fix(ctx, near[0], folder)
        return Failed(f"the site's folder {rel}/", f"{ctx.rel(near[0])}/", fix, ctx.rel(near[0]))
    return Failed(
        f"the site's files in {rel}/",
        "no such folder",
        f"put the site there (git clone https://github.com/atlas-school/{SITE} {rel}, then "
        "commit its files)",
        ctx.rel(folder.parent),
    )


def template_hint(ctx: Context, site: Path) -> str:
    """Where the page is a submodule that is not the learner's own: why edits may be missing."""
    rel = ctx.rel(site)
    sub = next((s for s in files.submodules(ctx.original) if s.path == rel), None)
    owner = files.origin_owner(ctx.original)
    if sub is not None and sub.url and owner and f"/{owner}/" not in sub.url.lower():
        return (
            f"; {rel} is a submodule of {sub.url} at {sub.commit[:7]}: edits made inside it "
            "were never committed to this repository"
        )
    return ""


# --- the page ------------------------------------------------------------------------------------
def read_page(ctx: Context, front_end: Path) -> files.Page:
    site = find_site(ctx, front_end)
    page = files.read_page(site) if site is not None else None
    if page is None:  # the check this one needs passed: the page is there
        raise Failed("the site's index.html", "none", f"put it in {ctx.rel(front_end / SITE)}/")
    return page


def has_dynamic_content(ctx: Context, front_end: Path) -> str:
    page = read_page(ctx, front_end)
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
        if stray is not None:  # e.g. <h1>id="dynamic-content"></h1>: the id is text
            line = text.splitlines()[stray - 1].strip()[:80]
            raise Failed(
                'an element with id="dynamic-content"',
                f"{quoted(line)}, where the id is not inside the tag",
                'write it as <h1 id="dynamic-content"></h1>',
                ctx.rel(page.path),
                stray,
            )
        raise Failed(
            'an element with id="dynamic-content"',
            "none" + template_hint(ctx, page.path.parent) + _edited_elsewhere(ctx, front_end, page),
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


def _edited_elsewhere(ctx: Context, front_end: Path, page: files.Page) -> str:
    """Another page of the front-end's folder that has the element: edited, never served."""
    for other in sorted(front_end.rglob("*.html")):
        text = other.read_bytes().decode(errors="replace")
        if other != page.path and re.search(r"id=[\"']dynamic-content", text):
            return (
                f"; {ctx.rel(other)} has one, but the page the front-end serves is "
                f"{ctx.rel(page.path)}"
            )
    return ""


def fetches(
    ctx: Context, front_end: Path, wanted: Callable[[str], str | None], expected: str
) -> str:
    """The page's script names `expected`: `wanted(url)` is "ok", or a warning's reason, or None
    for a URL that is not it. A script that builds the URL from parts is judged by running it."""
    page = read_page(ctx, front_end)
    urls = files.fetched_urls(page)
    for fetch in urls:
        verdict = "ok" if fetch.composed else wanted(fetch.url)
        where = f"{ctx.rel(fetch.path)}:{fetch.line}"
        if verdict == "ok" and fetch.composed:
            return f"{where} fetches a URL built from parts, ending {fetch.url} (run in a browser)"
        if verdict == "ok":
            return f"{where} fetches {fetch.url}"
        if verdict:
            raise Failed(
                f"a fetch of {expected}",
                fetch.url,
                f"fetch {expected}: {verdict}",
                ctx.rel(fetch.path),
                fetch.line,
                warning=True,
            )
    if urls:
        first = urls[0]
        raise Failed(
            f"a fetch of {expected}",
            first.url,
            f"fetch {expected} instead",
            ctx.rel(first.path),
            first.line,
        )
    raise Failed(
        f"a script fetching {expected}",
        "no script names /api/hello" + template_hint(ctx, page.path.parent),
        f"add a script that fetches {expected} and sets #dynamic-content's text",
        ctx.rel(page.path),
    )


def direct_api(url: str) -> str | None:
    """task3 and task4: the page calls the back-end on the host's 5252."""
    if re.match(r"^https?://(localhost|127\.0\.0\.1):5252/api/hello/?$", url):
        return "ok"
    return None


def relative_api(url: str) -> str | None:
    """task5 on: the page calls /api/hello on the page's own host, through the proxy."""
    if url.startswith("/api/hello"):
        return "ok"
    if re.match(r"^https?://(localhost|127\.0\.0\.1)(:80)?/api/hello", url):
        return (
            "it works only where the page is opened as http://localhost; the relative URL "
            "works wherever the proxy runs"
        )
    return None


# --- the Nginx config that serves it --------------------------------------------------------------
def read_config(ctx: Context, conf: Path) -> list[nginx.Directive]:
    try:
        return nginx.read(conf)
    except nginx.NotRead as error:
        raise Failed(
            "a config Nginx can read",
            str(error),
            "fix that line (each directive ends with ;, each { has its })",
            ctx.rel(conf),
            error.line,
        ) from None


def serves_the_site(ctx: Context, conf: Path, port: int | None = None) -> str:
    """The config's server answers / with the index.html of the folder the site is copied to."""
    directives = read_config(ctx, conf)
    rel = ctx.rel(conf)
    servers = nginx.servers(directives)
    if not servers:
        raise Failed("a server { … } block", "none", "add a server block listening on 9000", rel)
    server = nginx.server_on(directives, port) if port else None
    server = server or nginx.server_on(directives, 9000) or servers[0]
    location = nginx.location_for(server, "/")
    root = nginx.root_for(server, location)
    if root is None:
        raise Failed(
            f"root {SITE_ROOT}; for location /",
            "no root or alias",
            f"add root {SITE_ROOT}; to the server block",
            rel,
            server.line,
        )
    kind, path, line = root
    # The statement's root, or where this Dockerfile copies the site (a wrong COPY is the
    # Dockerfile's to fix: site_copied says so, and a config that follows it is not blamed).
    copied = {d for s, d, _ in _copies_of(ctx, conf.parent) if SITE in s or "." in s}
    if path.rstrip("/") not in {SITE_ROOT, *copied}:
        where = f"/ is served from {path}, where the site is not (it is copied to {SITE_ROOT})"
        raise Failed(f"{kind} {SITE_ROOT};", where, f"{kind} {SITE_ROOT};", rel, line)
    index = nginx.index_names(server, location)
    if "index.html" not in index and "$uri" not in " ".join(index):
        raise Failed("index index.html;", f"index {' '.join(index)}", "index index.html;", rel)
    return f"{kind} {path} (line {line}), index {' '.join(index)}"
