"""Smoke-test one task: build its images, start it, probe it over HTTP, tear it down.

Usage: python -m tools.smoke taskN

What CI's per-task matrix runs. Each task runs as its own Compose project (smoke-taskN) on free
127.0.0.1 ports, so tasks can be smoke-tested side by side with a `make up` stack. On failure
the containers' logs are printed; teardown always runs. With GITHUB_STEP_SUMMARY set, a Markdown
table of the checks is appended to the job summary.
"""

from __future__ import annotations

import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from tools import REPO, cli
from tools.compose import ComposeProject, free_port
from tools.docker import ToolError, build, docker, logs, poll, run, wait_container_healthy


def fetch(url: str, timeout: float = 30) -> tuple[int, dict[str, str], str]:
    """GET, retried until an HTTP answer arrives (any status) or `timeout` passes."""

    def answer() -> tuple[int, dict[str, str], str]:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as error:
            with error:  # it holds the connection open until closed
                return error.code, dict(error.headers), error.read().decode()

    return poll(
        answer, timeout=timeout, what=f"an answer from {url}", interval=0.5, retry_on=(OSError,)
    )


class Smoke:
    def __init__(self, task: str):
        self.task = task
        self.results: list[tuple[str, bool, str]] = []
        self.cleanup: list[Callable[[], object]] = []
        self.logs: list[Callable[[], str]] = []

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        self.results.append((name, ok, detail))
        print(
            f"  {'ok  ' if ok else 'FAIL'} {name}" + (f"  ({detail})" if detail else ""), flush=True
        )

    def probe(self, label: str, url: str, status: int, body: str, header: str = "") -> None:
        code, headers, text = fetch(url)
        ok = code == status and body in text and (not header or header in headers)
        path = "/" + url.split("/", 3)[3]
        self.check(
            f"{label}: GET {path} → {status}", ok, "" if ok else f"got {code}: {text[:80]!r}"
        )

    def docker_run(self, image: str, container_port: int) -> str:
        name = f"smoke-{self.task}-{'back-end' if container_port == 5252 else 'front-end'}"
        port = free_port()
        run(["docker", "rm", "-f", name], check=False)
        docker("run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:{container_port}", image)
        self.cleanup.append(lambda: run(["docker", "rm", "-f", name], check=False))
        self.logs.append(lambda: f"--- {name} ---\n{logs(name, 50)}")
        wait_container_healthy(name)
        return f"http://127.0.0.1:{port}"

    def build(self, context: str, tag: str) -> None:
        started = time.monotonic()
        build(tag, REPO / self.task / context)
        self.check(f"build {tag}", True, f"{time.monotonic() - started:.0f}s")

    def run(self) -> bool:
        print(f"smoke {self.task}", flush=True)
        try:
            getattr(self, f"smoke_{self.task}")()
        except ToolError as error:
            self.check("stack runs", False, str(error))
        finally:
            if not all(ok for _, ok, _ in self.results):
                print("\n".join(show() for show in self.logs))
            for undo in self.cleanup:
                undo()
        self.write_summary()
        return bool(self.results) and all(ok for _, ok, _ in self.results)

    def write_summary(self) -> None:
        path = os.environ.get("GITHUB_STEP_SUMMARY")
        if not path:
            return
        with open(path, "a", encoding="utf-8") as out:
            out.write(f"### Smoke test: {self.task}\n\n| check | result |\n|---|---|\n")
            for name, ok, detail in self.results:
                out.write(f"| {name} | {'✅' if ok else '❌'} {detail} |\n")
            out.write("\n")

    # --- one method per task ---------------------------------------------------------------
    def smoke_task0(self) -> None:
        self.build(".", "softy-pinko:task0")
        out = docker("run", "--rm", "softy-pinko:task0", timeout=60)
        self.check("docker run prints exactly 'Hello, World!'", out == "Hello, World!\n", repr(out))

    def smoke_task1(self) -> None:
        self.build(".", "softy-pinko:task1")
        url = self.docker_run("softy-pinko:task1", 5252)
        self.probe("back-end", f"{url}/api/hello", 200, "Hello, World!")
        self.probe("back-end", f"{url}/api/nope", 404, '"status": 404')

    def smoke_task2(self) -> None:
        self.build("back-end", "softy-pinko-back-end:task2")
        self.build("front-end", "softy-pinko-front-end:task2")
        api = self.docker_run("softy-pinko-back-end:task2", 5252)
        url = self.docker_run("softy-pinko-front-end:task2", 9000)
        self.probe("back-end", f"{api}/api/hello", 200, "Hello, World!")
        self.probe("front-end", f"{url}/", 200, "Softy-Pinko")
        self.probe("front-end", f"{url}/nope", 404, "Softy-Pinko")

    def smoke_task3(self) -> None:
        self.build("back-end", "softy-pinko-back-end:task3")
        self.build("front-end", "softy-pinko-front-end:task3")
        api = self.docker_run("softy-pinko-back-end:task3", 5252)
        web = self.docker_run("softy-pinko-front-end:task3", 9000)
        self.probe("back-end", f"{api}/api/hello", 200, "Hello, World!")
        self.probe("front-end", f"{web}/", 200, 'id="dynamic-content"')

    def compose_up(self, env: dict[str, str], replicas: int | None = None) -> None:
        project = ComposeProject.for_task(self.task, f"smoke-{self.task}", env)
        project.down()
        self.cleanup.append(project.down)
        self.logs.append(project.logs)
        seconds = project.up(replicas)
        self.check("compose up --wait: every container healthy", True, f"{seconds:.0f}s")

    def smoke_task4(self) -> None:
        env = {"BACK_END_PORT": str(free_port()), "FRONT_END_PORT": str(free_port())}
        self.compose_up(env)
        self.probe(
            "back-end", f"http://127.0.0.1:{env['BACK_END_PORT']}/api/hello", 200, "Hello, World!"
        )
        self.probe(
            "front-end", f"http://127.0.0.1:{env['FRONT_END_PORT']}/", 200, 'id="dynamic-content"'
        )

    def smoke_task5(self, replicas: int | None = None) -> None:
        env = {"PROXY_PORT": str(free_port())}
        self.compose_up(env, replicas)
        url = f"http://127.0.0.1:{env['PROXY_PORT']}"
        self.probe("proxy → front-end", f"{url}/", 200, 'id="dynamic-content"')
        self.probe("proxy → back-end", f"{url}/api/hello", 200, "Hello, World!", "X-Request-ID")
        self.probe("proxy → back-end", f"{url}/api/nope", 404, '"status": 404')
        if replicas:
            served = {fetch(f"{url}/api/hello")[1].get("X-Served-By") for _ in range(replicas * 3)}
            self.check(
                f"round-robin reaches all {replicas} replicas",
                len(served) == replicas,
                ", ".join(sorted(s or "(none)" for s in served)),
            )

    def smoke_task6(self) -> None:
        self.smoke_task5(replicas=2)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not hasattr(Smoke, f"smoke_{argv[1]}"):
        print(__doc__, file=sys.stderr)
        return 2
    return 0 if Smoke(argv[1]).run() else 1


if __name__ == "__main__":
    sys.exit(cli.run_main(main))
