"""Messages of the counter (the cashier's preview, refund and shift report) and of the public
disclosure page's additions (issue 16, points 8–15). ``key: (zh, en)``."""

from __future__ import annotations

from typing import Final

COUNTER: Final[dict[str, tuple[str, str]]] = {
    # The cashier screen
    "counter.terminal": ("终端", "Terminal"),
    "counter.shift": ("本班核销报表", "Shift report"),
    "counter.camera_view": ("摄像头画面", "Camera view"),
    "counter.camera_checking": (
        "正在检查摄像头能否使用……也可直接扫码枪扫码或手动输入券码。",
        "Checking whether the camera can be used… A scanner or typing the code works too.",
    ),
    "counter.camera_ready": (
        "可用摄像头扫码，也可用扫码枪扫码或手动输入券码。",
        "The camera can scan the code; a scanner or typing the code works too.",
    ),
    "counter.camera_insecure": (
        "此页面不是通过 https 打开的，浏览器不允许使用摄像头：请用扫码枪扫码或手动输入券码。",
        "This page was not opened over https, so the browser does not allow the camera: use a "
        "scanner or type the code.",
    ),
    "counter.camera_denied": (
        "未能打开摄像头（没有摄像头，或未获允许）：请用扫码枪扫码或手动输入券码。",
        "The camera could not be opened (none found, or permission refused): use a scanner or "
        "type the code.",
    ),
    "counter.camera_looking": (
        "请将顾客的二维码对准摄像头……",
        "Hold the customer's QR code in front of the camera…",
    ),
    "counter.camera_none": (
        "一分钟内未识别到二维码，摄像头已关闭：可再试一次，或手动输入券码。",
        "No QR code was read within a minute and the camera was turned off: try again, or type "
        "the code.",
    ),
    "counter.preview": ("查看优惠", "Check the discount"),
    "counter.previewing": ("正在核对……", "Checking…"),
    "counter.preview_hint": (
        "先核对券面和顾客实付金额，确认后才核销。",
        "You see the voucher and what the customer pays first; nothing is redeemed until you "
        "confirm.",
    ),
    "counter.preview_title": ("请与顾客核对", "Check with the customer"),
    "counter.value": ("券面价值", "Voucher value"),
    "counter.last_day": ("最后可用日", "Last day of use"),
    "counter.nothing_yet": (
        "尚未核销：此券仍可使用，也未被占用。",
        "Not redeemed yet: the voucher is neither used nor held.",
    ),
    "counter.confirm": ("确认核销（顾客实付 {pays}）", "Confirm (the customer pays {pays})"),
    "counter.change": ("修改金额或换一张券", "Change the amount or the voucher"),
    "counter.when_what": ("时间 · 类别", "Time · category"),
    "counter.refund_link": (
        "顾客退货？在此撤销这笔核销",
        "Order refunded? Reverse this redemption",
    ),
    # One redemption and its reversal
    "counter.redemption_title": ("核销记录", "Redemption"),
    "counter.reversed_done": ("已撤销", "Reversed"),
    "counter.outcome.restored": (
        "券已退回顾客的券包，仍可在有效期内使用。",
        "The voucher is back in the customer's wallet and can be used while it is valid.",
    ),
    "counter.outcome.recycled": (
        "该券已过有效期（或已结算），不再退回顾客；其资金退回项目预算。",
        "The voucher is past its validity (or already settled) and does not go back to the "
        "customer; its money returns to the program's budget.",
    ),
    "counter.reverse_refused": ("不能撤销", "Not reversed"),
    "counter.status": ("状态", "Status"),
    "counter.status.redeemed": ("已核销", "Redeemed"),
    "counter.number": ("核销编号", "Redemption number"),
    "counter.reversed_at": ("撤销于 {at}，原因：{reason}", "Reversed at {at}; reason: {reason}"),
    "counter.reverse_title": ("撤销核销（退款）", "Reverse (refund)"),
    "counter.reverse_says": (
        "撤销后，{amount} 的券抵扣作废，券退回顾客（仍在有效期内时）。可撤销至 {deadline}。",
        "Reversing cancels the {amount} discount and gives the voucher back to the customer "
        "(while it is valid). Possible until {deadline}.",
    ),
    "counter.reverse_reason": ("撤销原因", "Reason"),
    "counter.reason.refunded": ("顾客退货退款", "The order was refunded"),
    "counter.reason.wrong_amount": ("金额输错", "Wrong amount entered"),
    "counter.reason.wrong_voucher": ("核销了错误的券", "The wrong voucher was redeemed"),
    "counter.reason.other": ("其他", "Other"),
    "counter.reverse_note": ("补充说明", "Note"),
    "counter.optional": ("（可不填）", "(optional)"),
    "counter.reverse_button": ("撤销这笔核销（{amount}）", "Reverse this redemption ({amount})"),
    "counter.window_over": (
        "已超过撤销期限（{deadline}），如需处理请联系运营人员。",
        "The time to reverse it ended at {deadline}; ask the program's operators.",
    ),
    # The shift report
    "counter.shift_title": ("核销报表 · {day}", "Shift report · {day}"),
    "counter.shift_where": ("本终端：{terminal}", "This terminal: {terminal}"),
    "counter.shift_whole_shop": ("本店全部终端", "Every terminal of the shop"),
    "counter.printed_at": ("生成于 {at}（{zone}）", "Made at {at} ({zone})"),
    "counter.only_this_terminal": ("只看本终端", "This terminal only"),
    "counter.whole_shop": ("看本店全部终端", "Every terminal of the shop"),
    "counter.print": ("打印", "Print"),
    "counter.totals": ("合计", "Totals"),
    "counter.count": ("核销笔数", "Redemptions"),
    "counter.orders_total": ("订单金额", "Orders"),
    "counter.discount_total": ("券抵扣（应收补贴）", "Voucher discounts (to be paid to the shop)"),
    "counter.paid_total": ("顾客实付", "Paid by customers"),
    "counter.reversed_total": (
        "另有 {count} 笔已撤销（券抵扣 {amount}），不计入合计。",
        "{count} reversed (discount {amount}) are not in the totals.",
    ),
    "counter.totals_note": (
        "“今天”按项目所在时区计算；合计不含已撤销的核销。",
        "“Today” is the program's local day; the totals leave out reversed redemptions.",
    ),
    "counter.rows": ("明细", "Redemptions"),
    "counter.no_rows": ("今天还没有核销。", "Nothing redeemed today yet."),
    "counter.cut": (
        "仅列出最近 1000 笔；合计包含全部。",
        "Only the latest 1,000 are listed; the totals count all of them.",
    ),
    # Refusals in words
    "counter.list_sep": ("、", ", "),
    "counter.scene.offline": ("到店消费", "in the shop"),
    "counter.scene.online": ("线上消费", "online"),
    "counter.refuse.OUT_OF_SCOPE.category": (
        "该券只能用于{allowed}，不能用于“{category}”。",
        "This voucher can only be used for {allowed}, not for {category}.",
    ),
    "counter.refuse.OUT_OF_SCOPE.merchant_category": (
        "本店未登记“{category}”类别，不能按此类别核销。",
        "This shop is not registered for {category}, so it cannot redeem for it.",
    ),
    "counter.refuse.OUT_OF_SCOPE.scene": (
        "该券只能{allowed}使用，不能{scene}使用。",
        "This voucher can only be used {allowed}, not {scene}.",
    ),
    "counter.refuse.OUT_OF_SCOPE.merchant_scene": (
        "本店未开通{scene}核销。",
        "This shop does not redeem {scene}.",
    ),
    "counter.refuse.OUT_OF_SCOPE.region": (
        "该券只能在 {allowed} 的商户使用，本店位于 {region}。",
        "This voucher can only be used at shops in {allowed}; this shop is in {region}.",
    ),
    "counter.refuse.OUT_OF_SCOPE.merchant": (
        "该券只能在指定商户使用，本店不在其中。",
        "This voucher can only be used at the shops it names, and this shop is not one of them.",
    ),
    "counter.refuse.OUT_OF_SCOPE.issuer": (
        "该券属于其他发券机构的项目，本店不能核销。",
        "This voucher belongs to another issuer's program; this shop cannot redeem it.",
    ),
    "counter.refuse.OUTSIDE_USAGE_WINDOW.weekday": (
        "该券只能在{weekdays}使用，今天是{weekday}。",
        "This voucher can only be used on {weekdays}; today is {weekday}.",
    ),
    "counter.refuse.OUTSIDE_USAGE_WINDOW.hours": (
        "该券只能在 {hours} 使用，现在是 {local_time}。",
        "This voucher can only be used {hours}; it is {local_time} now.",
    ),
    "counter.refuse.OUTSIDE_USAGE_WINDOW.excluded_date": (
        "该券在 {date} 不能使用。",
        "This voucher cannot be used on {date}.",
    ),
    "counter.refuse.VOUCHER_EXPIRED.last_day": (
        "该券已过期：最后可用日是 {last_day}。",
        "This voucher has expired: its last day of use was {last_day}.",
    ),
}

DISCLOSE: Final[dict[str, tuple[str, str]]] = {
    # The public disclosure page (issue 16, point 14)
    "disclose.driven": ("消费带动", "Consumption driven"),
    "disclose.claimed": ("已领取的券", "Vouchers claimed"),
    "disclose.redeemed": ("已核销的券", "Vouchers redeemed"),
    "disclose.subsidy_used": ("券抵扣（财政补贴）", "Discounts (the subsidy spent)"),
    "disclose.consumption": ("带动消费（订单总额）", "Consumption (order value)"),
    "disclose.leverage": ("杠杆率", "Leverage"),
    "disclose.leverage_value": ("1 : {ratio}", "1 : {ratio}"),
    "disclose.leverage_explained": (
        "杠杆率 = 核销订单总额 ÷ 券抵扣总额 = {orders} ÷ {subsidy}：每 1 元补贴带动 {ratio} 元消费"
        "（含补贴本身；已撤销的核销不计）。",
        "Leverage = order value ÷ discounts = {orders} ÷ {subsidy}: each yuan of subsidy went "
        "with {ratio} yuan of spending (the subsidy included; reversed redemptions left out).",
    ),
    "disclose.leverage_none": (
        "还没有核销，杠杆率（核销订单总额 ÷ 券抵扣总额）在第一笔核销后显示。",
        "Nothing is redeemed yet; the leverage (order value ÷ discounts) shows after the first "
        "redemption.",
    ),
    "disclose.funders": ("出资方及出资比例", "Funders and their shares"),
    "disclose.no_funders": ("尚无已批准的出资。", "No approved contribution yet."),
    "disclose.funder": ("出资方", "Funder"),
    "disclose.net": ("净出资", "Net contribution"),
    "disclose.share": ("占比", "Share"),
    "disclose.funders_note": (
        "净出资 = 已批准的出资 − 已批准的退回；占比按净出资计算。",
        "Net contribution = approved contributions − approved returns; shares are of the net "
        "total.",
    ),
    "disclose.merchants": ("参与商户（{count} 家）", "Merchants taking part ({count})"),
    "disclose.no_merchants": ("还没有审核通过的商户。", "No merchant has been approved yet."),
    "disclose.merchants_note": (
        "经发放机构审核通过的商户，可在其登记的类别内核销本项目的券（具体以券的使用规则为准）。",
        "Merchants approved by the issuer; they redeem this program's vouchers in the categories "
        "they are registered for (each voucher's own rules apply).",
    ),
    "disclose.merchants_cut": (
        "按名称列出前 {shown} 家。",
        "The first {shown} by name are listed.",
    ),
    "disclose.lotteries": ("摇号结果与核验", "Lottery results and how to verify them"),
    "disclose.lotteries_text": (
        "每个摇号批次在报名前公布承诺值；开奖后公开种子和中签者（化名）。任何人都可以独立复核。",
        "Each lottery publishes its commitment before registration opens; after the draw it "
        "publishes the seed and the winners (pseudonyms). Anyone can check the draw.",
    ),
    "disclose.lottery_record": (
        "公开记录（承诺值、种子、中签者）",
        "Public record (commitment, seed, winners)",
    ),
    "disclose.lottery_verify": (
        "用开源的 quan 命令行工具复核（不依赖本网站的说法）：",
        "Check it with the open-source quan command-line tool (without trusting this site):",
    ),
    "disclose.rule_changes_note": (
        "只列出改变项目规则的事件（项目、券种、批次）；居民报名等其他事件见透明日志。",
        "Only events that change the program's rules (program, voucher types, batches); other "
        "events, such as lottery entries, are in the transparency log.",
    ),
    "disclose.no_rule_changes": ("没有规则变更。", "No rule change."),
    "disclose.change": ("变更", "Change"),
}
