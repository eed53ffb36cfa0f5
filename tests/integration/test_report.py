"""The program report behind the dashboard, on SQLite and PostgreSQL, with figures known in
advance; its subsidy reconciled with the ledger; its CSV and XLSX exports read back.

The scene: a program funded with ¥10,000; a batch of 4 vouchers (¥30 off ¥100) opened; three
residents claim (two from 330106, one from 330102); shop A (330106) redeems ¥120 and ¥200,
shop B (330102, whose name is a formula) redeems ¥150, reverses it, and redeems the same voucher
again for ¥180. So: 3 live redemptions of ¥30 each on orders of ¥120 + ¥200 + ¥180 = ¥500.
"""

from __future__ import annotations

import csv
import io
from fractions import Fraction

from sqlalchemy import func, select

from quan.domain.ledger import Bucket
from quan.services.operations.report import Report, program_report
from quan.store.tables import journal_entries, postings
from tests.conftest import START, World
from tests.integration import redemption_fixtures as fx
from tests.integration.console_fixtures import staff_session
from tests.integration.issuance_fixtures import register
from tests.xlsx_read import read_xlsx

FORMULA_NAME = '=HYPERLINK("http://evil.example","点此")'


def _scene(world: World) -> tuple[fx.Scene, fx.Shop]:
    scene = fx.scene(world, holders=2, quantity=4)
    third = register(world, region="330102")
    answer = fx.issuance.claim(world, third, scene.batch_id)
    assert answer.status_code == 201, answer.text
    codes = [*scene.codes, answer.json()["code"]]
    shop_b = fx.open_shop(world, name=FORMULA_NAME, region_code="330102")
    assert fx.redeem(world, scene.shop, code=codes[0], amount_fen=12000).status_code == 201
    assert fx.redeem(world, scene.shop, code=codes[1], amount_fen=20000).status_code == 201
    undone = fx.redeem(world, shop_b, code=codes[2], amount_fen=15000)
    assert undone.status_code == 201, undone.text
    back = fx.reverse(world, shop_b.headers(), undone.json()["id"], reason="顾客退单")
    assert back.status_code == 201, back.text
    assert fx.redeem(world, shop_b, code=codes[2], amount_fen=18000).status_code == 201
    return scene, shop_b


def _report(world: World, program_id: str, who: str = "auditor") -> Report:
    rt = world.runtime
    with rt.db.read() as tx:
        return program_report(tx, world.users[who].actor(), program_id, rt.clock.now())


def _ledger_redemption_payable(world: World, program_id: str) -> int:
    """What the ledger moved to *payable* for redemptions (and back for their reversals)."""
    with world.runtime.db.read() as tx:
        return int(
            tx.execute(
                select(func.coalesce(func.sum(postings.c.amount_fen), 0))
                .join(journal_entries, journal_entries.c.id == postings.c.entry_id)
                .where(
                    postings.c.program_id == program_id,
                    postings.c.bucket == Bucket.PAYABLE.value,
                    journal_entries.c.source_type == "redemption",
                )
            ).scalar_one()
        )


def test_the_report_has_the_known_figures_and_agrees_with_the_ledger(world: World) -> None:
    scene, shop_b = _scene(world)
    report = _report(world, scene.program_id)
    assert (report.offered, report.claimed, report.redeemed) == (4, 3, 3)
    assert report.take_up == Fraction(3, 4)
    assert report.redemption_rate == 1
    assert (report.subsidy_fen, report.order_fen) == (9000, 50000)
    assert report.leverage == Fraction(50000, 9000)
    # The dashboard's subsidy is the ledger's redemption movements (the reversal nets out).
    assert report.subsidy_fen == _ledger_redemption_payable(world, scene.program_id)
    assert [(m.key, m.redemptions, m.subsidy_fen, m.order_fen) for m in report.by_category] == [
        ("catering", 3, 9000, 50000)
    ]
    assert [(m.key, m.redemptions, m.subsidy_fen) for m in report.by_region] == [
        ("330106", 2, 6000),
        ("330102", 1, 3000),
    ]
    by_subsidy = [(m.merchant_id, m.redemptions, m.order_fen) for m in report.merchants_by_subsidy]
    assert by_subsidy == [(scene.shop.merchant_id, 2, 32000), (shop_b.merchant_id, 1, 18000)]
    assert [m.name for m in report.merchants_by_redemptions][1] == FORMULA_NAME
    assert [(c.key, c.count) for c in report.claims_by_region] == [("330106", 2), ("330102", 1)]
    # The time axis starts on the program's first day, in its time zone, and ends today.
    assert report.days[0].day.isoformat() == "2026-11-25"
    assert report.days[-1].day == START.date()
    assert sum(d.claims for d in report.days) == 3
    assert sum(d.subsidy_fen for d in report.days) == 9000
    assert report.days[-1].funded_fen == 1_000_000
    assert report.days[-1].committed_fen == report.budget.reserved_fen + 9000


def test_the_dashboard_shows_take_up_leverage_regions_and_the_ranking(world: World) -> None:
    scene, _ = _scene(world)
    staff_session(world, "operator")
    page = world.client.get(f"/ops/programs/{scene.program_id}/dashboard")
    assert page.status_code == 200
    text = page.text
    assert (
        '<div data-test="take-up"><dt>领取率（领取÷投放）</dt><dd class="money">75.00%</dd>' in text
    )
    assert "5.56 倍" in text  # ¥500 of orders for ¥90 of subsidy
    assert "330106 西湖区" in text
    assert "330102 上城区" in text
    assert "&#34;点此&#34;" in text or "&quot;点此&quot;" in text  # the formula name, escaped
    english = world.client.get(f"/ops/programs/{scene.program_id}/dashboard?lang=en&scale=log")
    assert "Leverage (order value ÷ subsidy)" in english.text
    assert "5.56×" in english.text
    assert 'class="grid"' in english.text  # the log scale's lines at each power of ten


def _csv(world: World, program_id: str, table: str, lang: str) -> list[list[str]]:
    answer = world.client.get(f"/ops/programs/{program_id}/report.csv?table={table}&lang={lang}")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))


def test_the_csv_exports_speak_the_pages_language_in_yuan_and_defuse_formulas(
    world: World,
) -> None:
    scene, _ = _scene(world)
    staff_session(world, "auditor")
    rows = _csv(world, scene.program_id, "merchants", "zh")
    assert rows[0] == ["名次", "商户", "商户地区", "核销笔数", "补贴金额（元）", "订单金额（元）"]
    assert rows[1][2:] == ["330106 西湖区", "2", "60.00", "320.00"]
    assert rows[2][1] == "'" + FORMULA_NAME  # a spreadsheet shows it as text
    english = _csv(world, scene.program_id, "merchants", "en")
    assert english[0] == [
        "Rank",
        "Merchant",
        "Merchant region",
        "Redemptions",
        "Subsidy (yuan)",
        "Order value (yuan)",
    ]
    summary = {r[0]: r[1] for r in _csv(world, scene.program_id, "summary", "zh")[1:]}
    assert summary["领取率（领取÷投放）"] == "75.00%"
    assert summary["财政补贴（券抵扣）"] == "90.00"
    assert summary["杠杆率（订单÷补贴）"] == "5.56"
    days = _csv(world, scene.program_id, "days", "en")
    assert days[0][0] == "Day"
    assert days[1][0] == "2026-11-25"
    assert sum(Fraction(r[3]) for r in days[1:]) == 90


def test_the_xlsx_export_has_a_sheet_per_table_with_yuan_amounts(world: World) -> None:
    scene, _ = _scene(world)
    staff_session(world, "operator")
    answer = world.client.get(f"/ops/programs/{scene.program_id}/report.xlsx")
    assert answer.status_code == 200
    assert "spreadsheetml" in answer.headers["content-type"]
    sheets = read_xlsx(answer.content)
    assert list(sheets) == ["概览", "逐日", "按消费类别", "按商户地区", "商户排行", "领取地区"]
    merchants = sheets["商户排行"]
    assert merchants[0] == [
        "名次",
        "商户",
        "商户地区",
        "核销笔数",
        "补贴金额（元）",
        "订单金额（元）",
    ]
    assert merchants[1] == [1, merchants[1][1], "330106 西湖区", 2, 60, 320]
    assert merchants[2][1] == FORMULA_NAME  # a text cell, not a formula (checked above)
    summary = {row[0]: row[1] for row in sheets["概览"][1:]}
    assert summary["领取率（领取÷投放）"] == Fraction(3, 4)
    assert summary["财政补贴（券抵扣）"] == 90
    assert summary["带动消费（订单金额）"] == 500
    english = read_xlsx(
        world.client.get(f"/ops/programs/{scene.program_id}/report.xlsx?lang=en").content
    )
    assert list(english)[:2] == ["Summary", "Day by day"]
    assert english["By category"][1][:4] == ["Catering", 3, 90, 500]


def test_another_issuers_staff_get_neither_the_page_nor_the_exports(world: World) -> None:
    scene, _ = _scene(world)
    staff_session(world, "outsider")
    for path in ("dashboard", "report.xlsx", "report.csv?table=merchants"):
        answer = world.client.get(f"/ops/programs/{scene.program_id}/{path}")
        assert answer.status_code in (403, 404), path  # as the program page itself answers
        assert "知味" not in answer.text
