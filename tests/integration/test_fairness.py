"""The fairness report on a small hand-computed population, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from quan.domain.citizens import CitizenProfile, IncomeGroup, local_date
from quan.domain.eligibility import holds
from quan.domain.eligibility_json import parse_rule
from quan.services.issuance.fairness import rule_predicate
from quan.store.citizen_tables import citizens
from tests.conftest import World
from tests.integration.issuance_fixtures import (
    assert_ledger_ok,
    batch,
    claim,
    funded_program,
    open_batch,
    register,
    register_many,
    voucher_type,
)

OLD = date(1950, 3, 1)


def _population(world: World) -> dict[str, list[str]]:
    return {
        "elderly": register_many(world, 2, birth=OLD, region="330106"),
        "low_income": [register(world, income="low_income", region="330102")],
        "disabled": [register(world, disabled=True, region="330106")],
        "normal": register_many(world, 4, region="330102"),
    }


def _claim_all(world: World, bid: str, ids: list[str]) -> None:
    for cid in ids:
        response = claim(world, cid, bid)
        assert response.status_code == 201, response.text


def _by(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {row[key]: row for row in rows}


def test_batch_report_counts_shares_flags_and_gini(world: World) -> None:
    people = _population(world)
    pid = funded_program(world)
    vt = voucher_type(world, pid)
    bid = batch(world, pid, vt["id"], quantity=20)["id"]
    open_batch(world, bid)
    _claim_all(world, bid, people["normal"] + people["elderly"][:1])

    response = world.get("operator", f"/batches/{bid}/fairness")
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["eligible_population"], report["vouchers"], report["wins"]) == (8, 5, 0)
    assert report["claims"] == 5
    assert report["redemptions"] == 0
    groups = _by(report["groups"], "group")
    assert groups["elderly"]["population"] == 2
    assert groups["elderly"]["vouchers"] == 1
    assert groups["elderly"]["population_share"] == 0.25
    assert groups["elderly"]["voucher_share"] == 0.2
    assert groups["elderly"]["under_served"] is False  # 0.2 is exactly 0.8 × 0.25
    assert groups["low_income"]["under_served"] is True
    assert groups["disabled"]["under_served"] is True
    regions = _by(report["regions"], "region_code")
    assert (regions["330106"]["population"], regions["330106"]["vouchers"]) == (3, 1)
    assert (regions["330102"]["population"], regions["330102"]["vouchers"]) == (5, 4)
    assert regions["330106"]["under_served"] is True
    assert regions["330102"]["under_served"] is False
    # rates 1/3 (weight 3) and 4/5 (weight 5): 2·3·5·(4/5 − 1/3) / (2 · 8² · 5/8) = 14/80
    assert report["gini_regions"] == pytest.approx(0.175)
    assert set(report["flags"]) == {"group:low_income", "group:disabled", "region:330106"}
    assert_ledger_ok(world)


def test_eligible_population_follows_the_batch_rule_and_program_sums_batches(
    world: World,
) -> None:
    people = _population(world)
    pid = funded_program(world)
    vt = voucher_type(world, pid)
    elderly_only = batch(
        world, pid, vt["id"], quantity=5, eligibility={"age_between": {"min": 60}}
    )["id"]
    disabled_only = batch(world, pid, vt["id"], quantity=5, eligibility={"disabled": True})["id"]
    open_batch(world, elderly_only)
    open_batch(world, disabled_only)
    _claim_all(world, elderly_only, people["elderly"])
    _claim_all(world, disabled_only, people["disabled"])

    one = world.get("auditor", f"/batches/{elderly_only}/fairness").json()
    assert (one["eligible_population"], one["vouchers"]) == (2, 2)
    assert one["gini_regions"] == 0.0
    whole = world.get("auditor", f"/programs/{pid}/fairness").json()
    assert (whole["eligible_population"], whole["vouchers"]) == (3, 3)
    assert sorted(whole["batch_ids"]) == sorted([elderly_only, disabled_only])
    assert _by(whole["groups"], "group")["elderly"]["population"] == 2


def test_fairness_is_for_operators_of_the_issuer_and_auditors(world: World) -> None:
    pid = funded_program(world)
    assert world.get("outsider", f"/programs/{pid}/fairness").status_code == 403
    assert world.get("agent", f"/programs/{pid}/fairness").status_code == 403
    assert world.get("operator", "/batches/b_missing/fairness").status_code == 404


@pytest.mark.parametrize(
    "rule",
    [
        {"age_between": {"min": 60}},
        {"age_between": {"max": 59}},
        {"region_in": ["330100"]},
        {"region_in": ["330106"]},
        {"not": {"income_group_in": ["normal"]}},
        {"any": [{"disabled": True}, {"priority_group_in": ["elderly"]}]},
        {"all": [{"region_in": ["330000"]}, {"disabled": False}]},
    ],
)
def test_sql_predicate_agrees_with_the_rule_evaluator(world: World, rule: Any) -> None:
    _population(world)
    parsed = parse_rule(rule)
    on = local_date(world.runtime.clock.now())
    with world.runtime.db.read() as tx:
        in_sql = tx.execute(
            select(func.count()).select_from(citizens).where(rule_predicate(parsed, on))
        ).scalar_one()
        rows = tx.execute(select(citizens)).all()
    in_python = sum(
        holds(
            parsed,
            CitizenProfile(
                birth_date=r.birth_date,
                region_code=r.region_code,
                income_group=IncomeGroup(r.income_group),
                disabled=bool(r.disabled),
                disability_grade=r.disability_grade,
            ),
            on,
        )
        for r in rows
    )
    assert in_sql == in_python


def test_cli_report_prints_the_same_figures(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from quan.cli import app

    people = _population(world)
    pid = funded_program(world)
    vt = voucher_type(world, pid)
    bid = batch(world, pid, vt["id"], quantity=20)["id"]
    open_batch(world, bid)
    _claim_all(world, bid, people["normal"])
    db = world.runtime.db
    monkeypatch.setenv("QUAN_DATABASE_URL", db.url)
    monkeypatch.setenv("QUAN_VAR_DIR", str(world.runtime.settings.var_dir))
    monkeypatch.setenv("QUAN_ENV", "development")
    if db.schema:
        monkeypatch.setenv("PGOPTIONS", f"-csearch_path={db.schema}")
    runner = CliRunner()
    result = runner.invoke(app, ["report", "fairness", "--program", pid, "--batch", bid, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["eligible_population"], data["vouchers"]) == (8, 4)
    assert "group:elderly" in data["flags"]
    table = runner.invoke(app, ["report", "fairness", "--program", pid])
    assert table.exit_code == 0, table.output
    assert "under-served" in table.output
    missing = runner.invoke(app, ["report", "fairness", "--program", "p_missing"])
    assert missing.exit_code == 1
