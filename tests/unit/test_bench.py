"""The pure helpers of bench/ (parsing, summarizing, ratios), without Docker or wrk."""

import pytest

from softy_pinko_docker.bench import figures, wrk

# What wrk prints with wrk_report.lua: its own report, then one line of JSON.
WRK_OUTPUT = """\
Running 5s test @ http://127.0.0.1:32768/api/hello
  1 threads and 16 connections
  10117 requests in 5.00s, 1.91MB read
Requests/sec:   2021.52
{"requests": 10117, "duration_us": 5004651, "errors": {"connect": 1, "read": 2, "write": 0, \
"status": 3, "timeout": 4}, "latency_us": {"mean": 7950.2, "max": 51200, "p50": 7410, \
"p99": 19870}}
"""


def test_parse_wrk_reads_its_json_result():
    result = wrk.parse_wrk(WRK_OUTPUT)
    assert result["rps"] == pytest.approx(10117 / 5.004651)
    assert result["requests"] == 10117
    assert result["latency_avg_ms"] == pytest.approx(7.9502)
    assert result["latency_max_ms"] == pytest.approx(51.2)
    assert result["errors"] == 10


def test_wrk_without_a_result_is_a_clear_error():
    with pytest.raises(wrk.ToolError, match="wrk printed no result"):
        wrk.parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_summarize_gives_median_min_max():
    summary = figures.summarize([3.0, 1.0, 2.0, 10.0])
    assert (summary["median"], summary["min"], summary["max"], summary["n"]) == (2.5, 1.0, 10.0, 4)
    assert figures.summarize([])["median"] is None


@pytest.mark.parametrize(
    "num,den,expected",
    [
        (900.0, 1000.0, 0.9),
        (1900.0, 1000.0, 1.9),
        (None, 1.0, None),
        (1.0, 0.0, None),
        (1.0, None, None),
    ],
)
def test_ratio(num, den, expected):
    assert figures.ratio(num, den) == (pytest.approx(expected) if expected is not None else None)


def test_percentile_nearest_rank():
    values = list(range(1, 101))  # 1..100
    assert figures.percentile(values, 50) == 50
    assert figures.percentile(values, 99) == 99
    assert figures.percentile(values, 100) == 100
    assert figures.percentile([5.0], 99) == 5.0
    assert figures.percentile([], 50) is None


def test_serpentine_interleaves_each_case_early_and_late():
    assert figures.serpentine([1, 2, 3], 3) == [1, 2, 3, 3, 2, 1, 1, 2, 3]
    assert figures.serpentine(["a", "b"], 2) == ["a", "b", "b", "a"]


@pytest.mark.parametrize(
    "usage,mib",
    [
        ("12.5MiB / 23.54GiB", 12.5),
        ("1.5GiB / 2GiB", 1536.0),
        ("512KiB / 1GiB", 0.5),
        ("0B / 0B", 0.0),
    ],
)
def test_parse_mem(usage, mib):
    assert figures.parse_mem(usage) == pytest.approx(mib)


def test_cpu_share_is_percent_of_one_core():
    assert figures.cpu_share(2.5, 5.0) == 50.0
    assert figures.cpu_share(1.0, 0.0) == 0.0


def test_the_images_part_reports_sizes_over_bases_and_both_build_times():
    from softy_pinko_docker.bench import images as bench_images

    size = {"mb": 120.4, "base": "ubuntu:latest", "over_base_mb": 41.2}
    rows = dict(
        bench_images.table(
            {
                "sizes": {"softy-pinko:task1": size},
                "naive": {"mb": 480.0, "base": "ubuntu:latest", "over_base_mb": 401.0},
                "naive_build_s": 150.2,
                "cold_build_s": 80.5,
                "warm_build_s": 1.2,
            }
        )
    )
    assert rows["image softy-pinko:task1"] == "120.4 MB, +41.2 MB over ubuntu:latest"
    assert rows["naive curriculum back-end (python3-pip, pip3 install flask)"].startswith(
        "480.0 MB, +401.0 MB"
    )
    assert rows["task6 back-end build, cold (--no-cache)"] == "80.5 s"
    assert rows["task6 back-end build, warm (api.py changed)"] == "1.2 s"
