"""task0: an Ubuntu image that updates and upgrades APT and prints `Hello, World!`.

docker build -f ./Dockerfile -t softy-pinko:task0 .          (in task0/)
docker run -it --rm --name softy-pinko-task0 softy-pinko:task0
"""

from __future__ import annotations

import re

from softy_pinko_docker import dockerfiles
from softy_pinko_docker.check import running, steps
from softy_pinko_docker.check.registry import UNJUDGED, Context, Failed, check, quoted
from softy_pinko_docker.check.sandbox import RUN_TIMEOUT
from softy_pinko_docker.docker import TimedOut

# The statement's words each check comes from (docs/check.md's table), and when it only warns.
STATEMENT = {
    "dockerfile_exists": ("Create a Dockerfile (Directory: task0)", ""),
    "based_on_latest_ubuntu": (
        "Is based on the latest ubuntu",
        "a release named by its number that may be the latest (ubuntu:24.04)",
    ),
    "updates_and_upgrades_apt": (
        "Update APT using apt-get update; Upgrade ... using apt-get upgrade -y",
        "",
    ),
    "builds": ("docker build -f ./Dockerfile -t softy-pinko:task0 .", UNJUDGED),
    "prints_hello_world": ("it will echo “Hello, World!” on the terminal", ""),
}


@check("task0/Dockerfile exists, and Docker can read it")
def dockerfile_exists(ctx: Context) -> str:
    return ctx.rel(steps.require_dockerfile(ctx, "Dockerfile", "the Dockerfile"))


@check("the image is based on the latest Ubuntu", needs=(dockerfile_exists,))
def based_on_latest_ubuntu(ctx: Context) -> str:
    return steps.from_latest(ctx, ctx.folder / "Dockerfile", "ubuntu", "the latest Ubuntu")


@check("it runs apt-get update and apt-get upgrade -y", needs=(dockerfile_exists,))
def updates_and_upgrades_apt(ctx: Context) -> str:
    return steps.apt_update_upgrade(ctx, ctx.folder / "Dockerfile")


@check(
    "it builds with `docker build -f ./Dockerfile -t softy-pinko:task0 .`",
    needs=(dockerfile_exists,),
    runs_containers=True,
)
def builds(ctx: Context) -> str:
    return f"built in {running.build(ctx, '', 'task0').seconds:.0f}s"


@check("running it prints exactly `Hello, World!`", needs=(builds,), runs_containers=True)
def prints_hello_world(ctx: Context) -> str:
    rel = f"{ctx.task}/Dockerfile"
    try:
        said = ctx.sandbox.run_to_end(ctx.images["task0"])
    except TimedOut:
        raise Failed(
            f"the container to print {quoted(steps.GREETING)} and end",
            f"it still ran after {RUN_TIMEOUT:.0f}s",
            'make its command print and end: CMD ["echo", "Hello, World!"]',
            rel,
        ) from None
    printed = said.stdout.replace("\r\n", "\n").strip("\n")
    if printed == steps.GREETING:
        return f"printed {quoted(printed)}"
    if not printed and greets_while_building(ctx):
        raise Failed(
            f"{quoted(steps.GREETING)} when the container runs",
            "it is printed while the image builds",
            'print it from CMD, not RUN: CMD ["echo", "Hello, World!"]',
            rel,
        )
    exited = f" (exit {said.returncode}: {why_not(said.stderr)})" if said.returncode else ""
    raise Failed(
        quoted(steps.GREETING),
        steps.greeting_text(printed[:120]) + exited,
        'make the container print exactly that: CMD ["echo", "Hello, World!"]',
        rel,
    )


def greets_while_building(ctx: Context) -> bool:
    """A RUN step prints the greeting: the build printed it, or would have, since a step the
    engine took from its cache prints nothing the second time (dockerfile_exists, which this
    check needs through builds, has read the file)."""
    if steps.GREETING in build_output(ctx.logs.get("task0", "")):
        return True
    return any(
        i.keyword == "RUN" and steps.GREETING in " ".join((i.value, *i.heredocs))
        for i in dockerfiles.read(ctx.folder / "Dockerfile")
    )


def build_output(log: str) -> str:
    """What a build's steps printed, without the builder's own lines (`Step 4/4 : CMD [...]`
    names the instruction, `---> 1a2b` the layer): a CMD's text is not printed by a build."""
    return "\n".join(
        line
        for line in log.splitlines()
        if not re.match(r"^(Step \d+/\d+ : | ---> |Removing intermediate|Successfully )", line)
        and not re.match(r"^#\d+ \[", line)  # BuildKit's step headers
    )


def why_not(stderr: str) -> str:
    """Why a container did not run its command, as the engine says it, in a line."""
    missing = re.search(r'exec: "([^"]+)": executable file not found', stderr)
    if missing:
        return (
            f"the image has no program named {quoted(missing.group(1))}: the exec form runs its "
            "first string as the program, each other string one argument"
        )
    lines = [ln.strip() for ln in stderr.strip().splitlines() if ln.strip()]
    return (lines or ["no message"])[-1][:160]
