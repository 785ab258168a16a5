"""The checks that build and run: an image built from a learner's Dockerfile unchanged, a build's
failure traced to its cause (the learner's step, or the offline stand-in that could not answer),
`nginx -t` in a learner's Nginx image, a server's answer waited on only while it can still come,
and the page in a real browser."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from softy_pinko_docker import dockerfiles
from softy_pinko_docker.baseimages import STANDIN_LABEL
from softy_pinko_docker.baseimages.standins import image_labels
from softy_pinko_docker.check import probes, site, steps
from softy_pinko_docker.check.registry import Context, Failed, quoted, unsure
from softy_pinko_docker.check.sandbox import Build, NotStarted
from softy_pinko_docker.docker import Container, run

WAIT = 60.0  # seconds a server may take to answer at all


# --- builds ------------------------------------------------------------------------------------
def build(ctx: Context, context_rel: str, name: str) -> Build:
    """Build `<task>/<context_rel>/Dockerfile` as the curriculum's command does; a failure says
    why, at the Dockerfile's line."""
    context = ctx.folder / context_rel if context_rel else ctx.folder
    dockerfile = context / "Dockerfile"
    built: Build = ctx.sandbox.build(context, dockerfile, ctx.sandbox.tag(ctx.task, name))
    ctx.images[name] = built.tag
    ctx.logs[name] = built.log
    if not built.ok:
        raise build_failure(ctx, dockerfile, built)
    return built


PEP_668_FIX = (
    "do what the statement says for this error: RUN rm /usr/lib/python*/EXTERNALLY-MANAGED "
    "before pip3 install (or pip3 install --break-system-packages flask, or install into a "
    "venv: python3 -m venv /opt/venv && /opt/venv/bin/pip install flask)"
)


def build_failure(ctx: Context, dockerfile: Path, built: Build) -> Failed:
    """Why a build failed, at the Dockerfile's line: the learner's step, or this machine (a
    base it could not get, a name its offline stand-in does not answer to), which is never
    the learner's to fix."""
    rel = ctx.rel(dockerfile)
    if built.refused:
        return _refused(ctx, dockerfile, built.refused)
    if built.missing_base:
        return unsure(
            f"the base {built.missing_base} could be neither pulled nor stood in for "
            f"here: {built.log}",
            f"check FROM {built.missing_base} is an official image",
            rel,
            blocks=True,
        )
    log, line = built.log, failed_line(ctx, dockerfile, built.log)
    offline = offline_cause(dockerfile, log)
    if offline:
        return unsure(
            offline,
            "run the checker where Docker Hub and PyPI are reachable to judge this build",
            rel,
            line,
            blocks=True,
        )
    if "externally-managed-environment" in log:
        return Failed(
            "pip3 install to succeed",
            "pip3 refused: the latest Ubuntu's Python is externally managed (PEP 668)",
            PEP_668_FIX,
            rel,
            line,
        )
    if "did not finish in" in log:
        fix = "find the step that waits (an interactive prompt, a download)"
        return Failed("the image to build", log, fix, rel, line)
    errors = [ln for ln in log.splitlines() if re.search(r"error|E: |not found|failed", ln, re.I)]
    said = (errors or log.strip().splitlines() or ["no output"])[-1].strip()[:300]
    return Failed(
        "the image to build",
        f"the build failed: {said}",
        f"run docker build in {ctx.rel(dockerfile.parent)} and fix that step",
        rel,
        line,
        details=log[-4000:],
    )


def _refused(ctx: Context, dockerfile: Path, url: str) -> Failed:
    line = next(
        (
            i.line
            for i in steps.read_dockerfile(ctx, dockerfile)
            if i.keyword == "ADD" and url in i.value
        ),
        None,
    )
    return Failed(
        "no ADD of a URL (the engine would fetch it from the host's network)",
        f"ADD {url}",
        "download it in a RUN step, or COPY the file",
        ctx.rel(dockerfile),
        line,
    )


def failed_line(ctx: Context, dockerfile: Path, log: str) -> int | None:
    """The Dockerfile line of the step the legacy builder stopped at (`Step 5/9 : RUN …`)."""
    found = re.findall(r"^Step (\d+)/\d+ : (.*)$", log, re.M)
    if not found:  # BuildKit names the line itself
        line = re.findall(r"Dockerfile:(\d+)\s*$", log, re.M)
        return int(line[-1]) if line else None
    listed = steps.read_dockerfile(ctx, dockerfile)
    number = int(found[-1][0])
    return listed[number - 1].line if 0 < number <= len(listed) else None


def offline_cause(dockerfile: Path, log: str) -> str:
    """Why a build failed because of this machine, not the learner: a wheel the offline
    wheelhouse lacks, or, on an offline stand-in of the base, a package it does not have under
    Ubuntu's name, a PPA, or Ubuntu 24.04's Python 3.12 files (the stand-in's Python is
    Debian's 3.13). "" when neither."""
    missing = re.search(r"No matching distribution found for (\S+)", log)
    if missing:
        return (
            f"pip could not find {missing.group(1)}: this machine installs from an offline "
            "wheelhouse, which lacks it"
        )
    text = dockerfile.read_bytes().decode(errors="replace")
    try:
        heredocs = any(i.heredocs for i in dockerfiles.parse(text))
    except dockerfiles.Unreadable:
        heredocs = False
    if heredocs and engine_major() < 23:  # 23's BuildKit builds them, 20.10's cannot offline
        return (
            "the Dockerfile has heredocs (<<EOF), which this machine's Docker Engine cannot "
            "build without pulling a Dockerfile frontend from a registry"
        )
    stand_ins = [
        b
        for b in dockerfiles.bases_of(text)
        if (image_labels(b) or {}).get(STANDIN_LABEL) == "true"
    ]
    if not stand_ins:
        return ""
    stand_in = f"{stand_ins[0]}'s offline stand-in (Debian's packages under Ubuntu's names)"
    package = re.search(r"E: (?:Unable to locate package |Package '?)([\w.+-]+)", log)
    if package:
        return f"APT found no package {package.group(1)} in {stand_in}; the real image may have it"
    if "cannot reach Ubuntu PPAs" in log:
        return f"{stand_in} cannot reach Ubuntu's PPAs"
    if re.search(r"python3\.12", text) and re.search(r"python3\.12|externally-managed", log):
        return (
            f"this step names Ubuntu 24.04's Python 3.12, and {stand_in} has Debian's Python 3.13"
        )
    return ""


# --- nginx -t ------------------------------------------------------------------------------------
def nginx_accepts(ctx: Context, image: str, sources: dict[str, str], hosts: list[str]) -> str:
    """`nginx -t` in the learner's own image: every directive known and in its place, every
    host it proxies to resolvable (`hosts`, the stack's service names, are). `sources` maps a
    path in the image (/etc/nginx/conf.d/default.conf) to the learner's file copied there."""
    said = ctx.sandbox.run_command(image, ["nginx", "-t"], hosts)
    output = (said.stdout + said.stderr).strip()
    if said.returncode == 0:
        return "nginx -t: the configuration is ok"
    emerg = next(
        (ln for ln in output.splitlines() if "[emerg]" in ln),
        output.splitlines()[-1] if output else "no output",
    )
    where = re.search(r" in (/\S+?):(\d+)$", emerg)
    reason = re.sub(r"^.*?\[emerg\] \d+#\d+: ", "", emerg)
    file, line = None, None
    if where:
        file, line = sources.get(where.group(1)), int(where.group(2))
        reason = reason.replace(where.group(0), f" in {file or where.group(1)}:{line}")
    return _nginx_refuses(reason, file, line, hosts)


def _nginx_refuses(reason: str, file: str | None, line: int | None, hosts: list[str]) -> str:
    unknown_host = re.search(r'host not found in upstream "([^":]+)', reason)
    fix = "fix that line: Nginx starts only with a configuration it accepts"
    if unknown_host and hosts:
        fix = (
            f"proxy to a name the stack resolves: its services are {', '.join(hosts)} (a "
            "service's name is its host name on the stack's network)"
        )
    elif unknown_host:
        fix = (
            f"serve the site only: this task runs the image alone (docker run), where "
            f"{unknown_host.group(1)} is no host's name, and Nginx stops at a host it "
            "cannot resolve"
        )
    raise Failed("a configuration Nginx accepts (nginx -t)", reason, fix, file, line)


# --- servers ---------------------------------------------------------------------------------
def serve(ctx: Context, name: str, port: int) -> tuple[Container, int]:
    """Start the image built as `name` with `port` published; (container, host port)."""
    try:
        started = ctx.sandbox.start(ctx.task, ctx.images[name], port, name)
    except NotStarted as error:
        raise Failed(
            "the container to start",
            str(error),
            "fix the image's CMD: `docker run` of the image says the same",
        ) from None
    host_port = (started.ports.get(f"{port}/tcp") or [0])[0]
    ctx.ports[name] = host_port
    ctx.servers[name] = started
    return started, host_port


def answer(ctx: Context, name: str, path: str, port: int, api: str | None = None) -> probes.Answer:
    """The answer of `path` on the server started as `name`, waited on only while one can
    still come: not once the container has exited, or its log says it listens elsewhere."""
    container: Container = ctx.servers[name]
    url = f"http://127.0.0.1:{ctx.ports[name]}{path}"

    def decided() -> str | None:
        return probes.exited([container]) or probes.listens_elsewhere(container, port)

    said = probes.wait_answer(url, WAIT, decided)
    if isinstance(said, str):
        fix = "run the container and read its log (docker logs)"
        if "listens on" in said and api:
            fix = f"serve on 0.0.0.0:{port}: app.run(host='0.0.0.0', port={port}) in {api}"
        elif "exited (code 0)" in said:  # its command ran and ended: it was not the server
            fix = 'make the image\'s command start the server: CMD ["python3", "api.py"]'
            if api is None:
                fix = "make the image's command start the server, in the foreground"
        raise Failed(f"an answer on port {port} to GET {path}", said, fix, api)
    return said


def greeting(said: probes.Answer, where: str, fix_file: str | None = None) -> str:
    if said.status != 200 or said.body.strip() != steps.GREETING:
        raise Failed(
            f"200 {quoted(steps.GREETING)} from {where}",
            f"{said.status} {steps.greeting_text(said.body)}",
            f"return exactly {quoted(steps.GREETING)} from the /api/hello route",
            fix_file,
        )
    return f"{where}: {said.status} {quoted(steps.GREETING)}"


def page_answer(said: probes.Answer, conf: str, site_folder: str) -> str:
    """GET / answered with the site's page; a 403 or 404 is Nginx finding no index.html where
    the config's root points: the site's folder, or the root, is the cause."""
    if said.status == 200 and "<html" in said.body.lower():
        return f"GET /: {said.status}, the site's page"
    if said.status in (403, 404):
        raise Failed(
            "200 and the site's index.html on GET /",
            f"{said.status}: Nginx found no index.html to serve",
            f"put the site's files in {site_folder}/ and serve that folder with root "
            f"{site.SITE_ROOT}; in {conf}",
            site_folder,
        )
    raise Failed(
        "200 and the site's index.html on GET /",
        f"{said.status} {steps.greeting_text(said.body[:80])}",
        f"serve the site from {conf}: root {site.SITE_ROOT}; index index.html;",
        conf,
    )


# --- the page in a browser -----------------------------------------------------------------------
def page_shows(
    ctx: Context, url: str, ports: dict[int, int], expected: str, front_end: Path
) -> str:
    """In a real browser, `url`'s #dynamic-content comes to read `expected`."""
    page = site.read_page(ctx, front_end)
    view = probes.page_text(ctx.sandbox.browser(), url, ports, "#dynamic-content", expected, 15)
    if view.text == expected:
        return f"#dynamic-content reads {quoted(expected)} in Chromium"
    telling = [m for m in view.console if re.search(r"api/hello|CORS|fetch", m, re.I)]
    said = f"; the page's console: {(telling or view.console)[-1][:200]}" if view.console else ""
    found = "no #dynamic-content element" if view.text is None else quoted(view.text[:80])
    raise Failed(
        f"#dynamic-content to read {quoted(expected)}",
        found + said + site.template_hint(ctx, page.path.parent),
        "open the page with the browser's console: the script must fetch the API and "
        "set the element's text",
        ctx.rel(page.path),
    )


@functools.cache
def engine_major() -> int:
    """The Docker Engine's major version (20 here, 28 on GitHub's runners)."""
    said = run(["docker", "version", "--format", "{{.Server.Version}}"], check=False, timeout=30)
    found = re.match(r"(\d+)", said.stdout.strip())
    return int(found.group(1)) if found else 0
