"""The load test's verdict: is the round-robin even, did anything fail, was it fast enough?

Kept out of Locust's sight (the leading underscore): Locust loads every other ``*.py`` in the
``loadtest`` folder as a locustfile. Pure functions, unit-tested without Locust or Docker.

The tolerance rule. With k replicas and N successful requests, a balancer that sent each request
to a replica at random would give each a share with standard deviation
``sigma = sqrt(p (1 - p) / N)``, ``p = 1/k``. Round-robin should do far better than random, so a
replica whose share is more than ``max(4 sigma, 1 percentage point)`` away from ``1/k`` is a
failure: 4 sigma makes a false alarm rarer than 1 in 10,000 even for a random balancer, and the
1-point floor keeps a large run from failing on a single retried request.
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import io
import json
import math
from collections.abc import Mapping
from typing import cast


@dataclasses.dataclass
class Verdict:
    ok: bool
    reasons: list[str]
    rows: list[tuple[str, int, float, float]]  # replica, requests, share, deviation (pp)
    tolerance_pp: float


def tolerance_pp(replicas: int, total: int) -> float:
    """The allowed deviation from an even share, in percentage points (see the module doc)."""
    if replicas <= 1 or total <= 0:
        return 100.0
    p = 1 / replicas
    return max(4 * math.sqrt(p * (1 - p) / total) * 100, 1.0)


def judge(
    counts: dict[str, int],
    failures: int,
    expected_replicas: int | None,
    p95_ms: float | None,
    max_p95_ms: float,
) -> Verdict:
    total = sum(counts.values())
    replicas = expected_replicas or len(counts)
    tolerance = tolerance_pp(replicas, total)
    reasons = []
    rows = []
    for name in sorted(counts):
        share = counts[name] / total if total else 0.0
        deviation = (share - 1 / replicas) * 100 if replicas else 0.0
        rows.append((name, counts[name], share, deviation))
        if abs(deviation) > tolerance:
            reasons.append(
                f"{name} served {share:.2%}, {deviation:+.2f} pp from an even "
                f"{1 / replicas:.2%} (tolerance {tolerance:.2f} pp)"
            )
    if failures:
        reasons.append(f"{failures} request(s) failed")
    if total == 0:
        reasons.append("no successful request")
    if expected_replicas and len(counts) < expected_replicas:
        reasons.append(f"only {len(counts)} of {expected_replicas} expected replicas answered")
    if p95_ms is not None and p95_ms > max_p95_ms:
        reasons.append(f"p95 latency {p95_ms:.0f} ms exceeds {max_p95_ms:.0f} ms")
    return Verdict(ok=not reasons, reasons=reasons, rows=rows, tolerance_pp=tolerance)


def tally(per_second: Mapping[int, Mapping[str, int]], window: int = 0) -> dict[str, int]:
    """Answers per replica over the whole run, or over its last `window` seconds: after a
    rolling deploy only the replicas serving at the end are judged, not the ones it replaced."""
    newest = max(per_second, default=0)
    total: collections.Counter[str] = collections.Counter()
    for second, counts in per_second.items():
        if not window or second > newest - window:
            total.update(counts)
    return dict(total)


def table(verdict: Verdict, markdown: bool = False) -> str:
    header = ("replica", "requests", "share", "deviation from even")
    lines = []
    cells = [
        (name, str(count), f"{share:.2%}", f"{deviation:+.2f} pp")
        for name, count, share, deviation in verdict.rows
    ]
    if markdown:
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|---|---:|---:|---:|")
        lines += ["| " + " | ".join(row) + " |" for row in cells]
    else:
        width = max([16, *(len(r[0]) + 2 for r in cells)])  # a Compose name is longer
        lines.append(f"{header[0]:<{width}} {header[1]:>9} {header[2]:>8} {header[3]:>20}")
        lines += [f"{r[0]:<{width}} {r[1]:>9} {r[2]:>8} {r[3]:>20}" for r in cells]
    status = "PASS" if verdict.ok else "FAIL"
    summary = f"verdict: {status} (tolerance ±{verdict.tolerance_pp:.2f} pp)" + "".join(
        f"\n  - {reason}" for reason in verdict.reasons
    )
    return "\n".join(lines) + "\n\n" + (f"**{summary}**" if markdown else summary)


def detect_replicas(host: str, service: str = "back-end") -> int | None:
    """Running API replicas of the Compose project whose container publishes `host`'s port.

    None when it cannot tell (no Docker, or no container publishes that port).
    """
    from softy_pinko_docker.replicas import (
        back_ends,  # the repo's Docker layer (installed with the checker)
    )

    return len(back_ends(host, service)) or None


# Where each replica's count comes from (--replica-count-from); see replica_counts.
SOURCES = ("auto", "header", "logs", "network")
NO_HEADER = "(none)"
FROM = {
    "header": "the X-Served-By header of each answer",
    "logs": "the back-ends' access logs (GET /api/hello lines, read from the engine)",
    "network": "the back-ends' network counters (bytes received, read from the engine)",
}


def replica_counts(
    answers: dict[str, int],
    logged: dict[str, int],
    received: dict[str, int],
    source: str = "auto",
    settled: int | None = None,
) -> tuple[dict[str, int], str]:
    """The requests each replica served, and which counter said so.

    `answers` are the successful API answers by their X-Served-By header (NO_HEADER when
    absent), `logged` and `received` the engine's counters of each replica (replicas.py).
    `auto` trusts the header when answers carry one; else the access logs when they account for
    nine answers in ten at least (a server that logs every request); else the network counters,
    whose shares split the answers the client counted. `settled` is how many answers came before
    the engine was last read (while a test runs, the logs lag the answers by up to a second).
    """
    named = {name: n for name, n in answers.items() if name != NO_HEADER}
    answered = sum(answers.values())
    if source == "header" or (source == "auto" and named):
        return dict(answers), "header"
    if source == "logs" or (
        source == "auto" and answered and sum(logged.values()) >= 0.9 * (settled or answered)
    ):
        return dict(logged), "logs"
    return shares_to_counts(answered, received), "network"


def shares_to_counts(total: int, weights: dict[str, int]) -> dict[str, int]:
    """`total` requests split in proportion to `weights` (largest remainder, so they sum to
    `total`): the network counters give shares, the client gives the count."""
    weight = sum(max(w, 0) for w in weights.values())
    if weight <= 0:
        return {}
    exact = {name: total * max(w, 0) / weight for name, w in weights.items()}
    counts = {name: int(value) for name, value in exact.items()}
    short = total - sum(counts.values())
    for name in sorted(exact, key=lambda n: exact[n] - counts[n], reverse=True)[:short]:
        counts[name] += 1
    return counts


def to_json(verdict: Verdict, source: str = "header") -> str:
    said = {"counted_from": source, "counted_from_text": FROM[source]}
    return json.dumps({**dataclasses.asdict(verdict), **said}, indent=2)


# Below this many successful API requests per expected replica, a running verdict is not given:
# a share's random spread is still wider than any tolerance worth holding a balancer to.
MIN_PER_REPLICA = 30
BAR_WIDTH = 40


def live(
    counts: dict[str, int],
    failures: int,
    expected_replicas: int | None,
    p95_ms: float | None,
    max_p95_ms: float,
    source: str = "header",
) -> dict[str, object]:
    """The Round-robin tab's state: a row and a bar per replica, and the running verdict (PASS,
    FAIL, or too few requests yet) with its reasons."""
    result = judge(counts, failures, expected_replicas, p95_ms, max_p95_ms)
    total = sum(counts.values())
    replicas = expected_replicas or len(counts)
    needed = MIN_PER_REPLICA * max(replicas, 1)
    if failures == 0 and total < needed:
        status, reasons = "too few requests yet", [f"{total} of the {needed} requests needed"]
    else:
        status, reasons = ("PASS" if result.ok else "FAIL"), result.reasons
    rows = [
        {
            "replica": name,
            "requests": count,
            "share": f"{share:.2%}",
            "deviation": f"{deviation:+.2f} pp",
            "tolerance": f"±{result.tolerance_pp:.2f} pp",
            "bar": "█" * round(share * BAR_WIDTH),
        }
        for name, count, share, deviation in result.rows
    ]
    return {
        "replicas": rows,
        "expected_replicas": replicas,
        "requests": total,
        "failures": failures,
        "tolerance_pp": result.tolerance_pp,
        "verdict": status,
        "reasons": reasons or ["every replica within tolerance, nothing failed"],
        "counted_from": source,
    }


def tab_rows(state: dict[str, object]) -> list[dict[str, object]]:
    """The tab's table: the replicas, then one row that carries the verdict."""
    rows = list(cast(list[dict[str, object]], state["replicas"]))
    rows.append(
        {
            "replica": f"verdict: {state['verdict']}",
            "requests": state["requests"],
            "share": f"{len(rows)} of {state['expected_replicas']} replicas answered",
            "deviation": "; ".join(cast(list[str], state["reasons"])),
            "tolerance": f"±{state['tolerance_pp']:.2f} pp",
            "bar": f"counted from {FROM[str(state.get('counted_from', 'header'))]}",
        }
    )
    return rows


def to_csv(state: dict[str, object]) -> str:
    columns = ("replica", "requests", "share", "deviation", "tolerance")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([row[c] for c in columns] for row in tab_rows(state))
    return out.getvalue()


def html_section(state: dict[str, object]) -> str:
    """The replica table and the verdict, as a block for Locust's HTML report."""
    from html import escape

    cells = "".join(
        "<tr>" + "".join(f"<td>{escape(str(row[c]))}</td>" for c in TAB_COLUMNS) + "</tr>"
        for row in tab_rows(state)
    )
    head = "".join(f"<th>{escape(title)}</th>" for title in TAB_COLUMNS.values())
    return (
        '<section id="round-robin" style="font-family:sans-serif;margin:2em">'
        f"<h2>Round-robin: {escape(str(state['verdict']))}</h2>"
        f'<table border="1" cellpadding="4"><tr>{head}</tr>{cells}</table></section>'
    )


TAB_COLUMNS = {
    "replica": "Replica",
    "requests": "API requests",
    "share": "Share",
    "deviation": "Deviation from even",
    "tolerance": "Tolerance",
    "bar": "Share, as a bar",
}
