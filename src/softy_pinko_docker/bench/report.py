"""The benchmark's table on the terminal, and where reports/bench.json goes."""

from __future__ import annotations

from typing import Any

from softy_pinko_docker import REPO
from softy_pinko_docker.bench import deploys, images
from softy_pinko_docker.bench.throughput import (
    ISOLATED_REPLICA_CPUS,
    REPLICA_CPUS,
)
from softy_pinko_docker.bench.wrk import RATE

REPORT = REPO / "reports" / "bench.json"


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
                f"{size['mb']:.1f} ({images.over_base(size)} over {size['base']})",
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
            "Shipping a change, under 8 keep-alive clients (load.py mix)",
            deploys.table(results["deploy"]),
        )
        deploy = results["deploy"]
        print(
            f"deploy_failed_requests {deploy['deploy_failed_requests']}, deploy_s "
            f"{deploy['deploy_s']}, reload_failed_retrying {deploy['reload_failed_retrying']}"
        )
    if "images_part" in results:
        print_rows("Images and builds", images.table(results["images_part"]))
    print(f"{results['total_s']:.0f} s in all. Written: {REPORT.relative_to(REPO)}")
