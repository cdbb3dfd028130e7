"""cost_curve: the growth exponent, the flags, the extrapolation and the README table."""

import cost_curve
import pytest


def _entry(seconds, peak=1000.0, start=900.0, cpu=None):
    return {
        "seconds": seconds,
        "cpu_seconds": seconds if cpu is None else cpu,
        "peak_rss_mb": peak,
        "rss_at_start_mb": start,
    }


@pytest.mark.parametrize("power", [0.5, 1.0, 2.0])
def test_growth_exponent_recovers_a_power_law(power):
    sizes = [11_627, 34_880, 98_728]

    assert cost_curve.growth_exponent(sizes, [3e-5 * n**power for n in sizes]) == power


def test_growth_exponent_needs_two_sizes_and_skips_non_positive_values():
    assert cost_curve.growth_exponent([1000], [2.0]) is None
    assert cost_curve.growth_exponent([1000, 2000], [2.0, 0.0]) is None
    assert cost_curve.growth_exponent([1000, 2000, 4000], [1.0, 0.0, 4.0]) == 1.0


def test_summary_flags_superlinear_time_and_memory_growth_in_a_streaming_stage():
    measurements = {
        "tfidf_fit": {"1000": _entry(1.0), "10000": _entry(20.0)},  # exponent 1.3
        "clean": {"1000": _entry(1.0), "10000": _entry(10.0, peak=2000.0)},  # linear, holds data
        "image_cache": {  # linear time, but its own memory grows 10x with 10x the photos
            "1000": _entry(1.0, peak=1000.0, start=900.0),
            "10000": _entry(10.0, peak=1900.0, start=900.0),
        },
        "sample_demo_sizes": {"1000": _entry(1.0)},
    }

    summary = {row["part"]: row for row in cost_curve.summarise(measurements)}

    assert list(summary) == ["clean", "image_cache", "tfidf_fit"]  # stage order, samples out
    assert summary["tfidf_fit"]["time_exponent"] == 1.3
    assert summary["tfidf_fit"]["flags"] == ["time grows faster than linearly (exponent 1.30)"]
    assert summary["clean"]["flags"] == []
    assert summary["image_cache"]["memory_exponent"] == 1.0
    assert summary["image_cache"]["flags"] == ["memory grows with the data in a streaming stage"]
    assert summary["image_cache"]["memory_growth_mb"] == 1000.0
    assert summary["clean"]["products"] == 10000


def test_cache_extrapolation_scales_the_demo_build_by_the_ratio_measured_on_a_sample():
    measurements = {
        "image_cache": {"1000": _entry(2.0, cpu=3.0), "10000": _entry(20.0, cpu=30.0)},
        "sample_demo_sizes": {"1000": _entry(1.0), "10000": _entry(1.0)},
        "sample_full_sizes": {"1000": _entry(10.0, peak=1200.0), "10000": _entry(12.0, cpu=6.0)},
    }

    extrapolated = cost_curve.extrapolate_cache(measurements)

    assert extrapolated["1000"]["seconds"] == 20.0
    assert extrapolated["10000"]["seconds"] == 240.0
    assert extrapolated["10000"]["cpu_seconds"] == 180.0  # CPU time by its own ratio (6)
    assert extrapolated["10000"]["pixel_count_bound_seconds"] == 980.0  # x (224²+448²)/(32²+64²)
    assert extrapolated["1000"]["peak_rss_mb"] == 1200.0  # the sample's: the build streams
    summary = cost_curve.summarise({"image_cache_224_448": extrapolated})
    assert summary[0]["time_exponent"] == 0.78  # log10(180 / 30), on CPU time
    assert summary[0]["wall_time_exponent"] == 1.08  # log10(240 / 20)


def test_markdown_table_shows_time_memory_exponent_and_flags():
    rows = cost_curve.summarise(
        {"tfidf_fit": {"1000": _entry(1.0), "98728": _entry(400.0, peak=3000.0, start=1000.0)}}
    )

    table = cost_curve.markdown_table(rows)

    lines = table.splitlines()
    assert lines[0].startswith("| stage | data size (products) | wall time | CPU time |")
    assert lines[2] == (
        "| TF-IDF fit | 98,728 | 6.7 min | 6.7 min | 3,000 MiB | 2,000 MiB | 1.30 | "
        "⚠ time grows faster than linearly (exponent 1.30) |"
    )
