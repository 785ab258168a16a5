"""`softy-pinko-docker bench [--part all|throughput|deploy|images]` (`make bench`): every part
measured, reports/bench.json written, the table printed, the charts drawn."""

from __future__ import annotations

import json
import shutil
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from softy_pinko_docker import REPO, cli
from softy_pinko_docker.bench import charts, deploys, images
from softy_pinko_docker.bench.report import REPORT, print_report
from softy_pinko_docker.bench.throughput import log, measure_throughput
from softy_pinko_docker.docker import ToolError


def interrupted(*_: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    parser = cli.parser(argv, "softy_pinko_docker.bench.command", (__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--part",
        choices=["all", "throughput", "deploy", "images"],
        default="all",
        help="throughput: the proxy and scaling; deploy: shipping a change (deploys.py);"
        " images: sizes and build times (images.py)",
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
        "deploy": lambda: results.update(deploy=deploys.measure(log)),
        "images": lambda: results.update(images_part=images.measure(log)),
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
