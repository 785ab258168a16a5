"""Part 1 of `make bench`: what the task6 proxy costs and what scaling buys (see the
package's docstring for the method), on the stack as its own Compose project."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from softy_pinko_docker import REPO
from softy_pinko_docker.bench import images
from softy_pinko_docker.bench.figures import parse_mem, ratio, rounded, serpentine, summarize
from softy_pinko_docker.bench.wrk import (
    DURATION,
    PATH,
    RATE,
    RATE_SECONDS,
    WARMUP,
    WRK_CONNECTIONS,
    WRK_THREADS,
    open_loop,
    wrk,
)
from softy_pinko_docker.compose import ComposeProject, free_port
from softy_pinko_docker.docker import docker, docker_json, run

TASK = "task6"


PROJECT = "bench-task6"


ROUNDS = 3


REPLICA_CPUS = 0.5


ISOLATED_REPLICA_CPUS = 1.0  # proxy vs direct: the replica's CPU, the rest has the other core


OVERRIDE = """\
# Written by bench/throughput.py: publish each replica on 127.0.0.1 for the direct measurement.
services:
  back-end:
    ports:
      - "127.0.0.1::5252"
"""


def replicas(project: ComposeProject) -> list[str]:
    return [c.name for c in project.containers("back-end")]


def limit_cpus(project: ComposeProject, cpus: float | None) -> None:
    """Hold every replica to `cpus` CPUs, or lift the limit (None)."""
    # `--cpus 0` leaves the old quota in place; a quota of -1 is "no limit".
    limit = ["--cpus", str(cpus)] if cpus is not None else ["--cpu-quota", "-1"]
    for name in replicas(project):
        docker("update", *limit, name)


def scale(project: ComposeProject, count: int, cpus: float | None) -> None:
    # The scale waits until healthy (not `up --wait`, which gives up at once on a replica that
    # its saturated CPU quota leaves briefly unhealthy).
    project.scale("back-end", count, timeout=90)
    limit_cpus(project, cpus)
    project.wait_serving(count, PATH)


def direct_url(project: ComposeProject) -> str:
    port = project.port("back-end", 5252)
    return f"http://127.0.0.1:{port}{PATH}"


def memory(project: ComposeProject) -> dict[str, float]:
    names = [c.name for c in project.running()]
    rows = docker_json("stats", "--no-stream", "--format", "json", *names, timeout=60)
    return {row["Name"]: round(parse_mem(row["MemUsage"]), 1) for row in rows}


def image_sizes(project: ComposeProject) -> dict[str, Any]:
    """Each image of the stack, and what it adds to the base its Dockerfile names."""
    services = project.config()["services"].values()
    return {s["image"]: images.size_of(s["image"], Path(s["build"]["context"])) for s in services}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    found = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
    info = docker_json("info", "--format", "{{json .}}")[0]
    wrk_version = run(["wrk", "--version"], check=False).stdout.splitlines()
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(int(found.group(1)) / 2**20, 1) if found else None,
        "docker": info["ServerVersion"],
        "storage_driver": info["Driver"],
        "wrk": (wrk_version or ["wrk"])[0].strip(),
        "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
    }


def settings() -> dict[str, Any]:
    return {
        "rounds": ROUNDS,
        "duration_s": DURATION,
        "warmup_s": WARMUP,
        "wrk_threads": WRK_THREADS,
        "wrk_connections": WRK_CONNECTIONS,
        "open_loop_rate": RATE,
        "open_loop_seconds": RATE_SECONDS,
        "replica_cpus": REPLICA_CPUS,
        "isolated_replica_cpus": ISOLATED_REPLICA_CPUS,
        "path": PATH,
    }


def start(project: ComposeProject, results: dict[str, Any]) -> None:
    """Build, then a cold start with 1 replica; sizes and memory at rest."""
    log("building the task6 images")
    built = time.monotonic()
    project.run("build", "--quiet", timeout=900)
    results["build_s"] = round(time.monotonic() - built, 1)
    results["images"] = image_sizes(project)
    log("cold start: create and start the stack with 1 replica, until healthy")
    started = time.monotonic()
    project.run(
        "up", "--detach", "--no-build", "--wait", "--wait-timeout", "120", "--scale", "back-end=1"
    )
    project.wait_healthy(120, {"back-end": 1})
    results["cold_start_s"] = round(time.monotonic() - started, 1)
    results["memory_at_rest_mib"] = memory(project)


def memory_under_load(project: ComposeProject, url: str) -> dict[str, float]:
    """`docker stats` during an extra (unmeasured) wrk run through the proxy."""
    under_load: dict[str, float] = {}
    sampler = threading.Thread(target=lambda: under_load.update(memory(project)))
    sampler.start()
    wrk(url, 4)
    sampler.join(timeout=60)
    return under_load


def proxy_vs_direct(
    project: ComposeProject, proxy: str, direct: str, results: dict[str, Any]
) -> None:
    """(1) and (3): ROUNDS rounds of proxy then direct, at 1 CPU, unrestricted, open loop."""
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        key: {"proxy": [], "direct": []} for key in ("isolated", "unlimited", "latency")
    }
    for n in range(ROUNDS):
        for key, cpus in (("isolated", ISOLATED_REPLICA_CPUS), ("unlimited", None)):
            limit_cpus(project, cpus)
            for case, url in (("proxy", proxy), ("direct", direct)):
                runs[key][case].append(wrk(url, DURATION))
                log(
                    f"round {n + 1} {case:6} {runs[key][case][-1]['rps']:8.0f} req/s, "
                    f"replica {'at ' + str(cpus) + ' CPU' if cpus else 'unrestricted'}"
                )
        for case, url in (("proxy", proxy), ("direct", direct)):
            runs["latency"][case].append(open_loop(url, RATE, RATE_SECONDS))
            log(
                f"round {n + 1} {case:6} open-loop {RATE}/s p50 "
                f"{runs['latency'][case][-1]['p50_ms']:.2f} ms p99 "
                f"{runs['latency'][case][-1]['p99_ms']:.2f} ms"
            )
    for key, name, suffix in (
        ("isolated", "single_replica_isolated", ""),
        ("unlimited", "single_replica_unlimited", "_shared_cpu"),
    ):
        results.update(summarize_pair(runs[key], name, suffix))
    results["fixed_rate_latency"] = summarize_latency(runs["latency"])


def summarize_pair(runs: dict[str, list[dict[str, Any]]], name: str, suffix: str) -> dict[str, Any]:
    rps = {case: summarize([s["rps"] for s in samples]) for case, samples in runs.items()}
    # Paired per round (the two runs of a round are seconds apart), then their median.
    paired = [p["rps"] / d["rps"] for p, d in zip(runs["proxy"], runs["direct"], strict=True)]
    return {
        name: {
            case: {
                "rps": rps[case],
                "wrk_latency_avg_ms": summarize([s["latency_avg_ms"] for s in samples]),
                "generator_cpu_pct": summarize([s["generator_cpu_pct"] for s in samples]),
                "errors": sum(s["errors"] for s in samples),
            }
            for case, samples in runs.items()
        },
        f"proxy_vs_direct_rps_ratio{suffix}": rounded(
            ratio(rps["proxy"]["median"], rps["direct"]["median"])
        ),
        f"proxy_vs_direct_per_round{suffix}": summarize(paired),
    }


def summarize_latency(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return {
        "method": f"open-loop Python client (threads, keep-alive), {RATE} req/s for "
        f"{RATE_SECONDS} s, latency from each request's scheduled time",
        **{
            case: {
                key: summarize([r[key] for r in samples])
                for key in ("p50_ms", "p99_ms", "achieved_rps", "generator_cpu_pct")
            }
            | {"errors": sum(r["errors"] for r in samples)}
            for case, samples in runs.items()
        },
    }


def scaling(project: ComposeProject, url: str, results: dict[str, Any]) -> None:
    """(2) 1, 2 and 3 replicas at REPLICA_CPUS each, in a serpentine order."""
    log(f"scaling: replicas at {REPLICA_CPUS} CPU each, order {serpentine([1, 2, 3], ROUNDS)}")
    scaled: dict[int, list[dict[str, Any]]] = {1: [], 2: [], 3: []}
    for count in serpentine([1, 2, 3], ROUNDS):
        scale(project, count, REPLICA_CPUS)
        wrk(url, 1)
        scaled[count].append(wrk(url, DURATION))
        log(f"{count} replica(s) {scaled[count][-1]['rps']:8.0f} req/s")
    results["memory_at_rest_3_replicas_mib"] = memory(project)
    scale_rps = {n: summarize([s["rps"] for s in runs]) for n, runs in scaled.items()}
    results["scaling"] = {
        str(n): {
            "rps": scale_rps[n],
            "generator_cpu_pct": summarize([s["generator_cpu_pct"] for s in runs]),
            "errors": sum(s["errors"] for s in runs),
        }
        for n, runs in scaled.items()
    }
    for n in (2, 3):
        results[f"scaling_{n}_vs_1_replicas"] = rounded(
            ratio(scale_rps[n]["median"], scale_rps[1]["median"])
        )


def restart(project: ComposeProject, results: dict[str, Any]) -> None:
    log("restart: stop the stack, then `up --wait` from stopped containers")
    count = len(replicas(project))
    project.run("stop", "--timeout", "10")
    started = time.monotonic()
    project.run(
        "up",
        "--detach",
        "--no-build",
        "--no-recreate",
        "--wait",
        "--wait-timeout",
        "120",
        "--scale",
        f"back-end={count}",
    )
    project.wait_healthy(120, {"back-end": count})
    results["start_from_stopped_s"] = round(time.monotonic() - started, 1)
    results["start_from_stopped_replicas"] = count


def measure(project: ComposeProject) -> dict[str, Any]:
    results: dict[str, Any] = {"machine": machine(), "settings": settings()}
    start(project, results)
    proxy = f"http://127.0.0.1:{project.port('proxy', 80)}{PATH}"
    direct = direct_url(project)
    log(f"proxy {proxy}  direct {direct}")
    for url in (proxy, direct):
        wrk(url, WARMUP)
    results["memory_under_load_mib"] = memory_under_load(project, proxy)
    proxy_vs_direct(project, proxy, direct, results)
    scaling(project, proxy, results)
    restart(project, results)
    results["loadavg_at_end"] = Path("/proc/loadavg").read_text().split()[:3]
    return results


def measure_throughput() -> dict[str, Any]:
    """Part 1 on its own Compose project, torn down at the end whatever happens."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    override = workdir / "bench-override.yml"
    override.write_text(OVERRIDE)
    project = ComposeProject(REPO / TASK, PROJECT, {"PROXY_PORT": str(free_port())}, (override,))
    try:
        return measure(project)
    finally:
        log("tearing down")
        try:
            project.down()
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
