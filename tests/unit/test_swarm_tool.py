"""tools/swarm.py's reading of the docker CLI and its decisions, with the CLI faked."""
import pytest

import swarm


class FakeDocker:
    """Answers `swarm.docker(*args)` from a table of (argument prefix, output)."""

    def __init__(self, answers: dict[tuple[str, ...], str]):
        self.answers, self.calls = answers, []

    def __call__(self, *args, check=True, timeout=120, env=None):
        self.calls.append(args)
        for prefix, out in self.answers.items():
            if args[:len(prefix)] == prefix:
                return out
        raise AssertionError(f"unexpected docker call: {args}")


@pytest.fixture
def fake(monkeypatch):
    def install(answers):
        docker = FakeDocker(answers)
        monkeypatch.setattr(swarm, "docker", docker)
        return docker
    return install


def test_services_reads_wanted_tasks_including_global_and_capped_ones(fake):
    fake({("service", "ls"): "sp_back-end\t2/3\nsp_proxy\t1/1\nsp_front-end\t1/1 (max 1 per node)\n"})
    assert swarm.services("sp") == {"back-end": 3, "proxy": 1, "front-end": 1}


def test_tasks_reads_service_and_state_of_replicated_and_global_tasks(fake):
    fake({("stack", "ps"): "sp_back-end.1\tRunning 5 seconds ago\n"
                           "sp_back-end.2\tStarting less than a second ago\n"
                           "sp_proxy.p3kipbwhejdz7cckvu25ov1nq\tRunning 1 minute ago\n"})
    assert swarm.tasks("sp") == [{"Service": "back-end", "State": "Running"},
                                 {"Service": "back-end", "State": "Starting"},
                                 {"Service": "proxy", "State": "Running"}]


def _stack(update_state: str, started: str, running: int = 2) -> dict:
    rows = "".join(f"sp_back-end.{i}\tRunning 1 second ago\n" for i in range(1, running + 1))
    return {("service", "ls", "--filter"): "sp_back-end\t2/2\n",
            ("service", "ls", "--quiet"): "abc\n",
            ("service", "inspect"): f"sp_back-end\t{update_state}\t{started}\n",
            ("stack", "ps"): rows}


def test_wait_ready_returns_when_every_task_runs_and_no_update_is_in_progress(fake):
    fake(_stack("completed", "2026-11-29T15:00:00Z"))
    assert swarm.wait_ready("sp", expect={"back-end": 2}, timeout=1) < 1


def test_wait_ready_fails_at_once_on_a_rollback_of_this_deploy(fake):
    fake(_stack("rollback_completed", "2026-11-29T15:00:00Z"))
    since = swarm.datetime.fromisoformat("2026-11-29T14:59:59+00:00").timestamp()
    with pytest.raises(swarm.SwarmError, match="update rollback_completed"):
        swarm.wait_ready("sp", timeout=30, since=since)


def test_wait_ready_ignores_an_older_rollback(fake):
    fake(_stack("rollback_completed", "2026-11-29T15:00:00Z"))
    since = swarm.datetime.fromisoformat("2026-11-29T16:00:00+00:00").timestamp()
    assert swarm.wait_ready("sp", timeout=1, since=since) < 1


def test_wait_ready_times_out_with_the_missing_replica_named(fake):
    fake(_stack("completed", "2026-11-29T15:00:00Z", running=1))
    with pytest.raises(swarm.SwarmError, match=r"back-end: 1/2 running and healthy"):
        swarm.wait_ready("sp", timeout=0.1)


def test_leave_keeps_a_swarm_that_swarm_up_did_not_create(fake):
    docker = fake({("info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}"):
                   "active true\n", ("info",): "node1\n", ("network", "ls"): "id\n",
                   ("node", "inspect"): "\n"})
    assert "unchanged" in swarm.leave_if_created()
    assert not any(call[:2] == ("swarm", "leave") for call in docker.calls)


def test_leave_keeps_a_created_swarm_that_runs_other_services(fake):
    docker = fake({("info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}"):
                   "active true\n", ("info",): "node1\n", ("network", "ls"): "id\n",
                   ("node", "inspect"): "true\n", ("service", "ls"): "someone_else\n"})
    assert "someone_else" in swarm.leave_if_created()
    assert not any(call[:2] == ("swarm", "leave") for call in docker.calls)


def test_a_locked_swarm_is_not_forced(fake):
    fake({("info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}"):
          "locked false\n", ("network", "ls"): ""})
    with pytest.raises(swarm.SwarmError, match="docker swarm unlock"):
        swarm.ensure_swarm()
