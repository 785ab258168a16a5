"""The checker's parts that need no engine: what a Compose model may not do (policy), how the
checker rewrites one to run it, how a Dockerfile and a page are read, which checks are skipped,
and the shape of what it writes (results.json, JUnit, GitHub annotations)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import pytest

from softy_pinko_docker import dockerfiles
from softy_pinko_docker.check import CHECKS, TASKS, files, policy, report
from softy_pinko_docker.check.registry import (
    Check,
    Context,
    Failed,
    Outcome,
    Status,
    run_checks,
    unsure,
)


# --- policy ----------------------------------------------------------------------------------
def service(**keys):
    return {"services": {"back-end": {"image": "x", **keys}}}


ROOT = Path("/tmp/sandbox/repository")
REFUSED = {
    "privileged": (service(privileged=True), "services.back-end.privileged"),
    "network_mode host": (service(network_mode="host"), "services.back-end.network_mode"),
    "pid host": (service(pid="host"), "services.back-end.pid"),
    "ipc host": (service(ipc="host"), "services.back-end.ipc"),
    "a container's network": (
        service(network_mode="container:db"),
        "services.back-end.network_mode",
    ),
    "devices": (service(devices=["/dev/sda:/dev/sda"]), "services.back-end.devices"),
    "cap_add": (service(cap_add=["SYS_ADMIN"]), "services.back-end.cap_add"),
    "seccomp off": (service(security_opt=["seccomp=unconfined"]), "services.back-end.security_opt"),
    "the Docker socket": (
        service(volumes=[{"type": "bind", "source": "/var/run/docker.sock", "target": "/s"}]),
        "services.back-end.volumes[0]",
    ),
    "a docker.sock inside the repository": (
        service(volumes=[{"type": "bind", "source": f"{ROOT}/task4/docker.sock", "target": "/s"}]),
        "services.back-end.volumes[0]",
    ),
    "the engine's API socket": (service(use_api_socket=True), "services.back-end.use_api_socket"),
    "a lifecycle hook": (
        service(post_start=[{"command": "id", "privileged": True}]),
        "services.back-end.post_start",
    ),
    "a host path": (
        service(volumes=[{"type": "bind", "source": "/etc", "target": "/etc2"}]),
        "services.back-end.volumes[0]",
    ),
    "a path out of the repository": (
        service(volumes=[{"type": "bind", "source": f"{ROOT}/../x", "target": "/x"}]),
        "services.back-end.volumes[0]",
    ),
    "a build context out of it": (
        service(build={"context": "/home"}),
        "services.back-end.build.context",
    ),
    "a Dockerfile out of it": (
        service(build={"context": f"{ROOT}/task4/back-end", "dockerfile": "../../../../etc/x"}),
        "services.back-end.build.dockerfile",
    ),
    "a build on the host's network": (
        service(build={"context": f"{ROOT}/task4/back-end", "network": "host"}),
        "services.back-end.build.network",
    ),
    "an external network": (
        {**service(), "networks": {"n": {"external": True}}},
        "networks.n.external",
    ),
    "a volume on a host device": (
        {**service(), "volumes": {"v": {"driver_opts": {"device": "/", "o": "bind"}}}},
        "volumes.v.driver_opts",
    ),
    "a secret from a host file": (
        {**service(), "secrets": {"s": {"file": "/root/.ssh/id_rsa"}}},
        "secrets.s.file",
    ),
}


@pytest.mark.parametrize("model,key", REFUSED.values(), ids=REFUSED.keys())
def test_what_reaches_the_host_is_refused_by_its_key(model, key):
    refused = policy.refusals(model, {}, ROOT / "task4", ROOT)
    assert key in [r.key for r in refused], refused


@pytest.mark.parametrize(
    "raw,key",
    [
        ({"services": {"b": {"env_file": "../../../etc/environment"}}}, "services.b.env_file"),
        ({"services": {"b": {"env_file": "~/.aws/credentials"}}}, "services.b.env_file"),
        ({"services": {"b": {"env_file": [{"path": "${HOME}/.netrc"}]}}}, "services.b.env_file"),
        (
            {"services": {"b": {"extends": {"file": "/etc/compose.yml", "service": "x"}}}},
            "services.b.extends",
        ),
        ({"include": ["other.yml"], "services": {}}, "include"),
    ],
    ids=["../", "~", "${HOME}", "extends.file", "include"],
)
def test_what_compose_would_read_from_outside_is_refused_before_it_reads(raw, key):
    refused = policy.before_reading(raw, ROOT / "task4", ROOT)
    assert [r.key for r in refused] == [key]


def test_what_stays_inside_is_allowed():
    inside = service(
        build={"context": f"{ROOT}/task4/back-end"},
        volumes=[{"type": "bind", "source": f"{ROOT}/task4/front-end", "target": "/app"}],
        security_opt=["no-new-privileges:true"],
        cap_drop=["ALL"],
    )
    assert policy.refusals(inside, {}, ROOT / "task4", ROOT) == []


def test_the_sandboxed_project_renames_images_moves_ports_and_limits_every_container():
    model = service(
        build={"context": "."},
        image="ubuntu:latest",  # would retag the base: the checker's own name replaces it
        container_name="api",
        ports=[{"target": 5252, "published": "5252", "protocol": "tcp"}],
        mem_limit="8g",
        deploy={"replicas": 2, "resources": {"limits": {"memory": "8g"}}},
    )
    runnable = policy.sandboxed(
        model, {"back-end": "softy-pinko-check-1/task4-back-end:latest"}, {"run": "1"}
    )
    got = runnable["services"]["back-end"]
    assert got["image"] == "softy-pinko-check-1/task4-back-end:latest" and "build" not in got
    assert got["pull_policy"] == "never" and "container_name" not in got
    assert got["ports"] == [{"target": 5252, "host_ip": "127.0.0.1", "protocol": "tcp"}]
    assert (got["mem_limit"], got["cpus"], got["pids_limit"]) == (
        policy.MEMORY,
        policy.CPUS,
        policy.PIDS,
    )
    assert "resources" not in got["deploy"] and got["labels"] == {"run": "1"}
    assert model["services"]["back-end"]["image"] == "ubuntu:latest", "the model is not changed"


def test_the_sandboxed_project_keeps_only_what_it_lists():
    model = service(
        volumes=[{"type": "bind", "source": f"{ROOT}/task4/x", "target": "/x"}],
        logging={"driver": "syslog", "options": {"syslog-address": "udp://10.0.0.1:514"}},
        ulimits={"nproc": 100000},
        sysctls={"net.ipv4.ip_forward": 1},
        deploy={"replicas": 200},
        networks={"default": {"ipv4_address": "10.9.0.5", "aliases": ["api"]}},
    )
    got = policy.sandboxed(model, {}, {"run": "1"})["services"]["back-end"]
    assert got["volumes"][0]["read_only"] is True, "a bind mount is read-only"
    assert not {"logging", "ulimits", "sysctls"} & set(got)
    assert got["deploy"] == {"replicas": policy.MAX_REPLICAS}
    assert got["networks"] == {"default": {"aliases": ["api"]}}


def test_the_sandboxed_project_names_its_own_networks_and_volumes():
    """Compose's resolution names them after the project it read the file as: two checks'
    stacks would share one network, and each proxy would find the other's services."""
    model = {
        **service(),
        "networks": {"default": {"name": "spcheck-1_default"}},
        "volumes": {"v": {"name": "spcheck-1_v"}},
    }
    runnable = policy.sandboxed(model, {}, {"run": "1"})
    labelled = {"labels": {"run": "1"}}
    assert runnable["networks"] == {"default": labelled} and runnable["volumes"] == {"v": labelled}


# --- reading files ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "command,packages,requirements",
    [
        ("pip3 install flask", ["flask"], []),
        ("pip install --no-cache-dir flask flask-cors", ["flask", "flask-cors"], []),
        ("/opt/venv/bin/pip install flask", ["flask"], []),
        ("python3 -m pip install --break-system-packages Flask==3.0", ["Flask==3.0"], []),
        (
            "pip3 --python /opt/venv/bin/python3 install --require-hashes -r /tmp/r.txt",
            [],
            ["/tmp/r.txt"],
        ),
        ("pip3 install -r requirements.txt gunicorn", ["gunicorn"], ["requirements.txt"]),
        ("pip3 --cache-dir /c install flask", ["flask"], []),
    ],
)
def test_pip_installs_are_read_in_their_usual_spellings(command, packages, requirements):
    assert files.pip_installs(command.split()) == (packages, requirements)


@pytest.mark.parametrize("command", ["pip3 list", "apt-get install -y python3-pip", "echo pip3"])
def test_what_is_not_a_pip_install_is_none(command):
    assert files.pip_installs(command.split()) is None


@pytest.mark.parametrize(
    "dockerfile,expected",
    [
        ('FROM u\nWORKDIR "/app"\nCOPY api.py .\n', True),
        ("FROM u\nWORKDIR /\nWORKDIR app\nCOPY *.py ./\n", True),
        ("FROM u\nWORKDIR /app\nCOPY . .\n", True),
        ("FROM u\nWORKDIR /code\nCOPY api.py /app/\n", False),
        ("FROM u\nWORKDIR /app\nCOPY api.py /srv/\n", False),
    ],
)
def test_the_working_directory_and_where_api_py_goes(tmp_path, dockerfile, expected):
    from softy_pinko_docker.check import steps

    path = tmp_path / "task1" / "Dockerfile"
    path.parent.mkdir()
    path.write_text(dockerfile)
    ctx = Context("task1", tmp_path, tmp_path, None)
    if expected:
        steps.workdir_app(ctx, path)
    else:
        with pytest.raises(Failed):
            steps.workdir_app(ctx, path)


def test_a_folder_copied_into_the_html_root_is_not_under_its_own_name(tmp_path):
    from softy_pinko_docker.check import steps

    (tmp_path / "task2/front-end/softy-pinko-front-end").mkdir(parents=True)
    path = tmp_path / "task2/front-end/Dockerfile"
    path.write_text("FROM nginx\nCOPY softy-pinko-front-end /var/www/html/\n")
    ctx = Context("task2", tmp_path, tmp_path, None)
    with pytest.raises(Failed, match="copied to /var/www/html"):
        steps.copied_to(ctx, path, "softy-pinko-front-end", "/var/www/html/softy-pinko-front-end")


def test_a_run_s_commands_are_its_simple_commands_and_its_heredoc_s_lines():
    run = dockerfiles.parse(
        "FROM ubuntu\nRUN apt-get update \\\n  && apt-get upgrade -y\n"
        "RUN <<EOF\npip3 install flask\nEOF\n"
    )
    assert files.shell_commands(run[1]) == [["apt-get", "update"], ["apt-get", "upgrade", "-y"]]
    assert files.shell_commands(run[2]) == [["pip3", "install", "flask"]]


def test_the_page_s_element_and_the_urls_its_scripts_fetch(tmp_path):
    (tmp_path / "js").mkdir()
    (tmp_path / "index.html").write_text(
        '<html><body>\n<h1 id="dynamic-content">Loading</h1>\n<script src="js/app.js"></script>'
        "<script>fetch('/api/hello')</script></body></html>"
    )
    (tmp_path / "js/app.js").write_text("\nconst URL = 'http://localhost:5252/api/hello';\n")
    page = files.read_page(tmp_path)
    assert (
        page.elements["dynamic-content"].tag == "h1" and page.elements["dynamic-content"].line == 2
    )
    assert {(f.path.name, f.line, f.url, f.composed) for f in files.fetched_urls(page)} == {
        ("index.html", 1, "/api/hello", False),
        ("app.js", 2, "http://localhost:5252/api/hello", False),
    }


# --- running checks --------------------------------------------------------------------------
@pytest.fixture
def fake_task():
    CHECKS["taskx"] = []
    yield CHECKS["taskx"]
    del CHECKS["taskx"]


def test_a_check_whose_need_failed_is_skipped_with_the_reason(fake_task, tmp_path):
    def broken(ctx):
        raise Failed("a", "b", "c", "taskx/f", 3)

    fake_task += [
        Check("taskx", "first", "r1", (), False, False, broken),
        Check("taskx", "second", "r2", ("first",), False, True, lambda ctx: "ok"),
        Check("taskx", "recommended", "r3", (), True, False, broken),
    ]
    said = list(
        run_checks(["taskx"], lambda t: Context(t, tmp_path, tmp_path, None), lambda o: None)
    )
    assert [o.status for o in said] == [Status.FAIL, Status.SKIP, Status.WARN]
    assert said[0].message == "expected a, found b" and (said[0].file, said[0].line) == (
        "taskx/f",
        3,
    )
    assert said[1].message == "needs taskx.first, which did not pass"
    assert report.exit_code(said) == 1


def test_a_warning_that_blocks_skips_what_needs_it_and_one_that_does_not_lets_it_run(
    fake_task, tmp_path
):
    """An image the checker could not build here (a wheel the offline wheelhouse lacks) is a
    warning, and nothing that would run the image is tried; a base that is only older is a
    warning too, and the image it built is run."""

    def unbuilt(ctx):
        raise unsure("pip could not find blinker", "run it online", blocks=True)

    def unsure_only(ctx):
        raise unsure("the route is a variable", "nothing to change")

    def older(ctx):
        raise Failed("FROM ubuntu:latest", "FROM ubuntu:22.04", "use latest", warning=True)

    fake_task += [
        Check("taskx", "builds", "r1", (), False, False, unbuilt),
        Check("taskx", "answers", "r2", ("builds",), False, True, lambda ctx: "ok"),
        Check("taskx", "based_on_latest", "r3", (), False, False, older),
        Check("taskx", "runs", "r4", ("based_on_latest",), False, True, lambda ctx: "ok"),
        Check("taskx", "routes", "r5", (), False, False, unsure_only),
        Check("taskx", "routes_answer", "r6", ("routes",), False, True, lambda ctx: "ok"),
    ]
    said = list(
        run_checks(["taskx"], lambda t: Context(t, tmp_path, tmp_path, None), lambda o: None)
    )
    statuses = [o.status for o in said]
    assert statuses == [
        Status.WARN,
        Status.SKIP,
        Status.WARN,
        Status.PASS,
        Status.WARN,
        Status.PASS,
    ]
    assert said[0].message == "pip could not find blinker" and said[0].fix == "run it online"
    assert said[1].message == "needs taskx.builds, which could not be judged"
    assert report.exit_code(said) == 0, "warnings never fail a repository"


def test_every_task_has_checks_and_every_check_says_its_requirement():
    assert sorted(CHECKS) == TASKS
    for task in TASKS:
        names = [c.name for c in CHECKS[task]]
        assert len(names) == len(set(names)), f"{task} declares a check twice"
        assert all(c.requirement for c in CHECKS[task])


# --- what it writes --------------------------------------------------------------------------
def outcomes():
    chk = CHECKS["task0"]
    return [
        Outcome(chk[0], Status.PASS, "ok", seconds=0.1),
        Outcome(
            chk[1],
            Status.FAIL,
            "expected FROM ubuntu:latest, found FROM ngix",
            "use FROM ubuntu:latest",
            "task0/Dockerfile",
            2,
        ),
        Outcome(chk[2], Status.WARN, "unsure, 50%", "look"),
        Outcome(chk[3], Status.SKIP, "needs task0.x, which did not pass"),
    ]


def test_results_json_is_exercism_shaped(tmp_path):
    report.write(outcomes(), "/repo", 3.0, tmp_path)
    said = json.loads((tmp_path / "results.json").read_text())
    assert said["version"] == 1 and said["status"] == "fail"
    assert said["tasks"] == [
        {
            "name": "task0",
            "status": "fail",
            "passed": 1,
            "failed": 1,
            "warned": 1,
            "skipped": 1,
            "errors": 0,
            "duration_s": 0.1,
            "reused": False,
        }
    ]
    failed = said["tests"][1]
    assert failed["name"] == "task0.based_on_latest_ubuntu" and failed["status"] == "fail"
    assert (failed["file"], failed["line"], failed["fix"]) == (
        "task0/Dockerfile",
        2,
        "use FROM ubuntu:latest",
    )
    suites = ET.parse(tmp_path / "junit.xml").getroot()
    suite = suites.find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("4", "1", "1")


def test_github_gets_an_annotation_per_failure_and_warning_and_a_summary(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    report.github(outcomes(), "/repo")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "::error file=task0/Dockerfile,line=2,title=task0.based_on_latest_ubuntu::expected FROM "
        "ubuntu:latest, found FROM ngix | fix: use FROM ubuntu:latest"
    )
    assert lines[1] == "::warning title=task0.updates_and_upgrades_apt::unsure, 50%25 | fix: look"
    assert "| task0 | fail | 1 | 1 | 1 | 1 |" in (tmp_path / "summary.md").read_text()


def test_forks_with_one_name_get_results_folders_of_their_own(tmp_path):
    from softy_pinko_docker.check.batch import folder_names

    a, b = (
        tmp_path / "thatsvie/atlas-softy-pinko-docker",
        tmp_path / "chepeniv/atlas-softy-pinko-docker",
    )
    names = folder_names(
        [str(a), str(b), str(tmp_path / "kayrbee/holberton"), "github:x/holberton"]
    )
    assert list(names.values()) == [
        "thatsvie+atlas-softy-pinko-docker",
        "chepeniv+atlas-softy-pinko-docker",
        "holberton",
        "x+holberton",
    ]
    assert list(folder_names(["/", "/x/softy", "/y/softy"]).values()) == [
        "repository",  # the root is nobody's name
        "x+softy",
        "y+softy",
    ]
    again = folder_names([str(a), str(a) + "/"])  # one repository named twice: two folders
    assert list(again.values()) == [
        "thatsvie+atlas-softy-pinko-docker",
        "thatsvie+atlas-softy-pinko-docker-2",
    ]


def test_a_list_file_names_repositories_beside_it_urls_as_they_are(tmp_path):
    from softy_pinko_docker.check.batch import sources

    cohort = tmp_path / "cohort" / "list.txt"
    cohort.parent.mkdir()
    cohort.write_text(
        "# a cohort\nalice/softy  # her clone\n\nhttps://github.com/bob/softy\n/abs/carol\n"
    )
    assert sources([f"@{cohort}", "dave"]) == [
        str(tmp_path / "cohort/alice/softy"),
        "https://github.com/bob/softy",
        "/abs/carol",
        "dave",
    ]


# --- Nginx configs, read as Nginx reads them ----------------------------------------------------
def nginx_config(tmp_path, text):
    from softy_pinko_docker.check import nginx

    path = tmp_path / "proxy.conf"
    path.write_text(text)
    return nginx.read(path)


@pytest.mark.parametrize(
    "locations,uri,chosen",
    [
        ("location / {} location /api {}", "/api/hello", "/api"),
        ("location / {} location /api/ {}", "/api/hello", "/api/"),
        ("location / {} location ~ ^/api {}", "/api/hello", "^/api"),
        ("location ^~ /api {} location ~ hello {}", "/api/hello", "/api"),
        ("location /api {} location ~ hello$ {}", "/api/hello", "hello$"),
        ("location = /api/hello {} location /api {}", "/api/hello", "/api/hello"),
        ("location /apis {}", "/api/hello", None),
        ("# location /api {}\nlocation / {}", "/api/hello", "/"),
    ],
)
def test_the_location_nginx_picks(tmp_path, locations, uri, chosen):
    from softy_pinko_docker.check import nginx

    directives = nginx_config(tmp_path, f"server {{ listen 80; {locations} }}")
    found = nginx.location_for(nginx.server_on(directives, 80), uri)
    assert (found.args[-1] if found else None) == chosen


def test_where_proxy_pass_sends_a_request(tmp_path):
    from softy_pinko_docker.check import nginx

    directives = nginx_config(
        tmp_path,
        "upstream api { server back-end:5252 max_fails=3; server other:5252; }\n"
        "server { location /api { proxy_pass http://api; } location / { proxy_pass "
        "http://front-end:9000/; } location /x { proxy_pass http://back-end:5252/; }"
        " location /v { proxy_pass http://$host; } }",
    )
    server = nginx.server_on(directives, 80)  # no listen: Nginx's 80
    api = nginx.proxy_target(directives, nginx.location_for(server, "/api/hello"))
    assert api.hosts == ("back-end:5252", "other:5252") and api.path is None
    root = nginx.location_for(server, "/")
    assert nginx.proxy_target(directives, root).hosts == ("front-end:9000",)
    stripped = nginx.location_for(server, "/x/hello")
    target = nginx.proxy_target(directives, stripped)
    assert target.upstream_uri(stripped, "/x/hello") == "//hello"
    assert nginx.proxy_target(directives, nginx.location_for(server, "/v")).variable


def test_a_config_nginx_would_not_read_says_why_and_where(tmp_path):
    from softy_pinko_docker.check import nginx

    with pytest.raises(nginx.NotRead, match="byte-order mark"):
        nginx_config(tmp_path, "\ufeffserver { listen 80; }")
    with pytest.raises(nginx.NotRead) as unbalanced:
        nginx_config(tmp_path, "server {\n listen 80;\n")
    assert unbalanced.value.line is not None


def test_root_and_index_of_a_location(tmp_path):
    from softy_pinko_docker.check import nginx

    directives = nginx_config(
        tmp_path,
        "server { listen 9000; root /srv; location / { index a.html; } location /b { alias /b; } }",
    )
    server = nginx.server_on(directives, 9000)
    top = nginx.location_for(server, "/")
    assert nginx.root_for(server, top)[:2] == ("root", "/srv")
    assert nginx.index_names(server, top) == ["a.html"]
    assert nginx.root_for(server, nginx.location_for(server, "/b/x"))[:2] == ("alias", "/b")


# --- names and places ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "repository,tag,verdict",
    [
        ("ubuntu", "latest", None),
        ("ubuntu", "", None),
        ("ubuntu", "22.04", "fail"),
        ("ubuntu", "jammy", "fail"),
        ("ubuntu", "24.04", "warn"),
        ("ubuntu", "26.04", "warn"),
        ("nginx", "mainline", None),
        ("nginx", "1.27", "warn"),
        ("nginx", "@digest", "warn"),
    ],
)
def test_what_latest_means_for_a_tag(repository, tag, verdict):
    from softy_pinko_docker.check import steps

    said = steps.release_verdict(repository, tag)
    assert (said[0] if said else None) == verdict


def test_a_misspelled_file_is_found_by_its_nearest_name(tmp_path):
    for name in ("0.dockerfile", "2-api-server.txt", "sofy-pinko-front-end.conf", "README.md"):
        (tmp_path / name).write_text("")
    assert [p.name for p in files.near_names(tmp_path, "Dockerfile")] == ["0.dockerfile"]
    assert [p.name for p in files.near_names(tmp_path, "2-api-servers.txt")] == ["2-api-server.txt"]
    assert [p.name for p in files.near_names(tmp_path, "softy-pinko-front-end.conf")] == [
        "sofy-pinko-front-end.conf"
    ]
    assert files.near_names(tmp_path, "docker-compose.yml") == []


def test_tasks_one_or_two_folders_down_are_found(tmp_path):
    assert files.nested_tasks(tmp_path) == ""
    (tmp_path / "clone/inner/task3").mkdir(parents=True)
    assert files.nested_tasks(tmp_path) == "clone/inner"
    (tmp_path / "task0").mkdir()
    assert files.nested_tasks(tmp_path) == "", "tasks at the root are where they belong"


@pytest.mark.parametrize(
    "log,said",
    [
        (" * Running on http://127.0.0.1:5000\n", "127.0.0.1:5000 (its own loopback"),
        (" * Running on all addresses (0.0.0.0)\n * Running on http://127.0.0.1:5252\n"
         " * Running on http://172.17.0.2:5252\n", None),
        ("[INFO] Listening at: http://0.0.0.0:5252 (1)\n", None),
        (" * Running on http://0.0.0.0:8080\n", "0.0.0.0:8080, not on 0.0.0.0:5252"),
        ("nothing yet\n", None),
    ],
)  # fmt: skip
def test_a_server_s_log_says_where_it_listens(monkeypatch, log, said):
    from softy_pinko_docker.check import probes
    from softy_pinko_docker.docker import Completed

    monkeypatch.setattr(probes, "run", lambda *a, **k: Completed(0, log, ""))
    container = probes.Container.__new__(probes.Container)
    object.__setattr__(container, "id", "c")
    found = probes.listens_elsewhere(container, 5252)
    assert (found is None) if said is None else (said in found), found


@pytest.mark.parametrize(
    "services,roles",
    [
        ({"back-end": {}, "front-end": {}, "proxy": {}},
         {"back-end": "back-end", "front-end": "front-end", "proxy": "proxy"}),
        ({"backend": {}, "frontend": {}, "nginx_proxy": {}},
         {"back-end": "backend", "front-end": "frontend", "proxy": "nginx_proxy"}),
        ({"api": {"build": {"context": "/r/task5/back-end"}}, "web": {}, "lb": {}},
         {"back-end": "api", "front-end": "web", "proxy": "lb"}),
        ({"one": {"build": {"context": "/r/task5/proxy"}},
          "two": {"build": {"context": "/r/task5/front-end"}}},
         {"proxy": "one", "front-end": "two"}),
    ],
)  # fmt: skip
def test_which_service_plays_which_role(tmp_path, services, roles):
    from softy_pinko_docker.check import composefile

    ctx = Context("task5", tmp_path, tmp_path, None)
    ctx.model = {"services": services}
    assert composefile.find_roles(ctx) == roles


# --- task6's turns ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("measures", "judged"),
    [
        # A replica kept aside by one Nginx worker (fail_timeout) is back in the next measure.
        ([["2"] * 12, ["1", "2"] * 6], ["1", "2"] * 6),
        # A proxy that knows one replica is uneven all along: the last measure is the verdict's.
        ([["2"] * 12] * 50, ["2"] * 12),
        # A failed request is a verdict at once, never measured away.
        ([["2"] * 11 + ["!"], ["1", "2"] * 6], ["2"] * 11 + ["!"]),
    ],
    ids=["kept aside, then in turn", "uneven all along", "a failed request"],
)
def test_task6_measures_uneven_turns_again_before_judging(monkeypatch, measures, judged):
    from softy_pinko_docker.check import task6

    given = iter(measures)
    clock = iter(range(0, 1000))
    monkeypatch.setattr(task6.probes, "replica_sequence", lambda *_: next(given))
    monkeypatch.setattr(task6.time, "monotonic", lambda: float(next(clock)))
    monkeypatch.setattr(task6.time, "sleep", lambda _: None)
    replicas = [SimpleNamespace(name="1"), SimpleNamespace(name="2")]
    assert task6._turns("http://proxy/api/hello", replicas) == judged  # type: ignore[arg-type]
