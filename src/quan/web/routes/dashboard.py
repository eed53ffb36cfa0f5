"""A program's dashboard and its exports (CSV per table, one XLSX workbook).

The figures are the program report (:func:`quan.services.operations.report.program_report`),
read in one read transaction; this module only words and draws them. Charts: one series per
chart, each on its own scale (claims, redemptions and subsidy per day), so a small series is
never flattened against a large one; the cumulative budget chart (funded against committed)
has a log-scale switch (``?scale=log``) for the same reason.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

from fastapi import Request, Response
from markupsafe import Markup

from quan.edge.deps import RuntimeDep
from quan.edge.downloads import csv_response
from quan.services.operations.report import Report, program_report
from quan.web import charts
from quan.web.i18n import Translator, category_name, request_lang
from quan.web.report_export import XLSX, table_csv, workbook
from quan.web.report_tables import ratio_decimal, region_label, tables
from quan.web.routes.common import StaffPage, console_router, staff_context
from quan.web.templating import render

router = console_router()

TableName = Literal["summary", "days", "categories", "regions", "merchants", "claims"]
LABEL = "%m-%d"


def _read(rt: RuntimeDep, actor: StaffPage, program_id: str) -> Report:
    with rt.db.read() as tx:
        return program_report(tx, actor, program_id, rt.clock.now())


def _charts(report: Report, t: Translator, log: bool) -> dict[str, Markup]:
    days = report.days

    def per_day(title: str, values: list[int], fmt: str = "{:,}") -> Markup:
        return charts.bar_chart(
            t(title),
            [charts.Point(d.day.strftime(LABEL), v) for d, v in zip(days, values, strict=True)],
            fmt=fmt,
        )

    def bars(title: str, points: list[charts.Point], fmt: str = "{:,}") -> Markup:
        return charts.horizontal_bars(t(title), points, fmt=fmt)

    return {
        "claims_chart": per_day("dash.claims_per_day", [d.claims for d in days]),
        "redeemed_chart": per_day("dash.redeemed_per_day", [d.redeemed for d in days]),
        "subsidy_chart": per_day(
            "report.subsidy_per_day", [d.subsidy_fen // 100 for d in days], "¥{:,}"
        ),
        "burn_chart": charts.line_chart(
            t("dash.burn"),
            [
                charts.Series(
                    t("dash.funded"),
                    [charts.Point(d.day.strftime(LABEL), d.funded_fen // 100) for d in days],
                ),
                charts.Series(
                    t("dash.committed"),
                    [charts.Point(d.day.strftime(LABEL), d.committed_fen // 100) for d in days],
                    alt=True,
                ),
            ],
            fmt="¥{:,}",
            log=log,
        ),
        "region_chart": bars(
            "dash.claims_by_region",
            [charts.Point(region_label(c.key), c.count) for c in report.claims_by_region],
        ),
        "type_chart": bars(
            "dash.claims_by_type", [charts.Point(c.key, c.count) for c in report.claims_by_type]
        ),
        "category_chart": bars(
            "dash.spend_by_category",
            [
                charts.Point(category_name(m.key, t.lang), m.subsidy_fen // 100)
                for m in report.by_category
            ],
            "¥{:,}",
        ),
        "spend_region_chart": bars(
            "dash.spend_by_region",
            [charts.Point(region_label(m.key), m.subsidy_fen // 100) for m in report.by_region],
            "¥{:,}",
        ),
    }


@router.get("/ops/programs/{program_id}/dashboard")
def dashboard_page(
    program_id: str, request: Request, actor: StaffPage, rt: RuntimeDep, scale: str = "linear"
) -> Response:
    lang = request_lang(request)
    t = Translator(lang)
    report = _read(rt, actor, program_id)
    log = scale == "log"

    def percent(value: Fraction | None) -> str:
        got = ratio_decimal(value, "percent")
        return t("report.none") if got is None else f"{got}%"

    leverage = ratio_decimal(report.leverage, "ratio")
    return render(
        request,
        "ops/dashboard.html",
        staff_context(
            actor,
            program=report.program,
            report=report,
            tables=tables(report, lang),
            take_up=percent(report.take_up),
            redemption_rate=percent(report.redemption_rate),
            leverage=t("report.none")
            if leverage is None
            else t("report.leverage_value", value=str(leverage)),
            start=report.days[0].day.isoformat(),
            log=log,
            region_label=region_label,
            **_charts(report, t, log),
        ),
    )


@router.get("/ops/programs/{program_id}/report.csv")
def report_csv(
    program_id: str, request: Request, actor: StaffPage, rt: RuntimeDep, table: TableName = "days"
) -> Response:
    """One of the report's tables, headers in the page's language, amounts in yuan."""
    report = _read(rt, actor, program_id)
    chosen = next(x for x in tables(report, request_lang(request)) if x.name == table)
    return csv_response(table_csv(chosen), f"report-{program_id}-{table}.csv")


@router.get("/ops/programs/{program_id}/report.xlsx")
def report_xlsx(program_id: str, request: Request, actor: StaffPage, rt: RuntimeDep) -> Response:
    """Every table of the report, one sheet each."""
    report = _read(rt, actor, program_id)
    return Response(
        workbook(tables(report, request_lang(request))),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="report-{program_id}.xlsx"'},
    )
