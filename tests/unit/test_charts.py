"""charts.py draws make bench's figures as SVG, the same file for the same run."""

import xml.etree.ElementTree as ET

from softy_pinko_docker.bench import charts


def summary(median, low, high):
    return {"median": median, "min": low, "max": high}


RESULTS = {
    "scaling": {str(n): {"rps": summary(300.0 * n, 290.0 * n, 310.0 * n)} for n in (1, 2, 3)},
    "single_replica_isolated": {
        "proxy": {"rps": summary(700, 680, 720)},
        "direct": {"rps": summary(660, 640, 690)},
    },
    "single_replica_unlimited": {
        "proxy": {"rps": summary(500, 480, 520)},
        "direct": {"rps": summary(610, 600, 630)},
    },
    "fixed_rate_latency": {
        "proxy": {"p50_ms": summary(2.1, 2.0, 2.3), "p99_ms": summary(9.0, 8.0, 11.0)},
        "direct": {"p50_ms": summary(1.8, 1.7, 1.9), "p99_ms": summary(7.0, 6.5, 8.0)},
    },
}


def test_each_figure_becomes_a_repeatable_svg(tmp_path, monkeypatch):
    monkeypatch.setattr(charts, "OUT", tmp_path)
    drawn = charts.draw(RESULTS)
    assert [p.name for p in drawn] == ["scaling.svg", "proxy-vs-direct.svg", "latency.svg"]
    first = {p.name: p.read_bytes() for p in drawn}
    for path in drawn:
        assert ET.fromstring(path.read_bytes()).tag.endswith("svg")
    assert b"Scaling out" in first["scaling.svg"] and b"900" in first["scaling.svg"]
    assert {p.name: p.read_bytes() for p in charts.draw(RESULTS)} == first


def test_a_partial_run_draws_what_it_has(tmp_path, monkeypatch):
    monkeypatch.setattr(charts, "OUT", tmp_path)
    assert [p.name for p in charts.draw({"scaling": RESULTS["scaling"]})] == ["scaling.svg"]
    assert charts.draw({}) == []
