"""The console's message catalogue: every string a page shows, in zh-CN and English.

One entry per key: ``key: (zh, en)``; the operations' pages (:mod:`~quan.web.messages_operations`)
and the public, wallet and cashier pages (:mod:`~quan.web.messages_public`) have modules of their
own. ``{name}`` placeholders are filled by the translator.
Error messages are not here: they come with their codes from :mod:`quan.domain.errors`, so the
console says exactly what the API says. A unit test checks that every key a template uses is
here and that both languages have the same placeholders.
"""

from __future__ import annotations

from typing import Final

from quan.web.messages_abuse import ABUSE
from quan.web.messages_alerts import ALERTS
from quan.web.messages_audit import AUDIT
from quan.web.messages_counter import COUNTER, DISCLOSE
from quan.web.messages_dash import DASH
from quan.web.messages_feedback import FEEDBACK
from quan.web.messages_notify import NOTIFY
from quan.web.messages_office import OFFICE
from quan.web.messages_operations import OPERATIONS
from quan.web.messages_portal import PORTAL
from quan.web.messages_prog15 import PROG15
from quan.web.messages_public import PUBLIC
from quan.web.messages_reminders import REMINDERS
from quan.web.messages_reveals import REVEALS
from quan.web.messages_selfreg import SELFREG
from quan.web.messages_supplyui import SUPPLYUI
from quan.web.messages_wallet import WALLET

MESSAGES: Final[dict[str, tuple[str, str]]] = {
    # Frame
    "app.name": ("服务消费券平台", "Service voucher platform"),
    "app.footer": (
        "Quan 券 · 开源服务消费券平台 · 每一分钱都可追溯",
        "Quan · open-source service voucher platform · every fen traceable",
    ),
    "nav.label": ("主导航", "Main navigation"),
    "nav.programs": ("项目", "Programs"),
    "nav.merchants": ("商户审核", "Merchant review"),
    "nav.auditor": ("审计", "Audit"),
    "nav.jobs": ("后台任务", "Jobs"),
    "nav.disclosure": ("信息公示", "Public disclosure"),
    "nav.wallet": ("我的券包", "My wallet"),
    "nav.cashier": ("收银核销", "Cashier"),
    "nav.sign_out": ("退出登录", "Sign out"),
    "nav.staff": ("人员账号", "Staff"),
    "nav.desk": ("协办窗口", "Desk"),
    # The agent's desk (assisted channel)
    "desk.title": ("协办窗口", "Service desk"),
    "desk.intro": (
        "只为在场的居民办理：先向其手机发送验证码并由本人告知，或照身份证输入身份证号。",
        "Serve only citizens who are here: send a code to their phone and let them read it "
        "out, or type the ID card number from the card.",
    ),
    "desk.step_code": ("1. 发送验证码（可选）", "1. Send a code (optional)"),
    "desk.step_issue": ("2. 发放并打印", "2. Issue and print"),
    "desk.step_reprint": ("补打", "Reprint"),
    "desk.reprint_hint": (
        "仅限在本窗口发放的券，每张最多补打 2 次，须居民本人在场并说明原因；每次补打均记录在案。",
        "Only vouchers issued at a desk, at most twice each, with the holder present and a "
        "reason; every reprint is recorded.",
    ),
    "desk.citizen_id": ("居民编号", "Citizen id"),
    "desk.send_code": ("发送验证码", "Send code"),
    "desk.batch": ("批次", "Batch"),
    "desk.otp_code": ("居民告知的验证码", "Code read out by the citizen"),
    "desk.resident_id": ("或：照证件输入身份证号", "Or: ID card number from the card"),
    "desk.issue": ("发放", "Issue"),
    "desk.issued": ("已发放", "Issued"),
    "desk.hand_over": ("请将券当面交给居民。", "Hand the voucher over in person."),
    "desk.print": ("打印（{minutes} 分钟内）", "Print (within {minutes} minutes)"),
    "desk.voucher_id": ("券编号", "Voucher id"),
    "desk.reason": ("原因", "Reason"),
    "desk.reason_lost": ("遗失", "Lost"),
    "desk.reason_damaged": ("损坏", "Damaged"),
    "desk.reason_printer_fault": ("打印故障", "Printer fault"),
    "desk.reprint": ("补打", "Reprint"),
    "done.presence_sent": (
        "验证码已发送到居民手机。",
        "A code has been sent to the citizen's phone.",
    ),
    # Staff accounts (admins)
    "staff.title": ("人员账号", "Staff accounts"),
    "staff.intro": (
        "停用账号或注销其会话后，该账号已登录的所有设备立即失效；重新启用后须重新登录。",
        "Disabling an account or ending its sessions signs it out everywhere at once; "
        "an enabled account signs in anew.",
    ),
    "staff.username": ("用户名", "Username"),
    "staff.name": ("姓名", "Name"),
    "staff.role": ("角色", "Role"),
    "staff.status": ("状态", "Status"),
    "staff.active": ("正常", "Active"),
    "staff.disabled": ("已停用", "Disabled"),
    "staff.disable": ("停用", "Disable"),
    "staff.enable": ("启用", "Enable"),
    "staff.revoke": ("注销会话", "End sessions"),
    "staff.confirm_disable": (
        "确定停用 {username}？其所有会话将立即失效。",
        "Disable {username}? Every session ends at once.",
    ),
    "staff.confirm_enable": ("确定重新启用 {username}？", "Enable {username} again?"),
    "staff.confirm_revoke": (
        "确定注销 {username} 的所有会话？",
        "End every session of {username}?",
    ),
    "role.admin": ("管理员", "Admin"),
    "role.operator": ("操作员", "Operator"),
    "role.auditor": ("审计员", "Auditor"),
    "role.agent": ("协办员", "Agent"),
    "done.staff_disable": (
        "账号已停用，其会话已全部失效。",
        "The account is disabled; its sessions have ended.",
    ),
    "done.staff_enable": ("账号已启用。", "The account is enabled."),
    "done.staff_revoke": ("该账号的会话已全部注销。", "Every session of the account has ended."),
    "prefs.large_type": ("大字模式", "Large type"),
    "prefs.standard_type": ("标准字号", "Standard type"),
    "error.title": ("无法完成", "Could not be done"),
    "error.home": ("返回首页", "Back to the front page"),
    "form.errors": ("请修改以下内容：", "Please correct the following:"),
    "form.yuan_hint": ("（元，最多两位小数）", "(yuan, at most two decimals)"),
    # Front page
    "home.intro": (
        "服务消费券平台：出资、公平发放、核销结算，每一分钱都可追溯。",
        "A platform for service consumption voucher programs: funding, fair issuance, "
        "redemption and settlement, with every fen traceable.",
    ),
    "home.citizen": ("居民", "Residents"),
    "home.citizen_text": (
        "用手机号和短信验证码登录，领取消费券，到店出示二维码使用。",
        "Sign in with your phone and an SMS code, claim vouchers, show the QR code in the shop.",
    ),
    "home.citizen_go": ("打开我的券包", "Open my wallet"),
    "home.cashier": ("商户收银", "Merchant cashiers"),
    "home.cashier_text": (
        "收银终端扫码或输入券码，输入消费金额，即时看到优惠和顾客实付。",
        "Scan or type the voucher code, enter the amount, and see the discount and what the "
        "customer pays.",
    ),
    "home.cashier_go": ("进入收银台", "Open the cashier screen"),
    "home.staff": ("工作人员", "Staff"),
    "home.staff_text": (
        "运营人员管理项目、预算、批次和商户审核；审计人员核验公开日志。",
        "Operators run programs, budgets, batches and merchant review; auditors verify the "
        "public log.",
    ),
    "home.staff_go": ("工作人员登录", "Staff sign-in"),
    "home.public": ("信息公示", "Public disclosure"),
    "home.public_text": (
        "任何人都可以查看每个项目的资金去向和规则变更，并核验其签名日志。",
        "Anyone can see where each program's money is and how its rules changed, and verify "
        "the signed log.",
    ),
    "home.api_docs": ("接口文档（可交互）", "Interactive API documentation"),
    "home.health": ("服务状态", "Service health"),
    # Staff sign-in
    "signin.title": ("工作人员登录", "Staff sign-in"),
    "signin.username": ("用户名", "Username"),
    "signin.password": ("密码", "Password"),
    "signin.submit": ("登录", "Sign in"),
    "signin.hint": (
        "账号由平台管理员创建（quan users create）。",
        "Accounts are created by the platform administrator (quan users create).",
    ),
    # Programs
    "programs.title": ("项目", "Programs"),
    "programs.none": ("暂无项目。", "No programs yet."),
    "programs.more": ("仅显示前 200 条。", "Only the first 200 are shown."),
    "programs.name": ("名称", "Name"),
    "programs.status": ("状态", "Status"),
    "programs.window": ("项目期", "Runs"),
    "program.status.draft": ("草稿", "Draft"),
    "program.status.active": ("进行中", "Active"),
    "program.status.paused": ("已暂停", "Paused"),
    "program.status.closed": ("已结束", "Closed"),
    "program.action.activate": ("启动项目", "Activate"),
    "program.action.pause": ("暂停项目", "Pause"),
    "program.action.close": ("结束项目", "Close"),
    "done.program_activate": ("项目已启动。", "The program is active."),
    "done.program_pause": ("项目已暂停。", "The program is paused."),
    "done.program_close": ("项目已结束。", "The program is closed."),
    "done.type_created": ("券种已创建。", "The voucher type was created."),
    "done.batch_created": (
        "批次已创建（草稿）。开放后才会占用预算。",
        "The batch was created as a draft. It takes budget only when opened.",
    ),
    "done.batch_opened": (
        "批次已开放：预算已预留，券已生成，居民可以领取。",
        "The batch is open: its budget is reserved, its vouchers generated, and residents "
        "can claim.",
    ),
    "done.batch_closed": ("批次已停止领取。", "The batch no longer takes claims."),
    # Budget
    "budget.title": ("预算与账本", "Budget and ledger"),
    "budget.where": ("资金分布", "Where the money is"),
    "budget.funded": ("到账资金", "Funded"),
    "budget.available": ("可用预算", "Available"),
    "budget.reserved": ("已预留（批次）", "Reserved (batches)"),
    "budget.payable": ("待结算", "Payable to merchants"),
    "budget.paid": ("已结算", "Paid to merchants"),
    "budget.returned": ("已退回出资方", "Returned to funders"),
    "budget.identity": (
        "到账 = 可用 + 预留 + 待结算 + 已结算 + 已退回",
        "funded = available + reserved + payable + paid + returned",
    ),
    "budget.identity_ok": ("账本恒等式成立", "Ledger identity holds"),
    "budget.identity_broken": ("账本恒等式不成立！", "Ledger identity BROKEN!"),
    "budget.pending": ("待复核的出资：{amount}", "Contributions awaiting approval: {amount}"),
    # Voucher types
    "types.title": ("券种", "Voucher types"),
    "types.new": ("新建券种", "New voucher type"),
    "types.none": (
        "还没有券种。先新建一个券种，再创建批次。",
        "No voucher types yet. Define one, then a batch.",
    ),
    "types.name": ("名称", "Name"),
    "types.discount": ("优惠", "Discount"),
    "types.categories": ("适用类别", "Categories"),
    "types.validity": ("有效期", "Validity"),
    "types.unit": ("每张最多", "At most per voucher"),
    "types.kind": ("优惠方式", "Kind of discount"),
    "types.kind.fixed": ("满减", "Amount off (满减)"),
    "types.kind.percent": ("折扣（有上限）", "Percent off, capped"),
    "types.face_value": ("减免金额（满减）", "Amount off (fixed)"),
    "types.min_spend": ("最低消费", "Minimum spend"),
    "types.percent_off": ("折扣比例（折扣）", "Percent off (percent)"),
    "types.percent_hint": ("（1–100）", "(1–100)"),
    "types.cap": ("最多减免（折扣）", "At most off (percent)"),
    "types.scenes": ("受理场景", "Scenes"),
    "types.validity_preset": ("有效期（领取后）", "Validity (from the claim)"),
    "types.valid_days": ("或自定义天数", "Or a number of days"),
    "types.valid_days_hint": ("（填写后替代上面的选项）", "(replaces the choice above)"),
    "types.max_per_order": ("每单最多用券张数", "Vouchers per order, at most"),
    "types.create": ("创建券种", "Create the voucher type"),
    "preset.short": ("短期（90 天）", "Short (90 days)"),
    "preset.medium": ("中期（180 天）", "Medium (180 days)"),
    "preset.long": ("长期（365 天）", "Long (365 days)"),
    "scene.offline": ("线下门店", "In the shop"),
    "scene.online": ("线上", "Online"),
    # Batches
    "batches.title": ("发放批次", "Batches"),
    "batches.new": ("新建批次", "New batch"),
    "batches.new_hint": (
        "批次创建后为草稿；开放时按“数量 × 每张最多”从可用预算中预留。",
        "A batch starts as a draft; opening it reserves quantity × the most one voucher can "
        "cost from the available budget.",
    ),
    "batches.none": ("还没有批次。", "No batches yet."),
    "batches.name": ("批次名称", "Batch name"),
    "batches.status": ("状态", "Status"),
    "batches.allocation": ("发放方式", "Allocation"),
    "batches.quantity": ("数量", "Quantity"),
    "batches.remaining": ("剩余", "Left"),
    "batches.reserve": ("预留金额", "Reserve"),
    "batches.window": ("领取时间", "Claim window"),
    "batches.eligibility": ("领取条件", "Eligibility"),
    "batches.eligibility_hint": ("（都不填：所有登记居民）", "(none: every registered resident)"),
    "batches.voucher_type": ("券种", "Voucher type"),
    "batches.opens_at": ("开始领取", "Claims open"),
    "batches.closes_at": ("结束领取", "Claims close"),
    "batches.per_citizen_limit": ("每人限领", "Per resident, at most"),
    "batches.regions": ("居住地区代码", "Region codes"),
    "batches.regions_hint": (
        "（行政区划代码，空格或逗号分隔，如 330100）",
        "(division codes, separated by spaces or commas, e.g. 330100)",
    ),
    "batches.min_age": ("最小年龄", "Minimum age"),
    "batches.max_age": ("最大年龄", "Maximum age"),
    "batches.reserved": ("优先群体预留名额", "Reserved for priority groups"),
    "batches.reserved_hint": (
        "（不填：不预留；到释放时间后余量向所有人开放；摇号券可给更多中签机会）",
        "(blank: none; what is left opens to everyone at the release time; "
        "lotteries may give the group more tickets)",
    ),
    "batches.reserve_quantity": ("名额", "places"),
    "batches.reserve_release": ("释放时间", "released at"),
    "batches.reserve_tickets": ("摇号机会（1–10）", "lottery tickets (1–10)"),
    "batches.income_groups": ("收入类别（可多选）", "Income groups (any of)"),
    "batches.create": ("创建批次", "Create the batch"),
    "batches.open": ("开放批次", "Open the batch"),
    "batches.close": ("停止领取", "Stop claims"),
    "batch.status.draft": ("草稿", "Draft"),
    "batch.status.open": ("领取中", "Open"),
    "batch.status.closed": ("已停止", "Closed"),
    "batch.status.recycled": ("已回收", "Recycled"),
    "allocation.fcfs": ("先到先得", "First come, first served"),
    "allocation.lottery": ("摇号", "Lottery"),
    "allocation.grant": ("定向发放", "Grant"),
    "income.normal": ("一般", "Normal"),
    "income.low_income": ("低收入", "Low income"),
    "income.subsistence": ("低保", "Subsistence (dibao)"),
    # Dashboard
    "dash.title": ("数据看板", "Dashboard"),
    "dash.issued": ("已发行（券）", "Issued (vouchers)"),
    "dash.claimed": ("已领取", "Claimed"),
    "dash.redeemed": ("已核销", "Redeemed"),
    "dash.claims": ("领取", "Claims"),
    "dash.claims_per_day": ("每日领取量", "Claims per day"),
    "dash.redeemed_per_day": ("每日核销量", "Redemptions per day"),
    "dash.burn": ("预算使用（累计）", "Budget use (cumulative)"),
    "dash.funded": ("到账资金", "Funded"),
    "dash.committed": ("已用于券（预留+待结算+已结算）", "Committed to vouchers"),
    "dash.claims_by_region": ("领取量（按居民地区）", "Claims by residents' region"),
    "dash.claims_by_type": ("领取量（按券种）", "Claims by voucher type"),
    "dash.no_claims": ("暂无领取。", "No claims yet."),
    "dash.spend": ("消费金额（按类别、地区）", "Spend by category and region"),
    "dash.no_redemptions": ("暂无核销。", "No redemptions yet."),
    "dash.spend_by_category": ("券抵扣金额（按消费类别）", "Voucher money spent, by category"),
    "dash.spend_by_region": ("券抵扣金额（按商户地区）", "Voucher money spent, by merchant region"),
    "dash.redemptions": ("核销笔数", "Redemptions"),
    "dash.discount": ("券抵扣", "Vouchers took off"),
    "dash.orders": ("订单金额", "Orders"),
    "dash.by_day": ("逐日数据", "Day by day"),
    "dash.day": ("日期", "Day"),
    **OPERATIONS,
    **PUBLIC,
    **DASH,
    **SELFREG,
    **AUDIT,
    **REMINDERS,
    **SUPPLYUI,
    **FEEDBACK,
    **OFFICE,
    **ABUSE,
    **NOTIFY,
    **PORTAL,
    **REVEALS,
    **ALERTS,
    **PROG15,
    **WALLET,
    **COUNTER,
    **DISCLOSE,
}
