"""`make check` on this repository, and on copies of its tasks with one defect each.

This repository passes every check. Each defect below is made by the test in a copy of this
repository's tasks, and is caught by the check named for it, with its message, while every
other task of the copy still passes. A Compose file asking for what reaches the host is refused
before anything is built; a run stopped mid-build leaves the engine as it found it.
Defects that only the files show are checked with --files-only (nothing is built); the others
build on the cached layers of this repository's images, narrowed to the task they touch.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from softy_pinko_docker.__main__ import SUBCOMMANDS
from softy_pinko_docker.check import TASKS
from softy_pinko_docker.check.__main__ import main
from softy_pinko_docker.docker import docker, poll, run
from support import REPO, checker, mistakes, screenshot

pytestmark = pytest.mark.docker


def copy_of(tmp_path: Path, tasks: list[str] = TASKS) -> Path:
    root = tmp_path / "learner"
    for task in tasks:
        shutil.copytree(REPO / task, root / task)
    return root


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"the defect cannot be made: {old!r} is not in {path}"
    path.write_text(text.replace(old, new, 1))


def check(root: Path, tasks: list[str], files_only: bool, output: Path) -> dict[str, dict]:
    _, said = checker(root, tasks, output, files_only)
    return {test["name"]: test for test in said["tests"]}


def engine_state() -> dict[str, set[str]]:
    """What a check may leave behind: containers, networks, volumes, tagged images."""
    return {
        "containers": set(docker("ps", "-aq").split()),
        "networks": set(docker("network", "ls", "-q").split()),
        "volumes": set(docker("volume", "ls", "-q").split()),
        "images": set(docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}").split())
        - {"<none>:<none>"},
    }


# --- this repository ---------------------------------------------------------------------------
@pytest.mark.browser
def test_this_repository_passes_every_check(tmp_path):
    before = engine_state()
    said = run(
        [sys.executable, "-m", "softy_pinko_docker.check", "--output", str(tmp_path), str(REPO)],
        timeout=900,
        check=False,
        cwd=REPO,
    )
    results = json.loads((tmp_path / "results.json").read_text())
    not_passed = [
        f"{t['name']}: {t['status']}: {t['message']}"
        for t in results["tests"]
        if t["status"] != "pass"
    ]
    assert not not_passed and said.returncode == 0, "\n".join(not_passed) or said.stderr
    assert {t["task_id"] for t in results["tests"]} == set(TASKS)
    assert (tmp_path / "junit.xml").read_text().count("<testcase") == len(results["tests"])
    assert engine_state() == before, "the check left something on the engine"


def test_task6_under_load_tells_a_learner_s_replicas_apart_without_a_header(tmp_path):
    """A learner's back-end names itself nowhere: the checker's Locust run counts each replica
    from the engine (here the access logs gunicorn writes), and judges the split even."""
    root = copy_of(tmp_path, ["task6"])
    edit(
        root / "task6/back-end/api.py",
        '        response.headers["X-Served-By"] = app.config["SERVED_BY"]\n',
        "",
    )
    said = check(root, ["task6"], False, tmp_path / "out")
    under_load = said["task6.even_under_load"]
    assert under_load["status"] == "pass", under_load
    assert "counted from the back-ends' access logs" in under_load["message"], under_load
    shares = [int(n) for n in re.findall(r": (\d+) \(", under_load["message"])]
    assert len(shares) == 2 and abs(shares[0] - shares[1]) <= 0.1 * sum(shares), under_load


# --- one defect at a time ------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Defect:
    task: str
    make: Callable[[Path], None]  # makes it in the copy's root
    check: str  # the check that catches it
    message: str  # a regular expression its message matches
    status: str = "fail"
    files_only: bool = True


def rename(old: str, new: str) -> Callable[[Path], None]:
    return lambda root: (root / old).rename(root / new)


def edits(rel: str, old: str, new: str) -> Callable[[Path], None]:
    return lambda root: edit(root / rel, old, new)


def writes(rel: str, text: str) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        (root / rel).write_text(text)

    return make


def moves_into_back_end(root: Path) -> None:
    (root / "task1/back-end").mkdir()
    for name in ("Dockerfile", "api.py"):
        (root / "task1" / name).rename(root / "task1/back-end" / name)


def submodule_left_empty(root: Path) -> None:
    site = root / "task2/front-end/softy-pinko-front-end"
    shutil.rmtree(site)
    site.mkdir()
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t"]
    run([*git, "init", "-q"])
    (root / ".gitmodules").write_text(
        '[submodule "site"]\n\tpath = task2/front-end/softy-pinko-front-end\n'
        "\turl = https://github.com/school/softy-pinko-front-end.git\n"
    )
    run(
        [
            *git,
            "update-index",
            "--add",
            "--cacheinfo",
            f"160000,{'a' * 40},task2/front-end/softy-pinko-front-end",
        ]
    )


def template_submodule_never_committed(root: Path) -> None:
    """The page is a submodule of the school's template, and the learner's page edits live
    only in their own checkout of it."""
    site = "task3/front-end/softy-pinko-front-end"
    edit(root / site / "index.html", 'id="dynamic-content"', 'id="greeting"')
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t"]
    run([*git, "init", "-q"])
    run(
        [
            *git,
            "remote",
            "add",
            "origin",
            "https://github.com/learner/holbertonschool-softy-pinko-docker.git",
        ]
    )
    (root / ".gitmodules").write_text(
        f'[submodule "site"]\n\tpath = {site}\n\turl = https://github.com/school/softy-pinko-front-end.git\n'
    )
    run([*git, "update-index", "--add", "--cacheinfo", f"160000,{'b' * 40},{site}"])


LEARNER_S_DOCKERFILE = """FROM ubuntu:latest
RUN apt-get update && apt-get upgrade -y
RUN apt-get install -y python3 python3-pip
RUN pip3 install flask
WORKDIR /app
COPY api.py /app/
CMD ["python3", "api.py"]
"""

DEFECTS = {
    "the Dockerfile misnamed": Defect(
        "task0",
        rename("task0/Dockerfile", "task0/DockerFile"),
        "dockerfile_exists",
        r"found task0/DockerFile.*git mv task0/DockerFile task0/Dockerfile",
    ),
    "an older Ubuntu": Defect(
        "task0",
        edits("task0/Dockerfile", "FROM ubuntu:latest", "FROM ubuntu:22.04"),
        "based_on_latest_ubuntu",
        r"found FROM ubuntu:22.04 \(an older release than the latest\)",
    ),
    "the CMD one string in the exec form": Defect(
        "task0",
        edits("task0/Dockerfile", 'CMD ["echo", "Hello, World!"]', 'CMD ["echo Hello, World!"]'),
        "prints_hello_world",
        r'the image has no program named "echo Hello, World!": the exec form runs its first',
        files_only=False,
    ),
    "the upgrade without -y": Defect(
        "task0",
        edits("task0/Dockerfile", "apt-get upgrade -y", "apt-get upgrade"),
        "updates_and_upgrades_apt",
        r"apt-get upgrade without -y",
    ),
    "the greeting misspelled": Defect(
        "task0",
        edits("task0/Dockerfile", '"Hello, World!"', '"Hello World!"'),
        "prints_hello_world",
        r'expected "Hello, World!", found "Hello World!"',
        files_only=False,
    ),
    "the greeting printed while building": Defect(
        "task0",
        edits("task0/Dockerfile", 'CMD ["echo", "Hello, World!"]', 'RUN echo "Hello, World!"'),
        "prints_hello_world",
        r"printed while the image builds",
        files_only=False,
    ),
    "task1's files in back-end/": Defect(
        "task1",
        moves_into_back_end,
        "files_at_the_task_root",
        r"found task1/back-end/Dockerfile.*git mv task1/back-end/Dockerfile task1/Dockerfile",
    ),
    "Flask from APT": Defect(
        "task1",
        writes(
            "task1/Dockerfile",
            LEARNER_S_DOCKERFILE.replace(
                "python3-pip\nRUN pip3 install flask", "python3-pip python3-flask"
            ),
        ),
        "flask_installed_with_pip3",
        r"found apt-get install python3-flask",
    ),
    "pip3 refused by the latest Ubuntu": Defect(
        "task1",
        writes("task1/Dockerfile", LEARNER_S_DOCKERFILE),
        "builds",
        r"pip3 refused: the latest Ubuntu's Python is externally managed",
        files_only=False,
    ),
    "another working directory": Defect(
        "task1",
        edits("task1/Dockerfile", "WORKDIR /app", "WORKDIR /code"),
        "works_in_app",
        r"expected WORKDIR /app, found WORKDIR /code",
    ),
    "Nginx misspelled": Defect(
        "task2",
        edits("task2/front-end/Dockerfile", "FROM nginx:latest", "FROM ngix:latest"),
        "front_end_based_on_latest_nginx",
        r"found FROM ngix:latest",
    ),
    "the site copied elsewhere": Defect(
        "task2",
        edits(
            "task2/front-end/Dockerfile",
            " /var/www/html/softy-pinko-front-end/",
            " /usr/share/nginx/html/",
        ),
        "site_copied",
        r"copied to /usr/share/nginx/html",
    ),
    "the site a submodule left empty: not judged": Defect(
        "task2",
        submodule_left_empty,
        "site_files",
        r"the submodule https://github.com/school/softy-pinko-front-end.git at aaaaaaa, which is "
        r"not checked out here: the page could not be judged.*git submodule update --init",
        status="warn",
    ),
    "the element not an h1 (a warning)": Defect(
        "task3",
        lambda root: [
            edit(root / "task3/front-end/softy-pinko-front-end/index.html", *pair)
            for pair in (
                ('<h1 id="dynamic-content"', '<p id="dynamic-content"'),
                ("Loading…</h1>", "Loading…</p>"),
            )
        ],
        "page_has_dynamic_content",
        r'found <p id="dynamic-content">',
        status="warn",
    ),
    "the element without its id": Defect(
        "task3",
        edits(
            "task3/front-end/softy-pinko-front-end/index.html",
            'id="dynamic-content"',
            'id="greeting"',
        ),
        "page_has_dynamic_content",
        r'expected an element with id="dynamic-content", found none',
    ),
    "the page a template submodule, edits never committed": Defect(
        "task3",
        template_submodule_never_committed,
        "page_has_dynamic_content",
        r"a submodule of https://github.com/school/softy-pinko-front-end.git at bbbbbbb: edits "
        r"made inside it were never committed to this repository",
    ),
    "task3's page fetching a relative URL": Defect(
        "task3",
        edits(
            "task3/front-end/softy-pinko-front-end/js/app.js",
            "'http://localhost:5252/api/hello'",
            "'/api/hello'",
        ),
        "script_fetches_the_api",
        r"expected a fetch of http://localhost:5252/api/hello, found /api/hello",
    ),
    "flask-cors forgotten": Defect(
        "task3",
        lambda root: (root / "task3/back-end/requirements.txt").write_text(
            re.sub(
                r"^flask-cors==.*?(?=^\S)",
                "",
                (root / "task3/back-end/requirements.txt").read_text(),
                flags=re.M | re.S,
            )
        ),
        "flask_cors_installed_with_pip3",
        r"found no pip3 install of flask-cors",
    ),
    "CORS imported, never applied": Defect(
        "task3",
        edits(
            "task3/back-end/api.py",
            '    CORS(app, resources={r"/api/*": {"origins": [app.config["CORS_ORIGIN"]]}})\n',
            "",
        ),
        "api_enables_cors",
        r"flask_cors imported, CORS never applied",
    ),
    "the Compose file misnamed": Defect(
        "task4",
        rename("task4/docker-compose.yml", "task4/compose.yaml"),
        "compose_file_exists",
        r"found task4/compose.yaml.*git mv task4/compose.yaml task4/docker-compose.yml",
    ),
    "task6's back-end service named backend": Defect(
        "task6",
        lambda root: (root / "task6/docker-compose.yml").write_text(
            (root / "task6/docker-compose.yml").read_text().replace("  back-end:", "  backend:")
        ),
        "back_end_named_back_end",
        r"expected the back-end service named back-end, found it is named backend.*rename backend "
        r"to back-end everywhere it is named \(task6/docker-compose.yml:\d+",
    ),
    "task3's image tag in task4": Defect(
        "task4",
        edits(
            "task4/docker-compose.yml",
            "image: softy-pinko-back-end:task4",
            "image: softy-pinko-back-end:task3",
        ),
        "back_end_build_and_image",
        r"expected services.back-end.image: softy-pinko-back-end:task4, "
        r"found image: softy-pinko-back-end:task3",
        status="warn",
    ),
    "no depends_on": Defect(
        "task4",
        edits(
            "task4/docker-compose.yml",
            "    depends_on:\n      back-end:\n        condition: service_healthy\n",
            "",
        ),
        "depends_on",
        r"expected depends_on between back-end and front-end, found none",
    ),
    "the front-end still published in task5": Defect(
        "task5",
        edits(
            "task5/docker-compose.yml",
            "    image: softy-pinko-front-end:task5\n",
            '    image: softy-pinko-front-end:task5\n    ports: ["9000:9000"]\n',
        ),
        "only_the_proxy_publishes",
        r'found ports: \["9000:9000"\]',
    ),
    "/ routed to the back-end": Defect(
        "task5",
        edits(
            "task5/proxy/proxy.conf",
            "    location / {\n        proxy_pass http://front-end;",
            "    location / {\n        proxy_pass http://back-end;",
        ),
        "proxy_routes",
        r"expected / sent to front-end:9000, found location / \(line \d+\) sends it to "
        r"back-end:5252",
    ),
    "task5's page still on localhost:5252": Defect(
        "task5",
        edits(
            "task5/front-end/softy-pinko-front-end/js/app.js",
            "'/api/hello'",
            "'http://localhost:5252/api/hello'",
        ),
        "page_calls_relative_api",
        r"found http://localhost:5252/api/hello",
    ),
    "a proxy config that does not load": Defect(
        "task5",
        edits(
            "task5/proxy/proxy.conf", "proxy_pass http://front-end;", "proxy_pass http://front-end"
        ),
        "proxy_config_loads",
        r'found unexpected "\}" in task5/proxy/proxy.conf:\d+',
        files_only=False,
    ),
    "the command without its newline": Defect(
        "task6",
        writes("task6/2-api-servers.txt", "docker-compose up --scale back-end=2"),
        "command_file",
        r'found "docker-compose up --scale back-end=2".*end it with a newline',
    ),
    "the command scaling another service": Defect(
        "task6",
        writes("task6/2-api-servers.txt", "docker-compose up --scale backend=2\n"),
        "command_file",
        r'found "docker-compose up --scale backend=2\\n"',
    ),
    "a back-end with a container name": Defect(
        "task6",
        edits(
            "task6/docker-compose.yml",
            "    image: softy-pinko-back-end:task6\n",
            "    image: softy-pinko-back-end:task6\n    container_name: api\n",
        ),
        "back_end_can_scale",
        r"found container_name: api",
    ),
    "a proxy that pins one replica": Defect(
        "task6",
        edits(
            "task6/proxy/proxy.conf",
            "    zone back-end 256k;\n",
            "    zone back-end 256k;\n    hash $host;\n",
        ),
        "both_back_ends_answer_in_turn",
        r"only back-end [12]\b|1: (0|12) and 2: (0|12)",
        files_only=False,
    ),
}


def needs_of(task_checks: dict[str, dict], name: str) -> set[str]:
    """Every check that `name` needs, directly or not."""
    found: set[str] = set()
    for need in task_checks[name]["needs"]:
        found |= {need} | needs_of(task_checks, need)
    return found


@pytest.mark.parametrize("defect", DEFECTS.values(), ids=DEFECTS.keys())
def test_a_defect_is_caught_by_its_check_and_the_rest_still_pass(defect, tmp_path):
    tasks = TASKS if defect.files_only else [defect.task]
    root = copy_of(tmp_path, tasks)
    defect.make(root)
    said = check(root, tasks, defect.files_only, tmp_path / "out")
    caught = said[f"{defect.task}.{defect.check}"]
    assert caught["status"] == defect.status, caught
    assert re.search(defect.message, caught["message"] + " | " + (caught["fix"] or ""), re.S), (
        caught
    )
    assert caught["fix"], "every failure says how to fix it"
    for name, test in said.items():
        if name == caught["name"] or caught["name"] in needs_of(said, name):
            continue
        assert test["status"] in ("pass", "skip"), test
        if test["status"] == "skip":
            assert defect.files_only and test["message"] == "not run: only the files were checked"


def test_the_defects_are_at_least_twenty_and_distinct():
    assert len(DEFECTS) >= 20
    assert len({(d.task, d.check, d.message) for d in DEFECTS.values()}) == len(DEFECTS)


# --- refused before anything runs ----------------------------------------------------------
REFUSED_KEYS = {
    "privileged: true": ("    privileged: true\n", "services.back-end.privileged"),
    "network_mode: host": ("    network_mode: host\n", "services.back-end.network_mode"),
    "pid: host": ("    pid: host\n", "services.back-end.pid"),
    "ipc: host": ("    ipc: host\n", "services.back-end.ipc"),
    "cap_add": ("    cap_add: [SYS_ADMIN]\n", "services.back-end.cap_add"),
    "devices": ('    devices: ["/dev/kmsg:/dev/kmsg"]\n', "services.back-end.devices"),
    "the Docker socket": (
        '    volumes: ["/var/run/docker.sock:/var/run/docker.sock"]\n',
        "services.back-end.volumes[0]",
    ),
    "a host folder": ('    volumes: ["/etc:/host-etc:ro"]\n', "services.back-end.volumes[0]"),
    "seccomp off": ('    security_opt: ["seccomp=unconfined"]\n', "services.back-end.security_opt"),
    "an env file outside": ("    env_file: /etc/hostname\n", "services.back-end.env_file"),
}


@pytest.mark.parametrize("line,key", REFUSED_KEYS.values(), ids=REFUSED_KEYS.keys())
def test_a_key_that_reaches_the_host_is_refused_by_file_and_key(line, key, tmp_path):
    """Refused from the file before Compose reads it (env files, includes), or from Compose's
    reading of it before anything is built (the rest)."""
    root = copy_of(tmp_path, ["task4"])
    compose = root / "task4/docker-compose.yml"
    edit(
        compose,
        "    image: softy-pinko-back-end:task4\n",
        "    image: softy-pinko-back-end:task4\n" + line,
    )
    said = check(root, ["task4"], True, tmp_path / "out")
    refused = [said[f"task4.{n}"] for n in ("compose_reads_it", "nothing_reaches_the_host")
               if said[f"task4.{n}"]["status"] == "fail"]  # fmt: skip
    assert len(refused) == 1, said
    assert refused[0]["message"].startswith("expected no key that reaches"), refused[0]
    assert key in refused[0]["message"] and refused[0]["file"] == "task4/docker-compose.yml"
    expected_line = compose.read_text().splitlines().index(line.rstrip("\n")) + 1
    assert refused[0]["line"] == expected_line, refused[0]
    assert said["task4.images_build"]["status"] == "skip"


def test_a_refused_file_builds_and_starts_nothing(tmp_path):
    root = copy_of(tmp_path, ["task4"])
    edit(
        root / "task4/docker-compose.yml",
        "    image: softy-pinko-back-end:task4\n",
        "    image: softy-pinko-back-end:task4\n    privileged: true\n",
    )
    before = engine_state()
    said = check(root, ["task4"], False, tmp_path / "out")
    assert said["task4.nothing_reaches_the_host"]["status"] == "fail"
    for name in ("images_build", "stack_starts", "page_shows_the_api_s_answer"):
        assert said[f"task4.{name}"]["status"] == "skip", said[f"task4.{name}"]
    assert engine_state() == before


def test_a_base_name_is_never_retagged(tmp_path):
    """`image: ubuntu:latest` on a service with `build:` would overwrite the base with the
    learner's image under Compose; the checker names every image it builds itself."""
    root = copy_of(tmp_path, ["task4"])
    edit(
        root / "task4/docker-compose.yml",
        "image: softy-pinko-back-end:task4",
        "image: ubuntu:latest",
    )
    ubuntu = docker("image", "inspect", "--format", "{{.Id}}", "ubuntu:latest").strip()
    said = check(root, ["task4"], False, tmp_path / "out")
    named = said["task4.back_end_build_and_image"]
    assert named["status"] == "warn" and "an official image's name" in named["message"], named
    assert said["task4.stack_starts"]["status"] == "pass", said["task4.stack_starts"]
    assert docker("image", "inspect", "--format", "{{.Id}}", "ubuntu:latest").strip() == ubuntu


# --- interrupted ---------------------------------------------------------------------------
@contextlib.contextmanager
def started(command: list[str]) -> Iterator[subprocess.Popen[bytes]]:
    """The checker in a session of its own, with SIGINT ignored as a shell without job control
    starts a background command (CI's may): a Ctrl-C must stop it all the same. Whatever the
    test's outcome, its whole process group is killed and reaped, so that no build it started
    goes on and no open pipe outlives the test."""
    ignoring_sigint = ["bash", "-c", 'trap "" INT; exec "$@"', "checker", *command]
    with subprocess.Popen(
        ignoring_sigint,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    ) as checker:
        try:
            yield checker
        finally:
            if checker.poll() is None:
                os.killpg(checker.pid, signal.SIGKILL)
                checker.communicate()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "SIGTERM"])
def test_a_run_stopped_mid_build_leaves_the_engine_as_it_found_it(signum, tmp_path):
    root = copy_of(tmp_path, ["task0"])
    marker = f"sleep 3{time.time_ns() % 1000:03d}"  # a step no cache holds
    edit(root / "task0/Dockerfile", "USER 65534:65534", f"RUN {marker}\nUSER 65534:65534")
    before = engine_state()
    command = [sys.executable, "-m", "softy_pinko_docker.check", "--tasks", "task0", "--output",
               str(tmp_path / "out"), str(root)]  # fmt: skip
    with started(command) as checker:
        poll(
            lambda: marker in docker("ps", "--no-trunc", "--format", "{{.Command}}"),
            timeout=180,
            what=f"the build step running {marker!r}",
        )
        checker.send_signal(signum)
        output, _ = checker.communicate(timeout=60)
    assert checker.returncode == 130, output.decode()
    assert b"python -m softy_pinko_docker.check: interrupted" in output
    poll(
        lambda: engine_state() == before,
        timeout=30,
        what="the engine to hold what it held before the check",
    )


def test_a_run_stopped_while_its_stack_runs_leaves_the_engine_as_it_found_it(tmp_path):
    """SIGTERM (a CI job cancelled) with a Compose project up: its containers, network and the
    images built for it all go."""
    root = copy_of(tmp_path, ["task4"])
    before = engine_state()
    run_id = f"t{time.time_ns() % 10**8}"
    command = [sys.executable, "-m", "softy_pinko_docker.check", "--run-id", run_id,
               "--tasks", "task4", "--output", str(tmp_path / "out"), str(root)]  # fmt: skip
    with started(command) as checker:
        label = f"label=org.softy-pinko.check.run={run_id}"
        poll(lambda: docker("ps", "-q", "--filter", label).split(), timeout=300,
             what="the checker's task4 stack to run", interval=0.1)  # fmt: skip
        checker.send_signal(signal.SIGTERM)
        output, _ = checker.communicate(timeout=60)
    assert checker.returncode == 130, output.decode()
    assert engine_state() == before


OTHER_BASES = {
    "ubuntu:22.04": "FROM ubuntu:22.04\nRUN apt-get update && apt-get upgrade -y\n"
    "RUN apt-get install -y python3 python3-pip\nRUN pip3 install flask flask-cors\n"
    'WORKDIR /app\nCOPY api.py /app/\nCMD ["python3", "api.py"]\n',
    "python:3.12-slim": "FROM python:3.12-slim\nWORKDIR /app\nRUN pip install flask\n"
    'COPY api.py /app/\nCMD ["python", "api.py"]\n',
}


@pytest.mark.parametrize("dockerfile", OTHER_BASES.values(), ids=OTHER_BASES.keys())
def test_a_learner_s_dockerfile_on_another_base_builds_offline_unchanged(dockerfile, tmp_path):
    """Stood in for when no registry answers; neither is externally managed, so a system-wide
    pip install works there as on the real image. The base itself is a warning or a failure."""
    root = copy_of(tmp_path, ["task1"])
    (root / "task1/Dockerfile").write_text(dockerfile)
    said = check(root, ["task1"], False, tmp_path / "out")
    assert said["task1.builds"]["status"] == "pass", said["task1.builds"]
    assert said["task1.answers_hello_world_on_5252"]["status"] == "pass"
    assert said["task1.based_on_latest_ubuntu"]["status"] in ("warn", "fail")


def test_the_exit_code_says_whether_the_checker_could_run(tmp_path):
    assert main(["softy-pinko-check", str(tmp_path / "nowhere")]) == 2
    root = copy_of(tmp_path, ["task0"])
    (root / "task0/Dockerfile").rename(root / "task0/DockerFile")
    assert main(["softy-pinko-check", "--files-only", "--tasks", "task0", "--output",
                 str(tmp_path / "out"), str(root)]) == 1  # fmt: skip


# --- many repositories ----------------------------------------------------------------------
@pytest.mark.browser
def test_a_batch_gives_each_repository_its_row_and_one_that_never_ends_stops_nothing(
    tmp_path, page
):
    """Three repositories: this one's task0, one with a misspelled greeting, one whose build
    never ends. The last is stopped at its limit and swept; the table has all three."""
    repositories = []
    for name, change in (
        ("good", None),
        ("misspelled", ('"Hello, World!"', '"Hello World!"')),
        ("endless", ("USER 65534:65534", "RUN sleep 100000\nUSER 65534:65534")),
    ):
        root = copy_of(tmp_path / name, ["task0"])
        if change:
            edit(root / "task0/Dockerfile", *change)
        repositories.append(str(root.relative_to(tmp_path)))  # as a reviewer types them
    before = engine_state()
    started = time.monotonic()
    said = run(
        [
            sys.executable,
            "-m",
            "softy_pinko_docker.check.batch",
            "--tasks",
            "task0",
            "--timeout",
            "25",
            "--output",
            str(tmp_path / "table"),
            "--cache",
            str(tmp_path / "verdicts"),
            *repositories,
        ],
        timeout=300,
        cwd=tmp_path,
        check=False,
    )
    took = time.monotonic() - started
    # Not every repository was judged: exit 1, and the one that was not, with its reason.
    assert said.returncode == 1, said.stdout + said.stderr
    assert said.stderr.strip().splitlines() == [
        "not judged: endless/learner: timeout: not done within 25s (a build or a server "
        "that never ends?)"
    ], said.stderr
    table = (tmp_path / "table/batch.csv").read_text().splitlines()
    rows = {Path(r["repository"]).parent.name: r for r in csv.DictReader(table)}
    assert rows["good"]["status"] == "pass" and rows["good"]["task0"] == "pass", rows
    assert rows["misspelled"]["status"] == "fail", rows
    assert rows["misspelled"]["first_failure"].startswith(
        'task0.prints_hello_world: expected "Hello, World!", found "Hello World!"'
    )
    assert rows["endless"]["status"] == "timeout", rows
    assert rows["endless"]["task0"] == "timeout" and rows["endless"]["task1"] == "", rows
    assert "not done within 25s" in rows["endless"]["first_failure"]
    assert took < 25 + 120, f"the batch took {took:.0f}s"
    html = (tmp_path / "table/batch.html").read_text()
    assert html.count("<tr><td>") == 3 and "task0.prints_hello_world" in html
    assert "| pass |" in (tmp_path / "table/batch.md").read_text() and "timeout" in said.stdout
    assert engine_state() == before, "the stopped checker's containers and images were swept"
    # The reviewer's page as a browser shows it: the README's picture (docs/screenshots/).
    page.set_viewport_size({"width": 1100, "height": 600})
    page.goto((tmp_path / "table/batch.html").as_uri())
    assert page.get_by_role("row").count() >= 4, "a header and a row per repository"
    screenshot(page, "check-batch")


# --- installed -------------------------------------------------------------------------------
def test_the_checker_installs_as_a_command_from_a_clone(tmp_path):
    """What `pip install git+https://…` or `pipx run --spec … softy-pinko-check` does: the
    package from a clone, into a fresh virtual environment, with its declared dependencies."""
    clone, venv = tmp_path / "clone", tmp_path / "venv"
    run(["git", "clone", "--quiet", str(REPO), str(clone)])
    run([sys.executable, "-m", "venv", str(venv)])
    run([str(venv / "bin/pip"), "install", "--quiet", "--disable-pip-version-check", str(clone)],
        timeout=900)  # fmt: skip
    # One top-level package, the project's: what the distribution's RECORD lists.
    (record,) = venv.glob("lib/python*/site-packages/softy_pinko_docker-*.dist-info/RECORD")
    tops = {line.split("/")[0] for line in record.read_text().splitlines()}
    assert {t for t in tops if not t.endswith(".dist-info") and t != ".."} == {
        "softy_pinko_docker"
    }, sorted(tops)
    # The one command lists every subcommand.
    said = run([str(venv / "bin/softy-pinko-docker"), "--help"], cwd=tmp_path).stdout
    assert said.startswith("usage: softy-pinko-docker ")
    assert all(f"\n    {name} " in said for name in SUBCOMMANDS), said
    listed = run([str(venv / "bin/softy-pinko-check"), "--list"], cwd=tmp_path).stdout
    assert "task6.both_back_ends_answer_in_turn" in listed
    # task6's check under load runs the installed locustfile with the installed Locust.
    where = "import softy_pinko_docker.check.probes as p; print(p.LOADTEST / 'locustfile.py')"
    locustfile = run([str(venv / "bin/python"), "-c", where], cwd=tmp_path).stdout.strip()
    assert Path(locustfile).is_file() and "site-packages" in locustfile, locustfile
    run([str(venv / "bin/python"), "-m", "locust", "--version"], cwd=tmp_path)
    command = [
        str(venv / "bin/softy-pinko-check"),
        "--files-only",
        "--output",
        str(tmp_path / "out"),
    ]
    said = run([*command, str(REPO)], cwd=tmp_path, check=False)
    assert said.returncode == 0, said.stdout + said.stderr
    assert json.loads((tmp_path / "out/results.json").read_text())["status"] == "pass"
    said = run([*command[:-2], "--help"], cwd=tmp_path)
    assert said.stdout.startswith("usage: softy-pinko-check "), said.stdout
    said = run([str(venv / "bin/softy-pinko-check"), "--version"], cwd=tmp_path)
    assert said.stdout == "softy-pinko-check 1.0.0\n", said.stdout
    # Each of a user's mistakes, through the installed commands: one line in the words of the
    # command typed, exit 2 (a batch's missing list too: the batch could not run).
    for name, (args, expected) in mistakes(tmp_path, "softy-pinko-check").items():
        said = run([str(venv / "bin/softy-pinko-check"), *args], cwd=tmp_path, check=False)
        assert said.returncode == 2 and said.stdout == "", (name, said)
        assert said.stderr.count("\n") == 1, (name, said.stderr)
        assert said.stderr.startswith("softy-pinko-check: ") and expected in said.stderr, name
    said = run([str(venv / "bin/softy-pinko-check-batch"), f"@{tmp_path}/cohort.txt"],
               cwd=tmp_path, check=False)  # fmt: skip
    assert said.returncode == 2 and said.stderr.count("\n") == 1, said
    assert f"no file {tmp_path}/cohort.txt" in said.stderr, said.stderr
    said = run([str(venv / "bin/softy-pinko-docker"), "nonsense"], cwd=tmp_path, check=False)
    assert said.returncode == 2 and "invalid choice: 'nonsense'" in said.stderr, said


# --- the command as a person meets it -------------------------------------------------------------
def test_a_files_only_pass_says_what_it_did_not_check_and_writes_outside_the_repository(tmp_path):
    """Run from inside the learner's repository with no --output: results.json lands in the
    user's cache, not where `git add .` would take it; a pass on the files alone says so."""
    root = copy_of(tmp_path, ["task0", "task6"])
    said = subprocess.run(
        [
            sys.executable,
            "-m",
            "softy_pinko_docker.check",
            "--files-only",
            "--quiet",
            "--tasks",
            "task0,task6",
            ".",
        ],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(REPO), "XDG_CACHE_HOME": str(tmp_path / "cache")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert said.returncode == 0, said.stdout + said.stderr
    assert "PASS task" not in said.stdout, "--quiet prints only what did not pass"
    assert not (root / "reports").exists()
    results = json.loads((tmp_path / "cache/softy-pinko-check/learner/results.json").read_text())
    skipped = sum(t["status"] == "skip" for t in results["tests"])
    assert skipped > 0 and results["status"] == "pass"
    note = (
        f"only the files were checked: {skipped} check(s) that build images, start containers "
        "and open pages were not run; run again without --files-only for them"
    )
    assert results["message"] == note and note in said.stdout


def test_output_closed_by_its_reader_stops_the_check_with_one_line(tmp_path):
    """`softy-pinko-check . | head`: once nothing reads the output, one line says why it stopped
    (not 'a bug', not a traceback), and nothing it started is left."""
    root = copy_of(tmp_path, ["task0"])
    reader, writer = os.pipe()
    os.close(reader)  # the reader has gone before the first line
    with open(writer, "wb") as closed:
        said = subprocess.run(
            [
                sys.executable,
                "-m",
                "softy_pinko_docker.check",
                "--output",
                str(tmp_path / "out"),
                str(root),
            ],
            cwd=REPO,
            stdout=closed,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    assert said.returncode == 2, said.stderr
    assert said.stderr == (
        "python -m softy_pinko_docker.check: stopped: what read its output closed it "
        "(piped into head?); "
        "to see less, use --quiet\n"
    )


@pytest.mark.parametrize("delay", [0.25, 0.5])
def test_ctrl_c_as_the_command_starts_is_one_line(delay, tmp_path):
    root = copy_of(tmp_path, ["task0"])
    command = [sys.executable, "-m", "softy_pinko_docker.check", "--tasks", "task0", "--output",
               str(tmp_path / "out"), str(root)]  # fmt: skip
    with subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as p:
        time.sleep(delay)  # the moment a person presses Ctrl-C, not a wait for a state
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
    assert p.returncode == 130, err.decode()
    assert "Traceback" not in err.decode() and err.decode().endswith("interrupted\n"), err
