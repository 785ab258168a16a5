"""`make bench`'s figures as SVG charts, drawn with matplotlib, for BENCHMARKS.md.

    softy-pinko-docker charts [reports/bench.json]    redraw the charts of a saved run

Each bar is a median, and its whisker spans the run's min to max, as in the tables. The SVGs are
written to docs/charts/ (committed: BENCHMARKS.md shows them) with fixed ids and no date, so
redrawing the same run gives the same files.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("svg")  # no display, no GUI toolkit
import matplotlib.pyplot as plt  # noqa: E402

from softy_pinko_docker import REPO, cli  # noqa: E402
from softy_pinko_docker.docker import ToolError  # noqa: E402

OUT = REPO / "docs" / "charts"
PINK, GREY = "#e0457b", "#8a8a99"
# Text stays text (smaller, selectable); a fixed salt keeps the ids the same from run to run.
plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "softy-pinko", "font.size": 10})
plt.rcParams.update({"axes.spines.top": False})
plt.rcParams.update({"axes.spines.right": False})


def bars(summaries: list[dict[str, Any]]) -> tuple[list[float], list[list[float]]]:
    """Medians, and matplotlib's asymmetric error bars from each summary's min and max."""
    medians = [s["median"] or 0.0 for s in summaries]
    low = [m - (s["min"] or m) for m, s in zip(medians, summaries, strict=True)]
    high = [(s["max"] or m) - m for m, s in zip(medians, summaries, strict=True)]
    return medians, [low, high]


def save(figure: Any, name: str) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / name
    figure.tight_layout()
    figure.savefig(path, format="svg", metadata={"Date": None})
    plt.close(figure)
    return path


def scaling_chart(results: dict[str, Any]) -> Path:
    counts = sorted(results["scaling"], key=int)
    medians, errors = bars([results["scaling"][n]["rps"] for n in counts])
    figure, axes = plt.subplots(figsize=(5, 3.2))
    axes.bar([f"{n} replica{'s' if n != '1' else ''}" for n in counts], medians, color=PINK)
    axes.errorbar(range(len(counts)), medians, yerr=errors, fmt="none", ecolor="black")
    for x, value in enumerate(medians):  # above the whisker, not across it
        axes.annotate(f"{value:.0f}", (x, value + errors[1][x]), ha="center", va="bottom",
                      xytext=(0, 3), textcoords="offset points")  # fmt: skip
    axes.set_ylabel("requests/s through the proxy")
    axes.set_title("Scaling out: each replica held to 0.5 CPU")
    return save(figure, "scaling.svg")


def proxy_chart(results: dict[str, Any]) -> Path:
    cases = [("single_replica_isolated", "replica at 1 CPU"),
             ("single_replica_unlimited", "replica unrestricted")]  # fmt: skip
    figure, axes = plt.subplots(figsize=(5.5, 3.2))
    width = 0.38
    for offset, (path, colour) in ((-width / 2, ("proxy", PINK)), (width / 2, ("direct", GREY))):
        medians, errors = bars([results[key][path]["rps"] for key, _ in cases])
        xs = [x + offset for x in range(len(cases))]
        axes.bar(xs, medians, width, color=colour, label=path)
        axes.errorbar(xs, medians, yerr=errors, fmt="none", ecolor="black")
    axes.set_xticks(range(len(cases)), [label for _, label in cases])
    axes.set_ylabel("requests/s, one replica")
    axes.set_title("Through the proxy vs straight to the replica")
    axes.legend(frameon=False)
    return save(figure, "proxy-vs-direct.svg")


def latency_chart(results: dict[str, Any]) -> Path:
    latency = results["fixed_rate_latency"]
    figure, axes = plt.subplots(figsize=(5, 3.2))
    width = 0.38
    for offset, (path, colour) in ((-width / 2, ("proxy", PINK)), (width / 2, ("direct", GREY))):
        medians, errors = bars([latency[path]["p50_ms"], latency[path]["p99_ms"]])
        xs = [offset, 1 + offset]
        axes.bar(xs, medians, width, color=colour, label=path)
        axes.errorbar(xs, medians, yerr=errors, fmt="none", ecolor="black")
    axes.set_xticks([0, 1], ["p50", "p99"])
    axes.set_ylabel("ms")
    axes.set_title("Latency at a fixed request rate (open loop)")
    axes.legend(frameon=False)
    return save(figure, "latency.svg")


def draw(results: dict[str, Any]) -> list[Path]:
    """Every chart the results have data for."""
    drawn = []
    if "scaling" in results:
        drawn.append(scaling_chart(results))
    if "single_replica_isolated" in results:
        drawn.append(proxy_chart(results))
    if "fixed_rate_latency" in results:
        drawn.append(latency_chart(results))
    return drawn


def main(argv: list[str]) -> int:
    parser = cli.parser(argv, "softy_pinko_docker.bench.charts", __doc__)
    parser.add_argument(
        "source",
        nargs="?",
        type=Path,
        default=REPO / "reports" / "bench.json",
        help="the benchmark's results (default: reports/bench.json)",
    )
    source = parser.parse_args(argv[1:]).source
    if not source.exists():
        raise ToolError(f"no {source}: run `make bench` first")
    for path in draw(json.loads(source.read_text())):
        print(f"[charts] {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(cli.run_main(main))
