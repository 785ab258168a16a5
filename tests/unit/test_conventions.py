"""What the curriculum's checker and its learners expect of each task's files, as
../shared/CONVENTIONS.md lists them: every path, name, tag and port, read from the files as they
are. (tests/test_curriculum.py runs the curriculum's commands on them.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from softy_pinko_docker import dockerfiles

REPO = Path(__file__).resolve().parents[2]
BACK_ENDS = {
    "task1": REPO / "task1",  # a copy of task0, its files at the task's root
    **{f"task{n}": REPO / f"task{n}" / "back-end" for n in range(2, 7)},
}
FRONT_ENDS = {f"task{n}": REPO / f"task{n}" / "front-end" for n in range(2, 7)}
PROXIES = {f"task{n}": REPO / f"task{n}" / "proxy" for n in (5, 6)}


def instructions(folder: Path) -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), continuations joined."""
    return [
        (
            i.keyword,
            json.dumps(list(i.arguments)) if i.exec_form else " ".join(i.flags + i.arguments),
        )
        for i in dockerfiles.read(folder / "Dockerfile")
    ]


def runs(folder: Path) -> str:
    return "\n".join(args for keyword, args in instructions(folder) if keyword == "RUN")


def compose(task: str) -> dict:
    return YAML(typ="safe").load((REPO / task / "docker-compose.yml").read_text())


def published(service: dict) -> list[str]:
    """Host:container port pairs, each host port a ${NAME_PORT:-default} that an environment
    variable can move (CONVENTIONS.md), read at its default."""
    ports = [str(p) for p in service.get("ports", [])]
    fixed = [p for p in ports if not re.fullmatch(r"\$\{[A-Z_]+_PORT:-\d+\}:\d+", p)]
    assert not fixed, f"host ports no variable can move: {fixed}"
    return [re.sub(r"\$\{\w+:-(\d+)\}", r"\1", p) for p in ports]


def nginx_routes(conf: str) -> dict[str, str]:
    """location -> the `host:port` its proxy_pass reaches (through an upstream block or not)."""
    upstreams = {
        name: " ".join(re.findall(r"server\s+(\S+?:\d+)", body))
        for name, body in re.findall(r"upstream\s+(\S+)\s*\{(.*?)\}", conf, re.S)
    }
    routes = {}
    for location, target in re.findall(
        r"location\s+((?:[=~^]+\s+)?[/@][^\s{]*)\s*\{[^}]*?proxy_pass\s+http://([^;/\s]+)", conf
    ):
        routes[location.split()[-1]] = upstreams.get(target, target)
    return routes


# --- task0 -----------------------------------------------------------------------------------
def test_task0_is_the_latest_ubuntu_updated_and_upgraded_echoing_hello():
    steps = instructions(REPO / "task0")
    assert steps[0] == ("FROM", "ubuntu:latest")
    assert re.search(r"apt-get update .*apt-get upgrade -y", runs(REPO / "task0"))
    assert ("CMD", '["echo", "Hello, World!"]') in steps


# --- the back-end, task1 on ------------------------------------------------------------------
def test_task1_has_its_dockerfile_and_api_at_its_root_and_no_back_end_folder_yet():
    assert (REPO / "task1" / "Dockerfile").is_file() and (REPO / "task1" / "api.py").is_file()
    assert not (REPO / "task1" / "back-end").exists()


@pytest.mark.parametrize("task", BACK_ENDS)
def test_back_end_starts_from_task0_s_ubuntu_with_python_and_pip3_from_apt(task):
    steps, commands = instructions(BACK_ENDS[task]), runs(BACK_ENDS[task])
    stages: list[str] = []
    for keyword, args in steps:
        if keyword == "FROM":  # every stage starts from the latest Ubuntu or from a stage
            base, *alias = args.split()
            assert base == "ubuntu:latest" or base in stages, f"FROM {args}"
            stages += alias[1:]
    assert re.search(r"apt-get update .*apt-get upgrade -y", commands)
    installs = " ".join(re.findall(r"apt-get install ([^&]*)", commands)).split()
    assert {"python3", "python3-pip"} <= set(installs), installs
    assert not [p for p in installs if "flask" in p], "Flask comes from pip3, not from APT"


@pytest.mark.parametrize("task", BACK_ENDS)
def test_back_end_installs_flask_with_pip3_works_in_app_and_listens_on_5252(task):
    folder = BACK_ENDS[task]
    steps = instructions(folder)
    assert re.search(r"\bpip3 .*install .*-r /tmp/requirements.txt", runs(folder))
    assert re.search(r"^flask==", (folder / "requirements.in").read_text(), re.M)
    assert ("WORKDIR", "/app") in steps
    assert any(k == "COPY" and a.startswith("api.py ") and a.endswith("./") for k, a in steps)
    assert ("EXPOSE", "5252") in steps
    assert 'bind = "0.0.0.0:5252"' in (folder / "gunicorn.conf.py").read_text()
    api = (folder / "api.py").read_text()
    assert '@app.get("/api/hello")' in api and '"Hello, World!"' in api
    assert 'run(host="0.0.0.0", port=5252)' in api, "`python3 api.py` serves on 0.0.0.0:5252"


def test_task2_moved_task1_s_back_end_into_back_end():
    names = [".dockerignore", "api.py", "gunicorn.conf.py", "requirements.in", "requirements.txt"]
    for name in names:
        assert (REPO / "task2" / "back-end" / name).read_text() == (
            REPO / "task1" / name
        ).read_text()
    # The Dockerfile too, but for its comments and the image's title.
    task1, task2 = (
        [s for s in instructions(folder) if not s[1].startswith("org.opencontainers.image.title")]
        for folder in (REPO / "task1", REPO / "task2" / "back-end")
    )
    assert task1 == task2


@pytest.mark.parametrize("task", ["task3", "task4"])
def test_back_end_enables_cors_with_flask_cors_installed_by_pip3(task):
    folder = BACK_ENDS[task]
    assert re.search(r"^flask-cors==", (folder / "requirements.in").read_text(), re.M)
    assert re.search(r"^flask-cors==", (folder / "requirements.txt").read_text(), re.M)
    api = (folder / "api.py").read_text()
    assert "from flask_cors import CORS" in api and "CORS(app" in api
    assert '"*"' not in api.split("CORS(app", 1)[1].split("\n")[0], "one origin, never *"


# --- the front-end, task2 on -----------------------------------------------------------------
@pytest.mark.parametrize("task", FRONT_ENDS)
def test_front_end_is_the_latest_nginx_with_the_curriculum_s_paths_on_9000(task):
    folder = FRONT_ENDS[task]
    steps = instructions(folder)
    assert ("FROM", "nginx:latest") in steps
    copies = [a.split() for k, a in steps if k == "COPY"]
    assert ["softy-pinko-front-end.conf", "/etc/nginx/conf.d/default.conf"] in copies
    assert ["softy-pinko-front-end/", "/var/www/html/softy-pinko-front-end/"] in copies
    assert (folder / "softy-pinko-front-end" / "index.html").is_file()
    conf = (folder / "softy-pinko-front-end.conf").read_text()
    assert re.search(r"^\s*listen 9000;", conf, re.M)
    assert re.search(r"^\s*root /var/www/html/softy-pinko-front-end;", conf, re.M)


@pytest.mark.parametrize("task", [t for t in FRONT_ENDS if t != "task2"])
def test_page_fills_an_h1_dynamic_content_from_the_api(task):
    site = FRONT_ENDS[task] / "softy-pinko-front-end"
    assert re.search(r'<h1 id="dynamic-content"[^>]*>', (site / "index.html").read_text())
    script = (site / "js" / "app.js").read_text()
    url = "http://localhost:5252/api/hello" if task in ("task3", "task4") else "/api/hello"
    assert f"const API_URL = '{url}';" in script
    assert "getElementById('dynamic-content')" in script


# --- Compose, task4 on -----------------------------------------------------------------------
@pytest.mark.parametrize("task", ["task4", "task5", "task6"])
def test_compose_services_build_and_name_the_curriculum_s_images(task):
    services = compose(task)["services"]
    expected = {"back-end", "front-end"} | ({"proxy"} if task != "task4" else set())
    assert set(services) == expected
    for name, service in services.items():
        assert service["build"]["context"] == f"./{name}"
        assert service["build"]["dockerfile"] == "Dockerfile"
        assert service["image"] == f"softy-pinko-{name}:{task}"


def test_task4_publishes_5252_and_9000_and_the_front_end_depends_on_the_back_end():
    services = compose("task4")["services"]
    assert published(services["back-end"]) == ["5252:5252"]
    assert published(services["front-end"]) == ["9000:9000"]
    assert "back-end" in services["front-end"]["depends_on"]


# --- the proxy, task5 on ---------------------------------------------------------------------
@pytest.mark.parametrize("task", PROXIES)
def test_proxy_is_the_latest_nginx_routing_api_to_the_back_end_and_the_rest_to_the_front(task):
    folder = PROXIES[task]
    steps = instructions(folder)
    assert ("FROM", "nginx:latest") in steps
    assert ["proxy.conf", "/etc/nginx/conf.d/default.conf"] in [
        a.split() for k, a in steps if k == "COPY"
    ]
    conf = (folder / "proxy.conf").read_text()
    assert re.search(r"^\s*listen 80;", conf, re.M)
    routes = nginx_routes(conf)
    assert routes["/api"] == "back-end:5252" and routes["/api/"] == "back-end:5252", routes
    assert routes["/"] == "front-end:9000", routes


@pytest.mark.parametrize("task", PROXIES)
def test_only_the_proxy_publishes_a_host_port_and_it_is_80(task):
    services = compose(task)["services"]
    assert published(services["proxy"]) == ["80:80"]
    assert [name for name, s in services.items() if s.get("ports")] == ["proxy"]


# --- task6 -----------------------------------------------------------------------------------
def test_the_scaling_command_file_holds_the_curriculum_command():
    """task6/2-api-servers.txt: "the exact docker-compose command", with its newline."""
    command = (REPO / "task6" / "2-api-servers.txt").read_bytes()
    assert command == b"docker-compose up --scale back-end=2\n"


def test_every_task_readme_shows_the_curriculum_s_commands():
    from support import COMMANDS  # the commands tests/test_curriculum.py runs

    for task, commands in COMMANDS.items():
        readme = (REPO / task / "README.md").read_text()
        missing = [c for c in commands if c not in readme]
        assert not missing, f"{task}/README.md does not show {missing}"
    assert (REPO / "task6" / "2-api-servers.txt").read_text() == COMMANDS["task6"][0] + "\n"
