"""Console texts in zh-CN and en: public disclosure, the citizen's wallet and the cashier
(see :mod:`quan.web.messages`)."""

from __future__ import annotations

from typing import Final

PUBLIC: Final[dict[str, tuple[str, str]]] = {
    # Public disclosure
    "public.title": ("信息公示", "Public disclosure"),
    "public.intro": (
        "各项目的资金、批次和规则变更，数据来自复式账本，并对应签名日志中的检查点。",
        "Each program's money, batches and rule changes, from the double-entry ledger and tied "
        "to a checkpoint of the signed log.",
    ),
    "public.none": ("暂无公示的项目。", "No programs to show yet."),
    "public.money": ("资金", "Money"),
    "public.batches": ("发放批次", "Batches"),
    "public.no_batches": ("尚未开放批次。", "No batch has opened yet."),
    "public.quantity": (
        "共 {quantity} 张，剩余 {remaining} 张",
        "{quantity} vouchers, {remaining} left",
    ),
    "public.log": ("日志检查点", "Log checkpoint"),
    "public.log_text": (
        "以上数字读取时，签名日志共 {size} 条。",
        "When these figures were read, the signed log held {size} entries.",
    ),
    "public.unsequenced": ("另有 {count} 个事件待入日志", "{count} events not yet in the log"),
    "public.all_sequenced": ("相关事件均已入日志", "Every event behind the figures is in the log"),
    "public.rule_changes": ("规则变更", "Rule changes"),
    "public.log_index": ("日志序号", "Log index"),
    "public.json": ("机器可读数据（JSON）", "Machine-readable data (JSON)"),
    # Wallet
    "wallet.signin": ("居民登录", "Resident sign-in"),
    "wallet.phone": ("手机号", "Mobile phone number"),
    "wallet.send_code": ("获取验证码", "Send me a code"),
    "wallet.not_registered": (
        "还没有登记？可以用下面的链接自助注册，也可以到社区服务中心办理。",
        "Not registered yet? Register yourself with the link below, or at a community service "
        "centre.",
    ),
    "wallet.code_sent": (
        "如果该号码已登记，验证码短信已发出，5 分钟内有效。",
        "If this number is registered, a code is on its way by SMS; it is valid for five minutes.",
    ),
    "wallet.code": ("短信验证码（6 位数字）", "The 6-digit code from the SMS"),
    "wallet.sign_in": ("登录", "Sign in"),
    "wallet.resend": ("重新获取验证码", "Send a new code"),
    "wallet.title": ("我的券包", "My wallet"),
    "wallet.my_vouchers": ("我的消费券", "My vouchers"),
    "wallet.no_vouchers": (
        "还没有消费券。可以在下面领取。",
        "No vouchers yet. You can claim below.",
    ),
    "wallet.open_batches": ("正在发放", "Being handed out now"),
    "wallet.no_batches": ("目前没有正在发放的批次。", "No batch is being handed out right now."),
    "wallet.remaining": ("剩余 {remaining} / {quantity} 张", "{remaining} of {quantity} left"),
    "wallet.window": ("领取截止：{end}", "Claim by {end}"),
    "wallet.eligible": ("您符合领取条件", "You are eligible"),
    "wallet.not_eligible": ("不符合领取条件：", "Not eligible:"),
    "wallet.claim": ("立即领取", "Claim now"),
    "wallet.claimed": (
        "领取成功！到店消费时出示下面的二维码。",
        "Claimed! Show this QR code when you pay.",
    ),
    "wallet.valid": ("有效期 {start} 至 {end}", "Valid {start} to {end}"),
    "wallet.show_qr": ("出示二维码", "Show the QR code"),
    "wallet.present": (
        "请向收银员出示二维码，或报出下方券码。",
        "Show this QR code to the cashier, or read out the code below.",
    ),
    "wallet.use_at": ("适用：", "Use for: "),
    "standing.claimable": ("可领取", "Can be claimed"),
    "standing.not_eligible": ("不符合条件", "Not eligible"),
    "standing.held": ("您已领取", "You have claimed this"),
    "standing.not_yet": ("尚未开始领取", "Claims have not started"),
    "standing.sold_out": ("已领完", "All claimed"),
    "standing.other_allocation": (
        "定向发放，无需领取",
        "Granted directly: nothing to claim here",
    ),
    "standing.lottery": ("摇号发放，可报名", "Lottery: you may enter"),
    "standing.registered": ("您已报名，等待摇号", "You have entered; waiting for the draw"),
    "wallet.enter": ("报名参加摇号", "Enter the lottery"),
    "wallet.lottery_places": (
        "名额 {quantity} 张，报名截止后摇号",
        "Places: {quantity}, drawn after registration closes",
    ),
    "wallet.entered": (
        "报名成功！报名截止后摇号，结果会显示在“我的摇号”。",
        "You are entered! The draw comes after registration closes; the result will show "
        "under My lotteries.",
    ),
    "wallet.lotteries": ("我的摇号", "My lotteries"),
    "wallet.registered_at": ("报名时间：{at}", "Entered: {at}"),
    "wallet.result.waiting": (
        "已报名，{closes} 报名截止后摇号。",
        "Entered. The draw comes after registration closes at {closes}.",
    ),
    "wallet.result.awaiting_draw": (
        "报名已截止，等待摇号。",
        "Registration has closed; waiting for the draw.",
    ),
    "wallet.result.won": ("中签！券已放入您的券包。", "You won! The voucher is in your wallet."),
    "wallet.result.lost": (
        "未中签。这次没有抽中，不会获得这一批的券。",
        "Not drawn. You did not win this time, so you get no voucher from this batch.",
    ),
    "wallet.result_badge.waiting": ("等待摇号", "Waiting for the draw"),
    "wallet.result_badge.awaiting_draw": ("等待摇号", "Waiting for the draw"),
    "wallet.result_badge.won": ("中签", "Won"),
    "wallet.result_badge.lost": ("未中签", "Not won"),
    "wallet.see_voucher": ("查看我的券", "See my voucher"),
    "wallet.my_pseudonym": ("我在公开名单中的化名：", "My pseudonym on the public list: "),
    "wallet.check_draw": ("查看公开摇号记录", "See the public draw record"),
    "standing.blocked": (
        "账户受限，暂不能领取",
        "Your account is restricted; you cannot claim now",
    ),
    "voucher.status.unclaimed": ("未领取", "Unclaimed"),
    "voucher.status.active": ("可使用", "Ready to use"),
    "voucher.status.redeemed": ("已使用", "Used"),
    "voucher.status.expired": ("已过期", "Expired"),
    "voucher.status.recycled": ("已回收", "Recycled"),
    # Cashier
    "cashier.signin": ("收银终端登录", "Cashier terminal sign-in"),
    "cashier.api_key": ("终端密钥", "Terminal key"),
    "cashier.api_key_hint": (
        "（以 qk_key_ 开头，由商户或运营人员添加终端时生成）",
        "(starts with qk_key_; given when the terminal was added)",
    ),
    "cashier.sign_in": ("登录收银台", "Open the cashier screen"),
    "cashier.title": ("收银核销", "Cashier"),
    "cashier.not_approved": (
        "本商户当前不是“已通过”状态，不能核销。",
        "This merchant is not approved at the moment and cannot redeem.",
    ),
    "cashier.redeeming": ("正在核销…", "Redeeming…"),
    "cashier.history": ("最近核销", "Latest redemptions"),
    "cashier.no_history": ("还没有核销记录。", "Nothing redeemed yet."),
    "cashier.reversed": ("已撤销", "Reversed"),
    "cashier.statements": ("结算对账单", "Settlement statements"),
    "cashier.statement": ("对账单", "Statement"),
    "cashier.no_statements": ("还没有结算对账单。", "No statements yet."),
    "cashier.redeemed": ("核销成功", "Redeemed"),
    "cashier.refused": ("不能核销", "Not redeemed"),
    "cashier.order": ("订单金额", "Order"),
    "cashier.discount": ("券抵扣", "Voucher discount"),
    "cashier.customer_pays": ("顾客实付", "Customer pays"),
    "cashier.code": ("券码", "Voucher code"),
    "cashier.code_hint": (
        "（扫描顾客的二维码，或手动输入）",
        "(scan the customer's QR code, or type it)",
    ),
    "cashier.scan": ("用摄像头扫码", "Scan with the camera"),
    "cashier.scan_unsupported": (
        "无法使用摄像头，请手动输入券码。",
        "The camera cannot be used here; please type the code.",
    ),
    "cashier.amount": ("消费金额", "Order amount"),
    "cashier.category": ("消费类别", "Category"),
    "cashier.redeem": ("核销", "Redeem"),
}
