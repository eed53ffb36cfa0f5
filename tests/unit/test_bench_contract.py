"""The benchmark harness's pure parts: the JSON last-line contract, parameters, targets, wrk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from quan.bench import lua, wrk
from quan.bench.ceilings import FASTAPI, RAW_ASGI, STORAGE, Ceiling, Ceilings
from quan.bench.contract import BenchResult, Status, json_line, parse_last_line
from quan.bench.registry import Benchmark
from quan.bench.targets import HIT, MISS, NOT_MEASURED, Target, judge


def test_the_last_line_of_the_output_is_the_result_whatever_came_before() -> None:
    result = BenchResult("health", "sqlite", figures={"requests_per_s": 1234.5})
    output = "progress...\nmore progress\n" + json_line(result) + "\n\n"

    parsed = parse_last_line(output)

    assert BenchResult.from_dict(parsed) == result


def test_a_result_line_stays_one_line_even_with_newlines_in_its_text() -> None:
    result = BenchResult("x", None, Status.FAILED, reason="line one\nline two")

    assert "\n" not in json_line(result)
    assert parse_last_line(json_line(result))["reason"] == "line one\nline two"


def test_output_without_a_json_object_on_its_last_line_is_refused() -> None:
    with pytest.raises(ValueError, match="no output"):
        parse_last_line("\n  \n")
    with pytest.raises(json.JSONDecodeError):
        parse_last_line('{"a": 1}\nnot json')
    with pytest.raises(ValueError, match="not an object"):
        parse_last_line("[1, 2]")


def test_a_check_that_is_not_zero_is_a_failed_check() -> None:
    result = BenchResult("claim-flood", "postgresql", checks={"oversold": 0, "duplicate": 2})

    assert result.failed_checks == {"duplicate": 2}


def _bench() -> Benchmark:
    return Benchmark(
        "b", "a benchmark", run=lambda ctx, p: BenchResult("b", None), params={"n": 1_000, "s": "x"}
    )


def test_parameters_take_defaults_then_quick_sizes_then_overrides_typed_like_the_default() -> None:
    bench = Benchmark(
        "b",
        "",
        run=lambda ctx, p: BenchResult("b", None),
        params={"n": 1000},
        quick_params={"n": 5},
    )

    assert bench.resolve({}, quick=False) == {"n": 1000}
    assert bench.resolve({}, quick=True) == {"n": 5}
    assert bench.resolve({"n": "10_000"}, quick=True) == {"n": 10_000}


def test_an_unknown_parameter_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="has no parameter 'm'"):
        _bench().resolve({"m": "1"}, quick=False)


def test_a_benchmark_whose_module_does_not_exist_says_what_it_waits_for() -> None:
    bench = Benchmark(
        "b", "", run=lambda ctx, p: BenchResult("b", None), requires=("quan.no_such_module",)
    )

    assert bench.missing() == ["quan.no_such_module"]


def _ceilings(raw: float, framework: float, storage: float) -> dict[str, Ceilings]:
    measured = {
        RAW_ASGI: Ceiling(RAW_ASGI, "raw", raw, "req/s"),
        FASTAPI: Ceiling(FASTAPI, "fastapi", framework, "req/s"),
        STORAGE: Ceiling(STORAGE, "storage", storage, "claims/s"),
    }
    return {"postgresql": Ceilings("postgresql", 2, measured)}


def test_a_target_relative_to_a_ceiling_uses_the_ceiling_of_the_same_run() -> None:
    target = Target("claim-flood", "claims_per_s", ">=", 0.4, "claims", RAW_ASGI)
    result = BenchResult("claim-flood", "postgresql", figures={"claims_per_s": 12_000})

    hit = judge(target, [result], _ceilings(raw=30_000, framework=10_000, storage=2_000))
    missed = judge(target, [result], _ceilings(raw=40_000, framework=10_000, storage=2_000))

    assert (hit.verdict, hit.needed) == (HIT, 12_000)
    assert (missed.verdict, missed.needed) == (MISS, 16_000)
    assert "25% short" in missed.detail


def test_a_pending_benchmark_is_never_a_hit() -> None:
    target = Target("redeem", "requests_per_s", ">=", 0.2, "redeem", RAW_ASGI)
    pending = BenchResult("redeem", "postgresql", Status.PENDING, "waiting")

    assert judge(target, [pending], _ceilings(1, 1, 1)).verdict == NOT_MEASURED


def test_a_target_stated_at_a_size_is_not_judged_at_another() -> None:
    target = Target(
        "log-proof", "server_p50_ms", "<=", 1.0, "proof", at_param=("entries", 10_000_000)
    )
    small = BenchResult(
        "log-proof", "postgresql", figures={"server_p50_ms": 0.5}, params={"entries": 5_000}
    )

    assert judge(target, [small], {}).verdict == NOT_MEASURED


def test_every_target_finds_the_result_its_benchmark_produces_at_full_size() -> None:
    """Each target is judged on the database and at the size its benchmark runs by default
    (a target naming another database would stay "not run" in every run)."""
    from quan.bench.benchmarks import ALL
    from quan.bench.targets import TARGETS

    for target in TARGETS:
        bench = ALL[target.benchmark]
        assert target.database in bench.databases, target.text
        if target.at_param is not None:
            name, size = target.at_param
            assert bench.params[name] == size, target.text


def test_a_missed_target_says_what_bounds_it_and_a_hit_does_not(tmp_path: Path) -> None:
    from quan.bench.report import render
    from quan.bench.suite import RunRecord, load_record

    def page(seconds: float) -> str:
        result = BenchResult(
            "grant-1m",
            "postgresql",
            figures={"seconds": seconds},
            throughput="seconds",
            params={"citizens": 1_000_000},
        )
        record = RunRecord(
            machine={"logical_cpus": 2, "git": {"commit": "abc"}},
            options={"runs": 1, "duration_s": 1.0},
            generator={"tool": "wrk"},
            ceilings={},
            results=[result],
        )
        path = tmp_path / f"run-{seconds}.json"
        path.write_text(json.dumps(record.to_dict()))
        return render(load_record(path))  # the verdicts are judged as a saved run loads

    missed, hit = page(45.0), page(25.0)
    assert "### What bounds the misses" in missed
    assert "**grant 1,000,000 ≤ 30 s**: PostgreSQL writing a million voucher rows" in missed
    assert "What bounds the misses" not in hit


def test_the_wrk_summary_leaves_out_the_idle_requests_of_a_used_up_feed() -> None:
    line = json.dumps(
        {
            "requests": 105,
            "duration_us": 5_000_000,
            "bytes": 1,
            "sent": 100,
            "errors": {"connect": 0, "read": 0, "write": 0, "status": 65, "timeout": 0},
            "latency_us": {
                "min": 1,
                "mean": 2,
                "max": 9,
                "p50": 2000,
                "p90": 3000,
                "p99": 4000,
                "p999": 5000,
            },
            "statuses": {"201": 40, "409": 60},
            "idle": 5,
            "first_us": 1_000_000,
            "last_us": 3_000_000,
        }
    )

    result = wrk.parse(line)

    assert (result.requests, result.count(201), result.count(409)) == (100, 40, 60)
    assert result.errors["status"] == 60
    assert result.duration_s == 2.0  # first request to last answer, not wrk's whole duration
    assert result.latency_ms["p99"] == 4.0


def test_the_load_script_carries_the_feed_the_markers_and_refuses_control_characters() -> None:
    source = lua.script(
        method="POST",
        path="/claim",
        body='{"a":"券"}',
        headers={"Content-Type": "application/json"},
        threads=2,
        feed_path="/tmp/feed.tsv",
        once=True,
    )

    assert 'FEED = "/tmp/feed.tsv"' in source
    assert "function delay()" in source
    assert "function response(" in source
    assert lua.DONE_MARKER in source
    assert lua.RESULT_MARKER in source
    assert '"{\\"a\\":\\"券\\"}"' in source
    with pytest.raises(ValueError, match="control characters"):
        lua.script(method="GET", path="/\n", body=None, headers={}, threads=1)


def test_a_saved_run_renders_again_with_its_own_ceilings_and_verdicts(tmp_path: Path) -> None:
    from quan.bench.report import render
    from quan.bench.suite import RunRecord, load_record

    result = BenchResult(
        "claim-flood",
        "postgresql",
        figures={"claims_per_s": 12_000.0, "flood_p99_ms": 80.0},
        throughput="claims_per_s",
        checks={"oversold": 0, "duplicate": 0},
    )
    record = RunRecord(
        machine={"logical_cpus": 2, "git": {"commit": "abc"}},
        options={"runs": 5, "duration_s": 4.0},
        generator={"tool": "wrk"},
        ceilings=_ceilings(raw=30_000, framework=10_000, storage=2_000),
        results=[result],
    )
    path = tmp_path / "run.json"
    path.write_text(json.dumps(record.to_dict()))

    loaded = load_record(path)
    page = render(loaded, json_path=path)

    assert loaded.results[0].ratios == {"raw_asgi": 0.4, "fastapi": 1.2, "storage": 6.0}
    assert [v.verdict for v in loaded.verdicts][:2] == [HIT, HIT]
    assert "**12,000** claims/s" in page
    assert "claim p99 ≤ 100 ms" in page


def test_a_run_of_a_few_benchmarks_carries_the_others_over_with_their_own_ceilings(
    tmp_path: Path,
) -> None:
    from quan.bench.report import render
    from quan.bench.suite import RunRecord, carry_over, load_record

    def record(results: list[BenchResult], raw: float, commit: str) -> RunRecord:
        return RunRecord(
            machine={"logical_cpus": 2, "git": {"commit": commit}},
            options={"runs": 5, "duration_s": 4.0},
            generator={"tool": "wrk"},
            ceilings=_ceilings(raw=raw, framework=10_000, storage=2_000),
            results=results,
            started_at="2026-11-25T20:54:55+00:00",
        )

    def claims(per_s: float) -> BenchResult:
        return BenchResult(
            "claim-flood", "postgresql", figures={"claims_per_s": per_s}, throughput="claims_per_s"
        )

    redeem = BenchResult(
        "redeem",
        "postgresql",
        figures={"redemptions_per_s": 3_000.0},
        throughput="redemptions_per_s",
    )
    earlier_path = tmp_path / "earlier.json"
    earlier_path.write_text(json.dumps(record([claims(1_000), redeem], 20_000, "old").to_dict()))
    new_path = tmp_path / "new.json"
    new_path.write_text(json.dumps(record([claims(9_000)], 10_000, "new").to_dict()))

    merged = load_record(new_path)
    carry_over(merged, load_record(earlier_path), "earlier.json")

    assert [(r.benchmark, r.carried_from is not None) for r in merged.results] == [
        ("claim-flood", False),  # the new run's own result wins
        ("redeem", True),
    ]
    carried = merged.results[1]
    assert carried.ratios["raw_asgi"] == 0.15  # against the earlier run's 20,000, not 10,000
    redeem_verdict = next(v for v in merged.verdicts if v.target.benchmark == "redeem")
    assert (redeem_verdict.verdict, redeem_verdict.needed) == (MISS, 4_000)
    page = render(merged, json_path=new_path)
    assert "redeem ↩" in page
    assert "carried over from `earlier.json (2026-11-25T20:54, commit old)`" in page
    # Saved and read again, the carried result keeps its own run's ratios and verdict.
    again_path = tmp_path / "merged.json"
    again_path.write_text(json.dumps(merged.to_dict()))
    again = load_record(again_path)
    assert again.results[1].ratios["raw_asgi"] == 0.15
    assert next(v for v in again.verdicts if v.target.benchmark == "redeem").needed == 4_000
