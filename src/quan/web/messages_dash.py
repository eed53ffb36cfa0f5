"""Messages of the program report: the dashboard's figures and its CSV and XLSX exports."""

from __future__ import annotations

from typing import Final

DASH: Final[dict[str, tuple[str, str]]] = {
    "report.offered": ("投放券数", "Vouchers offered"),
    "report.claimed": ("已领取", "Claimed"),
    "report.take_up": ("领取率（领取÷投放）", "Take-up (claimed ÷ offered)"),
    "report.redeemed": ("已核销", "Redeemed"),
    "report.redemption_rate": ("核销率（核销÷领取）", "Redemption rate (redeemed ÷ claimed)"),
    "report.subsidy": ("财政补贴（券抵扣）", "Subsidy (vouchers took off)"),
    "report.orders": ("带动消费（订单金额）", "Spending brought (order value)"),
    "report.leverage": ("杠杆率（订单÷补贴）", "Leverage (order value ÷ subsidy)"),
    "report.leverage_value": ("{value} 倍", "{value}×"),
    "report.none": ("—", "—"),
    "report.subsidy_per_day": ("每日补贴金额", "Subsidy per day"),
    "report.since": (
        "时间轴自项目开始日 {start}（{zone}）起。每张图各用自己的刻度。",
        "The time axis starts on the program's first day, {start} ({zone}). Each chart has "
        "its own scale.",
    ),
    "report.scale_log": ("预算图改用对数刻度", "Budget chart on a log scale"),
    "report.scale_linear": ("预算图改用线性刻度", "Budget chart on a linear scale"),
    "report.merchants": ("商户排行", "Merchant ranking"),
    "report.merchants_by_subsidy": ("按补贴金额", "By subsidy"),
    "report.merchants_by_redemptions": ("按核销笔数", "By redemptions"),
    "report.export": ("导出", "Export"),
    "report.export_xlsx": ("全部数据（Excel 工作簿）", "Everything (Excel workbook)"),
    "report.export_csv": ("CSV：{table}", "CSV: {table}"),
    # Export tables and their columns
    "report.sheet.summary": ("概览", "Summary"),
    "report.sheet.days": ("逐日", "Day by day"),
    "report.sheet.categories": ("按消费类别", "By category"),
    "report.sheet.regions": ("按商户地区", "By merchant region"),
    "report.sheet.merchants": ("商户排行", "Merchants"),
    "report.sheet.claims": ("领取地区", "Claims by region"),
    "report.col.figure": ("指标", "Figure"),
    "report.col.value": ("数值", "Value"),
    "report.col.day": ("日期", "Day"),
    "report.col.claims": ("领取量", "Claims"),
    "report.col.redemptions": ("核销笔数", "Redemptions"),
    "report.col.subsidy": ("补贴金额（元）", "Subsidy (yuan)"),
    "report.col.orders": ("订单金额（元）", "Order value (yuan)"),
    "report.col.leverage": ("杠杆率", "Leverage"),
    "report.col.funded": ("累计到账（元）", "Funded to date (yuan)"),
    "report.col.committed": ("累计用于券（元）", "Committed to date (yuan)"),
    "report.col.category": ("消费类别", "Category"),
    "report.col.region": ("商户地区", "Merchant region"),
    "report.col.residents_region": ("居民地区", "Residents' region"),
    "report.col.rank": ("名次", "Rank"),
    "report.col.merchant": ("商户", "Merchant"),
}
