"""Console texts in zh-CN and en for the resident's wallet beyond its first pages: the code
resend, vouchers that can no longer be used, the last day, the program's rules and shops, the
help line and the usage history (see :mod:`quan.web.messages`)."""

from __future__ import annotations

from typing import Final

WALLET: Final[dict[str, tuple[str, str]]] = {
    # Signing in: the resend button counts down; a resend too soon keeps the code box
    "wallet.resend_in": ("{seconds} 秒后可重新获取", "New code in {seconds} s"),
    "wallet.resend_wait": (
        "验证码刚刚发出，请先输入收到的验证码；{seconds} 秒后可以重新获取。",
        "A code was sent moments ago: please type it in. You can ask for a new one in "
        "{seconds} seconds.",
    ),
    # The last day, one way everywhere
    "wallet.last_day": ("最后使用日：{day}（当天可用）", "Last day to use: {day} (inclusive)"),
    "wallet.last_day_time": (
        "最后使用日：{day}，{time} 前可用",
        "Last day to use: {day}, before {time}",
    ),
    # Vouchers that can no longer be used
    "voucher.status.deactivated": ("已暂停", "Suspended"),
    "wallet.spent_stamp.redeemed": ("已使用", "USED"),
    "wallet.spent_stamp.expired": ("已过期", "EXPIRED"),
    "wallet.spent_stamp.deactivated": ("已暂停", "SUSPENDED"),
    "wallet.spent_stamp.recycled": ("已回收", "RECYCLED"),
    "wallet.used_at": (
        "{at} 在「{shop}」使用，订单 {order}，为您节省 {saved}",
        "Used at {shop} on {at}: order {order}, you saved {saved}",
    ),
    "wallet.expired_on": (
        "已过期：最后使用日是 {day}，未使用。",
        "Expired: the last day to use it was {day}; it was not used.",
    ),
    "wallet.suspended_on": (
        "自 {at} 起暂停使用。如有疑问请致电 {help}。",
        "Suspended since {at}. Questions? Call {help}.",
    ),
    "wallet.cannot_use": (
        "这张券不能再使用，收银台不会接受。",
        "This voucher can no longer be used; the cashier will not accept it.",
    ),
    "wallet.no_qr": (
        "这张券已不能使用，所以不显示二维码。",
        "No QR code: this voucher can no longer be used.",
    ),
    "wallet.code_label": ("券码", "Code"),
    "wallet.in_use": ("可以使用", "Ready to use"),
    "wallet.past_vouchers": ("不能再使用的券", "Vouchers you can no longer use"),
    # Lottery offers: registration closes, not claiming
    "wallet.register_by": ("报名截止：{end}", "Enter by {end}"),
    "wallet.pseudonym_full": ("完整化名", "Full pseudonym"),
    # The program's rules, shops and help line
    "guide.link": ("使用规则和可用商户", "Rules and where to use it"),
    "guide.title": ("使用规则", "How it works"),
    "guide.rules": ("规则说明", "The rules"),
    "guide.discount": ("优惠：{summary}", "Discount: {summary}"),
    "guide.categories": ("可用于：{names}", "For: {names}"),
    "guide.scenes": ("使用方式：{names}", "How: {names}"),
    "guide.scope.all": (
        "参加本项目、经审核通过的所有相关商户均可使用（见下方商户名单）。",
        "Any approved shop of this program in these categories (see the list below).",
    ),
    "guide.scope.regions": ("仅限以下地区的商户：{names}", "Only at shops in: {names}"),
    "guide.scope.merchants": (
        "仅限指定的 {count} 家商户，收银时会核对。",
        "Only at {count} named shops; the cashier's check tells.",
    ),
    "guide.validity_days": (
        "领取后 {days} 天内有效，领取当天算第 1 天。",
        "Usable for {days} days from the day you claim it, that day included.",
    ),
    "guide.validity_fixed": ("{start} 起可用，{last}", "Usable from {start}. {last}"),
    "guide.any_time": ("每天全天可用。", "Any day, any time."),
    "guide.weekdays": ("可用日：{days}", "Days: {days}"),
    "guide.weekday.1": ("周一", "Mon"),
    "guide.weekday.2": ("周二", "Tue"),
    "guide.weekday.3": ("周三", "Wed"),
    "guide.weekday.4": ("周四", "Thu"),
    "guide.weekday.5": ("周五", "Fri"),
    "guide.weekday.6": ("周六", "Sat"),
    "guide.weekday.7": ("周日", "Sun"),
    "guide.hours": ("可用时段：{hours}", "Hours: {hours}"),
    "guide.excluded": ("以下日期不可用：{dates}", "Not on: {dates}"),
    "guide.per_order": (
        "一笔订单最多用 {count} 张。",
        "At most {count} on one order.",
    ),
    "guide.no_change": (
        "优惠只抵扣订单金额，不找零、不兑换现金；优惠不超过订单金额。",
        "The discount only reduces the bill: no change, no cash, never more than the order.",
    ),
    "guide.daily_cap": ("每人每天最多使用 {count} 张。", "At most {count} per person per day."),
    "guide.handout": (
        "{name}：{opens} 至 {closes}，每人最多 {limit} 张。",
        "{name}: {opens} to {closes}, at most {limit} each.",
    ),
    "guide.handout_lottery": (
        "{name}：摇号发放，{closes} 报名截止，共 {quantity} 张。",
        "{name}: by lottery, entries close {closes}, {quantity} places.",
    ),
    "guide.who": ("领取条件：{who}", "Who may claim: {who}"),
    "guide.program_ends": ("项目结束时间：{at}", "The program ends: {at}"),
    "guide.shops": ("可用商户", "Where to use it"),
    "guide.search": ("搜索商户", "Find a shop"),
    "guide.search_name": ("店名", "Shop name"),
    "guide.search_category": ("类别", "Category"),
    "guide.search_district": ("地区", "District"),
    "guide.any": ("全部", "All"),
    "guide.search_go": ("搜索", "Search"),
    "guide.found": ("找到 {count} 家商户", "{count} shops found"),
    "guide.found_more": (
        "只显示前 {count} 家，请缩小搜索范围。",
        "Showing the first {count}; narrow the search.",
    ),
    "guide.none_found": ("没有符合条件的商户。", "No shop matches."),
    "guide.in_store": ("到店", "In store"),
    "guide.online": ("线上", "Online"),
    "guide.help": ("咨询和投诉", "Help and complaints"),
    "guide.help_line": ("咨询电话：{phone}", "Help line: {phone}"),
    "guide.help_text": (
        "券不能用、被拒绝或对结果有疑问，请拨打上面的电话，说明券码尾号。",
        "If a voucher is refused or something looks wrong, call the number above and give the "
        "last four characters of the code.",
    ),
    "wallet.help_line": ("咨询电话 {phone}", "Help line {phone}"),
    # Usage history
    "history.link": ("使用记录", "Usage history"),
    "history.title": ("使用记录", "Usage history"),
    "history.none": ("还没有使用记录。", "Nothing used yet."),
    "history.total": (
        "共使用 {count} 次，累计节省 {saved}",
        "Used {count} times, {saved} saved in all",
    ),
    "history.order": ("订单金额", "Order"),
    "history.saved": ("节省", "Saved"),
    "history.reversed": (
        "已撤销，券已退回或作废",
        "Reversed: the voucher came back or was withdrawn",
    ),
}
