"""task1: a copy of task0 that serves Flask: `task1/Dockerfile` and `task1/api.py` at its root.

docker build -f ./Dockerfile -t softy-pinko:task1 .          (in task1/)
docker run -p 5252:5252 -it --rm --name softy-pinko-task1 softy-pinko:task1
curl http://localhost:5252/api/hello                          -> Hello, World!
"""

from __future__ import annotations

from softy_pinko_docker.check import running, steps
from softy_pinko_docker.check.registry import UNJUDGED, Context, check

# The statement's words each check comes from (docs/check.md's table), and when it only warns.
STATEMENT = {
    "files_at_the_task_root": (
        "make a copy of your task0 directory and name it task1; create a Python file named api.py",
        "",
    ),
    "based_on_latest_ubuntu": (
        "(task0's) Is based on the latest ubuntu",
        "a release named by its number that may be the latest (ubuntu:24.04)",
    ),
    "updates_and_upgrades_apt": (
        "(task0's) apt-get update, apt-get upgrade -y: task1 starts from them",
        "always: task1's own steps are the installs",
    ),
    "python_and_pip_from_apt": (
        "Install python3, python3-pip ... with the -y flag for apt-get",
        "",
    ),
    "flask_installed_with_pip3": ("flask must be installed with pip3, not through apt-get", ""),
    "works_in_app": (
        "use /app as the working directory and copy the Python file to your Docker image",
        "",
    ),
    "builds": ("docker build -f ./Dockerfile -t softy-pinko:task1 .", UNJUDGED),
    "answers_hello_world_on_5252": (
        "one endpoint that returns “Hello, World!”; Host this Flask app on port 5252",
        "",
    ),
}


@check("task1/Dockerfile and task1/api.py, at the task's root")
def files_at_the_task_root(ctx: Context) -> str:
    steps.require_dockerfile(ctx, "Dockerfile", "the Dockerfile")
    steps.require_file(ctx, "api.py", "the API")
    return "task1/Dockerfile, task1/api.py"


@check("it is based on the latest Ubuntu, as task0", needs=(files_at_the_task_root,))
def based_on_latest_ubuntu(ctx: Context) -> str:
    return steps.from_latest(ctx, ctx.folder / "Dockerfile", "ubuntu", "the latest Ubuntu")


@check(
    "it runs apt-get update and apt-get upgrade -y, as task0 (task1 starts from it; its own "
    "steps are the installs)",
    needs=(files_at_the_task_root,),
    advisory=True,
)
def updates_and_upgrades_apt(ctx: Context) -> str:
    return steps.apt_update_upgrade(ctx, ctx.folder / "Dockerfile")


@check("Python 3 and pip3 are installed with APT", needs=(files_at_the_task_root,))
def python_and_pip_from_apt(ctx: Context) -> str:
    return steps.python_from_apt(ctx, ctx.folder / "Dockerfile")


@check("Flask is installed with pip3, not with apt-get", needs=(files_at_the_task_root,))
def flask_installed_with_pip3(ctx: Context) -> str:
    return steps.pip_installs(ctx, ctx.folder / "Dockerfile", "flask")


@check("the working directory is /app, and api.py is copied there", needs=(files_at_the_task_root,))
def works_in_app(ctx: Context) -> str:
    return steps.workdir_app(ctx, ctx.folder / "Dockerfile")


@check(
    "it builds with `docker build -f ./Dockerfile -t softy-pinko:task1 .`",
    needs=(files_at_the_task_root,),
    runs_containers=True,
)
def builds(ctx: Context) -> str:
    return f"built in {running.build(ctx, '', 'api').seconds:.0f}s"


@check("GET /api/hello on port 5252 answers `Hello, World!`", needs=(builds,), runs_containers=True)
def answers_hello_world_on_5252(ctx: Context) -> str:
    running.serve(ctx, "api", 5252)
    api = f"{ctx.task}/api.py"
    said = running.answer(ctx, "api", "/api/hello", 5252, api)
    return running.greeting(said, "GET /api/hello", api)
