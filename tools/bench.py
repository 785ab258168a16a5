#!/usr/bin/env python3
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
Writes reports/bench.json and prints a table.
"""
from __future__ import annotations

import argparse
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_deploy  # noqa: E402
import stack  # noqa: E402

REPO = stack.REPO
TASK = "task6"
PROJECT = "bench-task6"
REPORT = REPO / "reports" / "bench.json"
ROUNDS = 3
DURATION = 5            # seconds per measured wrk run
WARMUP = 2              # seconds of unmeasured load before a series
WRK_THREADS = 1
# Enough requests in flight that round-robin keeps every quota-limited replica busy: a replica
# throttled for the rest of its CFS period (100 ms) holds the connections that wait on it, and
# with few connections the others run dry meanwhile (16 measured 1.54-1.69x for 2 vs 1).
WRK_CONNECTIONS = 64
RATE = 200              # requests/s of the open-loop latency client
RATE_SECONDS = 5
REPLICA_CPUS = 0.5
ISOLATED_REPLICA_CPUS = 1.0  # proxy vs direct: the replica's CPU, the rest has the other core
PATH = "/api/hello"
IMAGES = {  # image -> its base
    "softy-pinko-back-end:task6": "python:3.13-slim",
    "softy-pinko-proxy:task6": "nginx:1.30",
    "softy-pinko-front-end:task6": "nginx:1.30",
}
OVERRIDE = """\
# Written by tools/bench.py: publish each replica on 127.0.0.1 for the direct measurement.
services:
  back-end:
    ports:
      - "127.0.0.1::5252"
"""


# --------------------------------------------------------------------------------------------
# Pure helpers (unit-tested in tests/unit/test_bench.py)
# --------------------------------------------------------------------------------------------
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
_BYTES = {"b": 1 / 2**20, "kib": 1 / 1024, "kb": 1e3 / 2**20, "mib": 1.0, "mb": 1e6 / 2**20,
          "gib": 1024.0, "gb": 1e9 / 2**20}


def parse_wrk(text: str) -> dict:
    """The figures of one `wrk` report: rps, requests, errors, latency average/max in ms."""
    rps = re.search(r"^Requests/sec:\s*([\d.]+)", text, re.M)
    if not rps:
        raise ValueError(f"no 'Requests/sec:' in wrk output:\n{text}")
    result = {"rps": float(rps.group(1))}
    done = re.search(r"^\s*(\d+) requests in", text, re.M)
    result["requests"] = int(done.group(1)) if done else None
    latency = re.search(r"^\s*Latency\s+([\d.]+)(us|ms|s|m|h)\s+([\d.]+)(us|ms|s|m|h)"
                        r"\s+([\d.]+)(us|ms|s|m|h)", text, re.M)
    if latency:
        result["latency_avg_ms"] = float(latency.group(1)) * _UNITS[latency.group(2)]
        result["latency_max_ms"] = float(latency.group(5)) * _UNITS[latency.group(6)]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", text)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                        text)
    result["errors"] = (int(non2xx.group(1)) if non2xx else 0) + \
        (sum(int(n) for n in sockets.groups()) if sockets else 0)
    return result


def summarize(values: list[float]) -> dict:
    """Median with min and max (and the samples), so the noise of a figure shows."""
    if not values:
        return {"median": None, "min": None, "max": None, "n": 0, "samples": []}
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "n": len(values), "samples": [round(v, 3) for v in values]}


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


def serpentine(cases: list, rounds: int) -> list:
    """cases in order, then reversed, then in order...: each case early and late, and a
    neighbouring pair differs by one step (1,2,3,3,2,1,1,2,3)."""
    order = []
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
# Docker plumbing
# --------------------------------------------------------------------------------------------
def run(*cmd: str, timeout: float = 120, check: bool = True) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc.stdout


class Stack:
    def __init__(self, override: Path, proxy_port: int):
        self.override, self.env = override, {**os.environ, "PROXY_PORT": str(proxy_port)}
        self.url = f"http://127.0.0.1:{proxy_port}{PATH}"

    def compose(self, *args: str, timeout: float = 300) -> str:
        cmd = stack.compose_cmd(TASK, PROJECT) + ["--file", str(self.override), *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=self.env, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"docker compose {' '.join(args)} failed:\n{proc.stderr[-3000:]}"
                               f"\n{stack.logs(PROJECT)}")
        return proc.stdout

    def replicas(self) -> list[str]:
        return sorted(r["Names"] for r in stack.containers(PROJECT) if r["Service"] == "back-end")

    def names(self) -> list[str]:
        return sorted(r["Names"] for r in stack.containers(PROJECT))

    def up(self, replicas: int) -> float:
        """`up --wait` to `replicas` API replicas; seconds until every container was healthy."""
        started = time.monotonic()
        self.compose("up", "--detach", "--no-build", "--no-recreate", "--wait",
                     "--wait-timeout", "120", "--scale", f"back-end={replicas}")
        stack.wait_healthy(PROJECT, timeout=120, expect={"back-end": replicas})
        return time.monotonic() - started

    def scale(self, replicas: int, cpus: float | None) -> None:
        # Not `up --wait`: a replica at 0.5 CPU that has just been saturated can be briefly
        # "unhealthy" (its Python healthcheck starts an interpreter inside the same quota and
        # times out), and `--wait` fails on that at once. wait_healthy waits it out instead.
        self.compose("up", "--detach", "--no-build", "--no-recreate", "--scale",
                     f"back-end={replicas}")
        stack.wait_healthy(PROJECT, timeout=90, expect={"back-end": replicas})
        self.limit_cpus(cpus)
        stack.wait_serving(self.url, replicas)

    def limit_cpus(self, cpus: float | None) -> None:
        """Hold every replica to `cpus` CPUs, or lift the limit (None)."""
        # `--cpus 0` leaves the old quota in place; a quota of -1 is "no limit".
        limit = ["--cpus", str(cpus)] if cpus is not None else ["--cpu-quota", "-1"]
        for name in self.replicas():
            run("docker", "update", *limit, name)

    def direct_url(self) -> str:
        name = self.replicas()[0]
        hostport = run("docker", "port", name, "5252/tcp").split()[0]
        return f"http://127.0.0.1:{hostport.rsplit(':', 1)[1]}{PATH}"


def free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def memory(names: list[str]) -> dict[str, float]:
    out = run("docker", "stats", "--no-stream", "--format", "{{.Name}}\t{{.MemUsage}}", *names,
              timeout=60)
    return {line.split("\t")[0]: round(parse_mem(line.split("\t")[1]), 1)
            for line in out.splitlines() if "\t" in line}


def image_sizes() -> dict:
    sizes = {}
    for image, base in IMAGES.items():
        size = int(run("docker", "image", "inspect", "--format", "{{.Size}}", image))
        base_size = int(run("docker", "image", "inspect", "--format", "{{.Size}}", base))
        sizes[image] = {"mb": round(size / 1e6, 1), "base": base,
                        "over_base_mb": round((size - base_size) / 1e6, 3),
                        "over_base_bytes": size - base_size}
    return sizes


# --------------------------------------------------------------------------------------------
# Load generators
# --------------------------------------------------------------------------------------------
def wrk(url: str, seconds: float) -> dict:
    """One bounded wrk run; its figures plus the CPU the wrk process itself used."""
    with tempfile.TemporaryFile("w+") as out:
        started = time.monotonic()
        proc = subprocess.Popen(
            ["wrk", f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{seconds}s", "--timeout", "2s",
             "--latency", url], stdout=out, stderr=subprocess.STDOUT)
        deadline = started + seconds + 15
        while True:  # wait4 on this one pid: its own rusage, not that of other children
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped by wait4
        wall = time.monotonic() - started
        out.seek(0)
        text = out.read()
    if proc.returncode != 0:
        raise RuntimeError(f"wrk exited {proc.returncode}:\n{text}")
    result = parse_wrk(text)
    result["generator_cpu_pct"] = round(cpu_share(usage.ru_utime + usage.ru_stime, wall), 1)
    return result


def open_loop(url: str, rate: float, seconds: float, workers: int = 16) -> dict:
    """Fixed-rate (open-loop) GETs: request i is due at start + i/rate whatever happened before.

    A pool of threads with keep-alive connections takes the due times in order; latency is
    measured from the *due* time, so a late send (a stalled server holding every thread)
    counts as waiting, not as a gap in the schedule (no coordinated omission).
    """
    from urllib.parse import urlsplit
    parts = urlsplit(url)
    total = int(rate * seconds)
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    next_index = [0]
    start = time.perf_counter() + 0.2
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)

    def worker() -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
        while True:
            with lock:
                i = next_index[0]
                next_index[0] += 1
            if i >= total:
                break
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            try:
                conn.request("GET", parts.path)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
            elapsed = (time.perf_counter() - due) * 1000
            with lock:
                if ok:
                    latencies.append(elapsed)
                else:
                    errors[0] += 1
        conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 30)
    wall = time.perf_counter() - start
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return {"p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99),
            "max_ms": max(latencies) if latencies else None, "ok": len(latencies),
            "errors": errors[0], "achieved_rps": round(len(latencies) / wall, 1),
            "generator_cpu_pct": round(cpu_share(cpu, wall), 1)}


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------
def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text()
                .splitlines() if line.startswith("model name")), "?")
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    info = run("docker", "info", "--format", "{{.ServerVersion}}\t{{.Driver}}").strip().split("\t")
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory_gib": round(mem_kb / 2**20, 1),
            "docker": info[0], "storage_driver": info[1],
            "wrk": run("wrk", "--version", check=False).splitlines()[0].strip() or "wrk",
            "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3]}


def measure(st: Stack) -> dict:
    results: dict = {"machine": machine(), "settings": {
        "rounds": ROUNDS, "duration_s": DURATION, "warmup_s": WARMUP, "wrk_threads": WRK_THREADS,
        "wrk_connections": WRK_CONNECTIONS, "open_loop_rate": RATE,
        "open_loop_seconds": RATE_SECONDS, "replica_cpus": REPLICA_CPUS,
        "isolated_replica_cpus": ISOLATED_REPLICA_CPUS, "path": PATH}}

    log("building the task6 images")
    built = time.monotonic()
    st.compose("build", "--quiet", timeout=900)
    results["build_s"] = round(time.monotonic() - built, 1)
    results["images"] = image_sizes()

    log("cold start: create and start the stack with 1 replica, until healthy")
    results["cold_start_s"] = round(st.up(1), 1)
    time.sleep(1)
    results["memory_at_rest_mib"] = memory(st.names())
    direct = st.direct_url()
    log(f"proxy {st.url}  direct {direct}")

    # (1) + (3): proxy vs direct on one replica, at 1 CPU and unrestricted, interleaved.
    samples: dict[str, list] = {"proxy": [], "direct": []}
    isolated: dict[str, list] = {"proxy": [], "direct": []}
    latency: dict[str, list] = {"proxy": [], "direct": []}
    under_load: dict = {}
    for url in (st.url, direct):
        wrk(url, WARMUP)
    # Memory under load: `docker stats` during an extra (unmeasured) wrk run through the proxy.
    sampler = threading.Thread(target=lambda: under_load.update(memory(st.names())))
    sampler.start()
    wrk(st.url, 4)
    sampler.join(timeout=60)
    results["memory_under_load_mib"] = under_load
    for n in range(ROUNDS):
        st.limit_cpus(ISOLATED_REPLICA_CPUS)
        for case, url in (("proxy", st.url), ("direct", direct)):
            isolated[case].append(wrk(url, DURATION))
            log(f"round {n + 1} {case:6} {isolated[case][-1]['rps']:8.0f} req/s, replica at "
                f"{ISOLATED_REPLICA_CPUS} CPU")
        st.limit_cpus(None)
        for case, url in (("proxy", st.url), ("direct", direct)):
            samples[case].append(wrk(url, DURATION))
            log(f"round {n + 1} {case:6} {samples[case][-1]['rps']:8.0f} req/s, unrestricted")
        for case, url in (("proxy", st.url), ("direct", direct)):
            latency[case].append(open_loop(url, RATE, RATE_SECONDS))
            log(f"round {n + 1} {case:6} open-loop {RATE}/s p50 {latency[case][-1]['p50_ms']:.2f}"
                f" ms p99 {latency[case][-1]['p99_ms']:.2f} ms")
    for key, runs_by_case, suffix in (("single_replica_isolated", isolated, ""),
                                      ("single_replica_unlimited", samples, "_shared_cpu")):
        rps = {case: summarize([s["rps"] for s in runs]) for case, runs in runs_by_case.items()}
        results[key] = {
            case: {"rps": rps[case],
                   "wrk_latency_avg_ms": summarize([s["latency_avg_ms"] for s in runs]),
                   "generator_cpu_pct": summarize([s["generator_cpu_pct"] for s in runs]),
                   "errors": sum(s["errors"] for s in runs)}
            for case, runs in runs_by_case.items()}
        # Paired per round (the two runs of a round are seconds apart), then their median.
        paired = [p["rps"] / d["rps"] for p, d in zip(runs_by_case["proxy"],
                                                      runs_by_case["direct"])]
        results[f"proxy_vs_direct_rps_ratio{suffix}"] = round(
            ratio(rps["proxy"]["median"], rps["direct"]["median"]), 3)
        results[f"proxy_vs_direct_per_round{suffix}"] = summarize(paired)
    results["fixed_rate_latency"] = {
        "method": f"open-loop Python client (threads, keep-alive), {RATE} req/s for "
                  f"{RATE_SECONDS} s, latency from each request's scheduled time",
        **{case: {"p50_ms": summarize([r["p50_ms"] for r in runs]),
                  "p99_ms": summarize([r["p99_ms"] for r in runs]),
                  "achieved_rps": summarize([r["achieved_rps"] for r in runs]),
                  "generator_cpu_pct": summarize([r["generator_cpu_pct"] for r in runs]),
                  "errors": sum(r["errors"] for r in runs)} for case, runs in latency.items()}}

    # (2) scaling, each replica at REPLICA_CPUS.
    log(f"scaling: replicas at {REPLICA_CPUS} CPU each, order {serpentine([1, 2, 3], ROUNDS)}")
    scaled: dict[int, list] = {1: [], 2: [], 3: []}
    for replicas in serpentine([1, 2, 3], ROUNDS):
        st.scale(replicas, REPLICA_CPUS)
        wrk(st.url, 1)
        scaled[replicas].append(wrk(st.url, DURATION))
        log(f"{replicas} replica(s) {scaled[replicas][-1]['rps']:8.0f} req/s")
    results["memory_at_rest_3_replicas_mib"] = memory(st.names())
    scale_rps = {n: summarize([s["rps"] for s in runs]) for n, runs in scaled.items()}
    results["scaling"] = {
        str(n): {"rps": scale_rps[n],
                 "generator_cpu_pct": summarize([s["generator_cpu_pct"] for s in runs]),
                 "errors": sum(s["errors"] for s in runs)} for n, runs in scaled.items()}
    for n in (2, 3):
        results[f"scaling_{n}_vs_1_replicas"] = round(ratio(scale_rps[n]["median"],
                                                            scale_rps[1]["median"]), 3)

    log("restart: stop the stack, then `up --wait` from stopped containers")
    replicas = len(st.replicas())
    st.compose("stop", "--timeout", "10")
    results["start_from_stopped_s"] = round(st.up(replicas), 1)
    results["start_from_stopped_replicas"] = replicas
    results["loadavg_at_end"] = Path("/proc/loadavg").read_text().split()[:3]
    return results


def fmt(summary: dict, digits: int = 0) -> str:
    if summary.get("median") is None:
        return "-"
    return (f"{summary['median']:.{digits}f} ({summary['min']:.{digits}f}-"
            f"{summary['max']:.{digits}f})")


def table(results: dict) -> str:
    lat = results["fixed_rate_latency"]
    rows = [("Case", "median (min-max)", "wrk CPU % of a core")]
    for key, label, suffix in (
            ("single_replica_isolated", f"1 replica at {ISOLATED_REPLICA_CPUS:g} CPU", ""),
            ("single_replica_unlimited", "1 replica, unlimited", "_shared_cpu")):
        for case in ("proxy", "direct"):
            rows.append((f"{label}, {case} req/s", fmt(results[key][case]["rps"]),
                         fmt(results[key][case]["generator_cpu_pct"])))
        rows.append((f"{label}: proxy / direct",
                     f"{results['proxy_vs_direct_rps_ratio' + suffix]:.2f} (per round "
                     f"{fmt(results['proxy_vs_direct_per_round' + suffix], 2)})", ""))
    for n in ("1", "2", "3"):
        s = results["scaling"][n]
        rows.append((f"{n} replica(s) x {REPLICA_CPUS} CPU, proxy req/s", fmt(s["rps"]),
                     fmt(s["generator_cpu_pct"])))
    rows.append(("2 vs 1 replicas", f"{results['scaling_2_vs_1_replicas']:.2f}x", ""))
    rows.append(("3 vs 1 replicas", f"{results['scaling_3_vs_1_replicas']:.2f}x", ""))
    for case in ("proxy", "direct"):
        rows.append((f"{RATE} req/s open loop, {case} p50 ms", fmt(lat[case]["p50_ms"], 2),
                     fmt(lat[case]["generator_cpu_pct"])))
        rows.append((f"{RATE} req/s open loop, {case} p99 ms", fmt(lat[case]["p99_ms"], 2), ""))
    for image, size in results["images"].items():
        added = size["over_base_bytes"]
        added_text = f"{added / 1e6:.1f} MB" if abs(added) >= 1e5 else f"{added / 1e3:.1f} kB"
        rows.append((f"image {image} MB", f"{size['mb']:.1f} (+{added_text} over "
                     f"{size['base']})", ""))
    rows.append(("cold start to healthy (create, 1 replica) s", f"{results['cold_start_s']:.1f}",
                 ""))
    rows.append((f"start from stopped ({results['start_from_stopped_replicas']} replicas) s",
                 f"{results['start_from_stopped_s']:.1f}", ""))
    at_rest, loaded = results["memory_at_rest_mib"], results["memory_under_load_mib"]
    for name in sorted(at_rest):
        rows.append((f"memory {name} MiB", f"{at_rest[name]:.1f} at rest, "
                     f"{loaded.get(name, float('nan')):.1f} under load", ""))
    width = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [" | ".join(cell.ljust(width[i]) for i, cell in enumerate(row)).rstrip()
             for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in width))
    return "\n".join(lines)


def measure_throughput() -> dict:
    """Part 1 on its own Compose project, torn down at the end whatever happens."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    override = workdir / "bench-override.yml"
    override.write_text(OVERRIDE)
    try:
        return measure(Stack(override, free_port()))
    finally:
        log("tearing down")
        try:
            stack.down(PROJECT)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["all", "throughput", "deploy"], default="all",
                        help="throughput: the proxy and scaling; deploy: shipping a change "
                             "(tools/bench_deploy.py)")
    part = parser.parse_args(argv[1:]).part
    if part != "deploy" and not shutil.which("wrk"):
        print("error: wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    results: dict = {}
    try:
        if part in ("all", "throughput"):
            results.update(measure_throughput())
        if part in ("all", "deploy"):
            log("shipping a change under load (tools/bench_deploy.py)")
            results["deploy"] = bench_deploy.measure(log)
    except Exception as error:  # noqa: BLE001 - one line; the parts tear down what they made
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
    results["total_s"] = round(time.monotonic() - started, 1)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(results, indent=2) + "\n")
    print()
    if "machine" in results:
        print(table(results))
        m = results["machine"]
        print(f"\n{m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB, Docker {m['docker']} "
              f"({m['storage_driver']}), load average {' '.join(m['loadavg_at_start'])} at "
              f"start, {' '.join(results['loadavg_at_end'])} at end.")
    if "deploy" in results:
        rows = bench_deploy.table(results["deploy"])
        width = max(len(label) for label, _ in rows)
        print("\nShipping a change, under 8 keep-alive clients (tools/load.py mix)")
        print("\n".join(f"{label.ljust(width)} | {value}" for label, value in rows))
        deploy = results["deploy"]
        print(f"deploy_failed_requests {deploy['deploy_failed_requests']}, deploy_s "
              f"{deploy['deploy_s']}, reload_failed_retrying {deploy['reload_failed_retrying']}")
    print(f"{results['total_s']:.0f} s in all. Written: {REPORT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
