"""swarm.py's reading of the engine's JSON and its decisions, with the engine faked."""

import pytest

from softy_pinko_docker import swarm

SERVICE_JSON = {
    "ID": "s1",
    "Spec": {"Name": "sp_back-end", "Mode": {"Replicated": {"Replicas": 3}}},
    "UpdateStatus": {"State": "completed", "StartedAt": "2026-11-29T15:45:57.040934205Z"},
    "Endpoint": {},
}


def test_a_service_is_read_from_its_inspect_json():
    service = swarm.Service.from_inspect(SERVICE_JSON, "sp")
    assert (service.name, service.replicas, service.update_state) == ("back-end", 3, "completed")
    assert service.update_started == pytest.approx(swarm.unix_time("2026-11-29T15:45:57.040934Z"))
    proxy = swarm.Service.from_inspect({"Spec": {"Name": "sp_proxy", "Mode": {"Global": {}}}}, "sp")
    assert (proxy.replicas, proxy.update_state, proxy.update_started) == (None, "", 0.0)


def test_engine_times_keep_their_fraction_of_a_second():
    assert swarm.unix_time("2026-11-29T15:00:00Z") == 1795964400.0
    assert swarm.unix_time("2026-11-29T15:00:00.5Z") == 1795964400.5


def service(
    name: str, replicas: int | None = 2, state: str = "completed", started: float = 1000.0
) -> swarm.Service:
    return swarm.Service(name, replicas, state, started, {}, {})


def task(name: str, state: str = "running") -> swarm.Task:
    return swarm.Task(name, state, "", "", 0.0)


@pytest.fixture
def engine(monkeypatch):
    """The stack's services and tasks, as the test sets them."""
    now = {"services": {}, "tasks": []}
    monkeypatch.setattr(swarm, "services", lambda name: now["services"])
    monkeypatch.setattr(swarm, "tasks", lambda name: now["tasks"])
    monkeypatch.setattr(swarm, "task_errors", lambda name: "")

    def set_state(services: list[swarm.Service], tasks: list[swarm.Task]) -> None:
        now["services"] = {s.name: s for s in services}
        now["tasks"] = tasks

    return set_state


def test_wait_ready_returns_when_every_task_runs_and_no_update_is_in_progress(engine):
    engine(
        [service("back-end"), service("proxy", None)],
        [task("back-end"), task("back-end"), task("proxy")],
    )
    assert swarm.wait_ready("sp", expect={"back-end": 2}, timeout=1) < 1


def test_wait_ready_fails_at_once_on_a_rollback_of_this_deploy(engine):
    engine(
        [service("back-end", state="rollback_completed", started=1000.0)],
        [task("back-end"), task("back-end")],
    )
    with pytest.raises(swarm.SwarmError, match="update rollback_completed"):
        swarm.wait_ready("sp", timeout=30, since=999.5)


def test_wait_ready_ignores_an_older_rollback(engine):
    engine(
        [service("back-end", state="rollback_completed", started=1000.0)],
        [task("back-end"), task("back-end")],
    )
    assert swarm.wait_ready("sp", timeout=1, since=5000.0) < 1


def test_wait_ready_times_out_with_the_missing_replica_named(engine):
    engine([service("back-end")], [task("back-end"), task("back-end", "starting")])
    with pytest.raises(swarm.SwarmError, match=r"back-end: 1/2 running and healthy"):
        swarm.wait_ready("sp", timeout=0.1)


def test_wait_ready_waits_for_the_count_asked_for(engine):
    engine([service("back-end", replicas=3)], [task("back-end")] * 3)
    with pytest.raises(swarm.SwarmError, match=r"back-end: wants 3, not 5"):
        swarm.wait_ready("sp", expect={"back-end": 5}, timeout=0.1)


class FakeDocker:
    """Answers `docker(*args)` / `docker_json(*args)` from a table of argument prefixes."""

    def __init__(self, answers):
        self.answers, self.calls = answers, []

    def __call__(self, *args, **_kwargs):
        self.calls.append(args)
        for prefix, out in self.answers.items():
            if args[: len(prefix)] == prefix:
                return out
        raise AssertionError(f"unexpected docker call: {args}")


@pytest.fixture
def fake(monkeypatch):
    def install(answers):
        fake_docker = FakeDocker(answers)
        monkeypatch.setattr(swarm, "docker", fake_docker)
        monkeypatch.setattr(swarm, "docker_json", fake_docker)
        return fake_docker

    return install


def swarm_info(state: str, manager: bool) -> dict:
    return {
        ("info", "--format", "{{json .Swarm}}"): [
            {"LocalNodeState": state, "ControlAvailable": manager}
        ]
    }


def test_leave_keeps_a_swarm_that_swarm_up_did_not_create(fake):
    docker = fake(
        {
            **swarm_info("active", True),
            ("info",): "node1\n",
            ("network", "ls"): "id\n",
            ("node", "inspect"): [{"Spec": {"Labels": {}}}],
        }
    )
    assert "unchanged" in swarm.leave_if_created()
    assert not any(call[:2] == ("swarm", "leave") for call in docker.calls)


def test_leave_keeps_a_created_swarm_that_runs_other_services(fake):
    docker = fake(
        {
            **swarm_info("active", True),
            ("info",): "node1\n",
            ("network", "ls"): "id\n",
            ("node", "inspect"): [{"Spec": {"Labels": {swarm.CREATED_LABEL: "true"}}}],
            ("service", "ls"): "someone_else\n",
        }
    )
    assert "someone_else" in swarm.leave_if_created()
    assert not any(call[:2] == ("swarm", "leave") for call in docker.calls)


def test_a_locked_swarm_is_not_forced(fake):
    fake({**swarm_info("locked", False), ("network", "ls"): ""})
    with pytest.raises(swarm.SwarmError, match="docker swarm unlock"):
        swarm.ensure_swarm()
