"""The program report as tables in the page's language: what the dashboard exports.

Each table has a stable ``name`` (its CSV file and ``?table=``), a title (the XLSX sheet's name),
columns with their headers in the page's language (Chinese on a zh-CN page, English on an en
page) and a kind that says how a cell is written: text, a count, an amount in yuan (the fen
turned into an exact decimal, never through a float), or a ratio. Region codes come with their
names (``330106 西湖区``), categories with theirs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

from quan.domain.eligibility import region_name
from quan.services.operations.report import Count, MerchantRow, Money, Report
from quan.web.i18n import Lang, Translator, category_name

Kind = Literal["text", "count", "yuan", "ratio", "percent"]


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    kind: Kind


@dataclass(frozen=True, slots=True)
class Typed:
    """A cell that says its own kind (the summary's figures are counts, amounts and ratios)."""

    value: Any
    kind: Kind


@dataclass(frozen=True, slots=True)
class Table:
    name: str  # days, summary, categories ...: the CSV's name and the ?table= value
    title: str  # in the page's language; the XLSX sheet's name
    columns: list[Column]
    rows: list[list[Any]]  # text, int (counts and fen), Fraction or None (ratios), Typed


def region_label(code: str) -> str:
    """``330106 西湖区``: the code and the division's name (GB/T 2260 has the Chinese names
    only, which are the names on every map and sign, so English pages show them too)."""
    name = region_name(code)
    return f"{code} {name}" if name else code


def yuan_decimal(fen: int) -> Decimal:
    """``12345`` → ``Decimal('123.45')``, exact, always two decimals."""
    return Decimal(fen).scaleb(-2)


def ratio_decimal(value: Fraction | None, kind: Kind) -> Decimal | None:
    """A ratio (or a percentage) to two decimals, rounded half even, from the exact fraction."""
    if value is None:
        return None
    places = Decimal("0.01")
    scaled = Decimal(value.numerator) / Decimal(value.denominator)
    if kind == "percent":
        scaled *= 100
    return scaled.quantize(places)


def _money_rows(rows: Sequence[Money], label: Any) -> list[list[Any]]:
    return [
        [
            label(r.key),
            r.redemptions,
            r.subsidy_fen,
            r.order_fen,
            Fraction(r.order_fen, r.subsidy_fen) if r.subsidy_fen else None,
        ]
        for r in rows
    ]


def tables(report: Report, lang: Lang) -> list[Table]:
    t = Translator(lang)
    n, money, orders, lev = (
        Column(t("report.col.redemptions"), "count"),
        Column(t("report.col.subsidy"), "yuan"),
        Column(t("report.col.orders"), "yuan"),
        Column(t("report.col.leverage"), "ratio"),
    )
    b = report.budget
    summary = [
        [t("report.offered"), Typed(report.offered, "count")],
        [t("report.claimed"), Typed(report.claimed, "count")],
        [t("report.take_up"), Typed(report.take_up, "percent")],
        [t("report.redeemed"), Typed(report.redeemed, "count")],
        [t("report.redemption_rate"), Typed(report.redemption_rate, "percent")],
        [t("report.subsidy"), Typed(report.subsidy_fen, "yuan")],
        [t("report.orders"), Typed(report.order_fen, "yuan")],
        [t("report.leverage"), Typed(report.leverage, "ratio")],
        [t("budget.funded"), Typed(b.funded_fen, "yuan")],
        [t("budget.available"), Typed(b.available_fen, "yuan")],
        [t("budget.reserved"), Typed(b.reserved_fen, "yuan")],
        [t("budget.payable"), Typed(b.payable_fen, "yuan")],
        [t("budget.paid"), Typed(b.paid_fen, "yuan")],
        [t("budget.returned"), Typed(b.returned_fen, "yuan")],
    ]

    def merchant_rows(rows: Sequence[MerchantRow]) -> list[list[Any]]:
        return [
            [i + 1, m.name, region_label(m.region_code), m.redemptions, m.subsidy_fen, m.order_fen]
            for i, m in enumerate(rows)
        ]

    def counts(rows: Sequence[Count], label: Any) -> list[list[Any]]:
        return [[label(c.key), c.count] for c in rows]

    rank, merchant, region = (
        Column(t("report.col.rank"), "count"),
        Column(t("report.col.merchant"), "text"),
        Column(t("report.col.region"), "text"),
    )
    return [
        Table(
            "summary",
            t("report.sheet.summary"),
            [Column(t("report.col.figure"), "text"), Column(t("report.col.value"), "ratio")],
            summary,
        ),
        Table(
            "days",
            t("report.sheet.days"),
            [
                Column(t("report.col.day"), "text"),
                Column(t("report.col.claims"), "count"),
                n,
                money,
                orders,
                Column(t("report.col.funded"), "yuan"),
                Column(t("report.col.committed"), "yuan"),
            ],
            [
                [
                    d.day.isoformat(),
                    d.claims,
                    d.redeemed,
                    d.subsidy_fen,
                    d.order_fen,
                    d.funded_fen,
                    d.committed_fen,
                ]
                for d in report.days
            ],
        ),
        Table(
            "categories",
            t("report.sheet.categories"),
            [Column(t("report.col.category"), "text"), n, money, orders, lev],
            _money_rows(report.by_category, lambda c: category_name(c, lang)),
        ),
        Table(
            "regions",
            t("report.sheet.regions"),
            [region, n, money, orders, lev],
            _money_rows(report.by_region, region_label),
        ),
        Table(
            "merchants",
            t("report.sheet.merchants"),
            [rank, merchant, region, n, money, orders],
            merchant_rows(report.merchants_by_subsidy),
        ),
        Table(
            "claims",
            t("report.sheet.claims"),
            [
                Column(t("report.col.residents_region"), "text"),
                Column(t("report.col.claims"), "count"),
            ],
            counts(report.claims_by_region, region_label),
        ),
    ]
