"""`make bench`: what the task6 proxy costs and what scaling buys, as figures (never pass/fail).

One run, on the task6 stack as its own Compose project (``bench-task6``), on free 127.0.0.1
ports, torn down at the end whatever happens:

1. requests/s through the proxy vs straight to the same single replica (its port 5252 published
   on 127.0.0.1 by a Compose override written to a temporary directory). The proxy's JSON
   access log stays on. Twice: with the replica held to 1 CPU, so the proxy and the generator
   have the other core as they would have their own CPU in production (the headline ratio:
   what the proxy adds in the path); and with the replica unrestricted, so on a 2-core box the
   proxy's CPU comes out of the replica's (what colocating everything costs).
2. requests/s through the proxy with 1, 2 and 3 replicas, each replica held to 0.5 CPU
   (``docker update --cpus``), so that horizontal scaling shows on a 2-core machine.
3. p50/p99 latency at a fixed request rate, from an open-loop client (below), proxy and direct.
4. image sizes (total, and over their base) and the time from nothing, and from stopped
   containers, to a healthy stack.
5. memory of every container at rest and under load.

Method: the cases of (1)+(3) are interleaved and repeated (ROUNDS rounds of proxy, direct), the
replica counts of (2) in a serpentine (1,2,3 / 3,2,1 / 1,2,3) so each count is measured early
and late and a scale step changes one replica at a time. Every figure is a median with its
min-max. The generator is `wrk` (same threads and connections for every case); its own CPU time
comes from wait4()'s rusage of that very process, so the reader can see it is not the limit.
Writes reports/bench.json, prints a table and draws docs/charts/*.svg (tools/charts.py).
`make bench BENCH=deploy` runs tools/bench_deploy.py (shipping a change) instead,
`make bench BENCH=images` tools/bench_images.py (every image's size over its base, beside a naive
curriculum image; a back-end's build cold and warm), and `make bench` all three.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tools import REPO, bench_deploy, bench_images, charts, cli
from tools.compose import ComposeProject, free_port
from tools.docker import ToolError, docker, docker_json

TASK = "task6"
PROJECT = "bench-task6"
REPORT = REPO / "reports" / "bench.json"
ROUNDS = 3
DURATION = 5  # seconds per measured wrk run
WARMUP = 2  # seconds of unmeasured load before a series
WRK_THREADS = 1
# Enough requests in flight that round-robin keeps every quota-limited replica busy: a replica
# throttled for the rest of its CFS period (100 ms) holds the connections that wait on it, and
# with few connections the others run dry meanwhile (16 measured 1.54-1.69x for 2 vs 1).
WRK_CONNECTIONS = 64
RATE = 200  # requests/s of the open-loop latency client
RATE_SECONDS = 5
REPLICA_CPUS = 0.5
ISOLATED_REPLICA_CPUS = 1.0  # proxy vs direct: the replica's CPU, the rest has the other core
PATH = "/api/hello"
OVERRIDE = """\
# Written by tools/bench.py: publish each replica on 127.0.0.1 for the direct measurement.
services:
  back-end:
    ports:
      - "127.0.0.1::5252"
"""
WRK_SCRIPT = Path(__file__).with_name("wrk_report.lua")


# --------------------------------------------------------------------------------------------
# Pure helpers (unit-tested in tests/unit/test_bench.py)
# --------------------------------------------------------------------------------------------
_BYTES = {
    "b": 1 / 2**20,
    "kib": 1 / 1024,
    "kb": 1e3 / 2**20,
    "mib": 1.0,
    "mb": 1e6 / 2**20,
    "gib": 1024.0,
    "gb": 1e9 / 2**20,
}


def parse_wrk(output: str) -> dict[str, Any]:
    """The figures of one wrk run, from the JSON line its done() hook prints (wrk_report.lua):
    rps, requests, errors, latency average and max in ms."""
    line = next((line for line in reversed(output.splitlines()) if line.startswith("{")), "")
    if not line:
        raise ToolError(f"wrk printed no result: {output.strip()[-300:]}")
    report = json.loads(line)
    latency = report["latency_us"]
    return {
        "rps": report["requests"] / (report["duration_us"] / 1e6),
        "requests": report["requests"],
        "errors": sum(report["errors"].values()),
        "latency_avg_ms": latency["mean"] / 1e3,
        "latency_max_ms": latency["max"] / 1e3,
    }


def summarize(values: list[float]) -> dict[str, Any]:
    """Median with min and max (and the samples), so the noise of a figure shows."""
    if not values:
        return {"median": None, "min": None, "max": None, "n": 0, "samples": []}
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
        "samples": [round(v, 3) for v in values],
    }


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator/denominator, or None when either is missing or the denominator is 0."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile (pct in 0..100) of unsorted values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))  # ceil(n * pct / 100), at least 1
    return ordered[int(min(rank, len(ordered))) - 1]


def serpentine(cases: list[int], rounds: int) -> list[int]:
    """cases in order, then reversed, then in order...: each case early and late, and a
    neighbouring pair differs by one step (1,2,3,3,2,1,1,2,3)."""
    order: list[int] = []
    for n in range(rounds):
        order += cases if n % 2 == 0 else cases[::-1]
    return order


def parse_mem(usage: str) -> float:
    """MiB used from a `docker stats` MemUsage such as '12.5MiB / 23.5GiB'."""
    match = re.match(r"\s*([\d.]+)\s*([KMG]?i?B)", usage, re.I)
    if not match:
        raise ValueError(f"not a memory usage: {usage!r}")
    return float(match.group(1)) * _BYTES[match.group(2).lower()]


def cpu_share(cpu_seconds: float, wall_seconds: float) -> float:
    """Percent of one core used over a wall-clock interval."""
    return 100.0 * cpu_seconds / wall_seconds if wall_seconds > 0 else 0.0


# --------------------------------------------------------------------------------------------
# The stack
# --------------------------------------------------------------------------------------------
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
    return {
        s["image"]: bench_images.size_of(s["image"], Path(s["build"]["context"])) for s in services
    }


# --------------------------------------------------------------------------------------------
# Load generators
# --------------------------------------------------------------------------------------------
def wrk(url: str, seconds: float) -> dict[str, Any]:
    """One bounded wrk run; its figures plus the CPU the wrk process itself used."""
    with tempfile.TemporaryFile("w+") as out:
        started = time.monotonic()
        # Popen and wait4: the CPU time of this one process, not of every child.
        proc = subprocess.Popen(
            [
                "wrk",
                f"-t{WRK_THREADS}",
                f"-c{WRK_CONNECTIONS}",
                f"-d{seconds}s",
                "--timeout",
                "2s",
                "--script",
                str(WRK_SCRIPT),
                url,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        deadline = started + seconds + 15
        while True:
            if time.monotonic() >= deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4, not by Popen
        wall = time.monotonic() - started
        out.seek(0)
        text = out.read()
    if proc.returncode != 0:
        raise ToolError(f"wrk failed: {text.strip()[-300:]}")
    result = parse_wrk(text)
    result["generator_cpu_pct"] = round(cpu_share(usage.ru_utime + usage.ru_stime, wall), 1)
    return result


class Schedule:
    """The open-loop client's plan: request i is due at `start + i / rate`."""

    def __init__(self, url: str, rate: float, seconds: float):
        self.url, self.rate, self.total = url, rate, int(rate * seconds)
        self.start = time.perf_counter() + 0.2
        self.latencies: list[float] = []
        self.errors = 0
        self.lock = threading.Lock()
        self.next_index = 0

    def take(self) -> float | None:
        """The next request's due time, or None when all are taken."""
        with self.lock:
            i = self.next_index
            self.next_index += 1
        return None if i >= self.total else self.start + i / self.rate

    def send_all(self) -> None:
        """One worker: a keep-alive connection sending each request it takes at its due time."""
        parts = urlsplit(self.url)
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=5)
        while (due := self.take()) is not None:
            time.sleep(max(0.0, due - time.perf_counter()))
            try:
                conn.request("GET", parts.path)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
            with self.lock:
                if ok:
                    self.latencies.append((time.perf_counter() - due) * 1000)
                else:
                    self.errors += 1
        conn.close()


def open_loop(url: str, rate: float, seconds: float, workers: int = 16) -> dict[str, Any]:
    """Fixed-rate (open-loop) GETs: request i is due at start + i/rate whatever happened before.

    A pool of threads with keep-alive connections takes the due times in order; latency is
    measured from the *due* time, so a late send (a stalled server holding every thread)
    counts as waiting, not as a gap in the schedule (no coordinated omission).
    """
    plan = Schedule(url, rate, seconds)
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    threads = [threading.Thread(target=plan.send_all, daemon=True) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 30)
    wall = time.perf_counter() - plan.start
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return {
        "p50_ms": percentile(plan.latencies, 50),
        "p99_ms": percentile(plan.latencies, 99),
        "max_ms": max(plan.latencies) if plan.latencies else None,
        "ok": len(plan.latencies),
        "errors": plan.errors,
        "achieved_rps": round(len(plan.latencies) / wall, 1),
        "generator_cpu_pct": round(cpu_share(cpu, wall), 1),
    }


# --------------------------------------------------------------------------------------------
# The run, step by step
# --------------------------------------------------------------------------------------------
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
    wrk_version = subprocess.run(
        ["wrk", "--version"], capture_output=True, text=True, check=False
    ).stdout.splitlines()
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


def rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


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


# --------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------
def fmt(summary: dict[str, Any], digits: int = 0) -> str:
    if summary.get("median") is None:
        return "-"
    return (
        f"{summary['median']:.{digits}f} ({summary['min']:.{digits}f}-{summary['max']:.{digits}f})"
    )


def throughput_rows(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows = []
    for key, label, suffix in (
        ("single_replica_isolated", f"1 replica at {ISOLATED_REPLICA_CPUS:g} CPU", ""),
        ("single_replica_unlimited", "1 replica, unlimited", "_shared_cpu"),
    ):
        for case in ("proxy", "direct"):
            rows.append(
                (
                    f"{label}, {case} req/s",
                    fmt(results[key][case]["rps"]),
                    fmt(results[key][case]["generator_cpu_pct"]),
                )
            )
        rows.append(
            (
                f"{label}: proxy / direct",
                f"{results['proxy_vs_direct_rps_ratio' + suffix]:.2f} (per round "
                f"{fmt(results['proxy_vs_direct_per_round' + suffix], 2)})",
                "",
            )
        )
    for n in ("1", "2", "3"):
        s = results["scaling"][n]
        rows.append(
            (
                f"{n} replica(s) x {REPLICA_CPUS} CPU, proxy req/s",
                fmt(s["rps"]),
                fmt(s["generator_cpu_pct"]),
            )
        )
    rows.append(("2 vs 1 replicas", f"{results['scaling_2_vs_1_replicas']:.2f}x", ""))
    rows.append(("3 vs 1 replicas", f"{results['scaling_3_vs_1_replicas']:.2f}x", ""))
    lat = results["fixed_rate_latency"]
    for case in ("proxy", "direct"):
        rows.append(
            (
                f"{RATE} req/s open loop, {case} p50 ms",
                fmt(lat[case]["p50_ms"], 2),
                fmt(lat[case]["generator_cpu_pct"]),
            )
        )
        rows.append((f"{RATE} req/s open loop, {case} p99 ms", fmt(lat[case]["p99_ms"], 2), ""))
    return rows


def other_rows(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows = []
    for name, size in results["images"].items():
        rows.append(
            (
                f"image {name} MB",
                f"{size['mb']:.1f} ({bench_images.over_base(size)} over {size['base']})",
                "",
            )
        )
    rows.append(
        ("cold start to healthy (create, 1 replica) s", f"{results['cold_start_s']:.1f}", "")
    )
    rows.append(
        (
            f"start from stopped ({results['start_from_stopped_replicas']} replicas) s",
            f"{results['start_from_stopped_s']:.1f}",
            "",
        )
    )
    at_rest, loaded = results["memory_at_rest_mib"], results["memory_under_load_mib"]
    for name in sorted(at_rest):
        rows.append(
            (
                f"memory {name} MiB",
                f"{at_rest[name]:.1f} at rest, {loaded.get(name, float('nan')):.1f} under load",
                "",
            )
        )
    return rows


def table(results: dict[str, Any]) -> str:
    rows = [
        ("Case", "median (min-max)", "wrk CPU % of a core"),
        *throughput_rows(results),
        *other_rows(results),
    ]
    width = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        " | ".join(cell.ljust(width[i]) for i, cell in enumerate(row)).rstrip() for row in rows
    ]
    lines.insert(1, "-+-".join("-" * w for w in width))
    return "\n".join(lines)


def print_rows(title: str, rows: list[tuple[str, str]]) -> None:
    width = max(len(label) for label, _ in rows)
    print(f"\n{title}")
    print("\n".join(f"{label.ljust(width)} | {value}" for label, value in rows))


def print_report(results: dict[str, Any]) -> None:
    print()
    if "machine" in results:
        print(table(results))
        m = results["machine"]
        print(
            f"\n{m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB, Docker {m['docker']} "
            f"({m['storage_driver']}), load average {' '.join(m['loadavg_at_start'])} at "
            f"start, {' '.join(results['loadavg_at_end'])} at end."
        )
    if "deploy" in results:
        print_rows(
            "Shipping a change, under 8 keep-alive clients (tools/load.py mix)",
            bench_deploy.table(results["deploy"]),
        )
        deploy = results["deploy"]
        print(
            f"deploy_failed_requests {deploy['deploy_failed_requests']}, deploy_s "
            f"{deploy['deploy_s']}, reload_failed_retrying {deploy['reload_failed_retrying']}"
        )
    if "images_part" in results:
        print_rows("Images and builds", bench_images.table(results["images_part"]))
    print(f"{results['total_s']:.0f} s in all. Written: {REPORT.relative_to(REPO)}")


def interrupted(*_: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    parser = cli.parser(argv, "tools.bench", (__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--part",
        choices=["all", "throughput", "deploy", "images"],
        default="all",
        help="throughput: the proxy and scaling; deploy: shipping a change (tools/bench_deploy.py);"
        " images: sizes and build times (tools/bench_images.py)",
    )
    part = parser.parse_args(argv[1:]).part
    if part in ("all", "throughput") and not shutil.which("wrk"):
        raise ToolError("wrk is not installed: run `make bootstrap` (apt-get install wrk)")
    # A SIGTERM (CI cancelling the job) tears the stacks down as Ctrl-C would.
    previous = signal.signal(signal.SIGTERM, interrupted)
    started = time.monotonic()
    results: dict[str, Any] = {}
    parts: dict[str, Callable[[], None]] = {
        "throughput": lambda: results.update(measure_throughput()),
        "deploy": lambda: results.update(deploy=bench_deploy.measure(log)),
        "images": lambda: results.update(images_part=bench_images.measure(log)),
    }
    try:
        for name, measure_part in parts.items():
            if part in ("all", name):
                measure_part()
    finally:
        signal.signal(signal.SIGTERM, previous)
    results["total_s"] = round(time.monotonic() - started, 1)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(results, indent=2) + "\n")
    print_report(results)
    for chart in charts.draw(results):
        print(f"chart: {chart.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(cli.run_main(main))
