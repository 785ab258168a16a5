"""The project's own tooling: one package that `make`, the tests, the benchmarks and the load
test all use, and one command: `softy-pinko-docker SUBCOMMAND` (each make target calls it).

- docker.py        the one runner and error type, `poll()`, the engine's answers as dataclasses
- compose.py       ComposeProject, the one class that drives `docker compose`
- stack.py         `make up/down/ps/logs`: start a task's stack, or roll a running one
- rollout.py       shipping a change to a running stack without failing a request
- swarm.py         task6 as a Swarm stack (`make swarm-up/down/ps`)
- baseimages.py    base images: pull, or build a cached stand-in offline (`make bases`)
- check/           `make check`: the curriculum's checks on any repository (installable: pyproject)
- bench.py, bench_deploy.py   `make bench`
- load.py          keep-alive HTTP clients that count every answer
- replicas.py      which replica served, from the engine: access logs, network counters
- cli.py           how an entry point reports a failure: one line and an exit code
"""

from pathlib import Path

# The checkout this package runs from ( sits two folders down). Installed
# from a wheel there is none: what needs a checkout's files (tools/bootstrap.sh, the task folders)
# tests for them first.
REPO = Path(__file__).resolve().parents[2]
