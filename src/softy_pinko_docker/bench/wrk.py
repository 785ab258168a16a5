"""The load generators: wrk for throughput (its result as JSON, wrk_report.lua), and an
open-loop client at a fixed rate for latency."""

from __future__ import annotations

import http.client
import json
import os
import resource
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from softy_pinko_docker.bench.figures import cpu_share, percentile
from softy_pinko_docker.docker import ToolError

DURATION = 5  # seconds per measured wrk run


WARMUP = 2  # seconds of unmeasured load before a series


WRK_THREADS = 1


# Enough requests in flight that round-robin keeps every quota-limited replica busy: a replica
# throttled for the rest of its CFS period (100 ms) holds the connections that wait on it, and
# with few connections the others run dry meanwhile (16 measured 1.54-1.69x for 2 vs 1).
WRK_CONNECTIONS = 64


RATE = 200  # requests/s of the open-loop latency client


RATE_SECONDS = 5


PATH = "/api/hello"


WRK_SCRIPT = Path(__file__).with_name("wrk_report.lua")


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
