"""Messages of the merchant portal (``/merchant``) and of a device pairing (``/cashier/pair``)."""

from __future__ import annotations

from typing import Final

PORTAL: Final[dict[str, tuple[str, str]]] = {
    "nav.portal": ("商户后台", "Merchant portal"),
    "portal.sections": ("商户后台栏目", "Merchant portal sections"),
    "portal.home": ("审核与资料", "Review and record"),
    "portal.terminals": ("收银台", "Terminals"),
    "portal.redemptions": ("核销记录", "Redemptions"),
    "portal.statements": ("结算单与打款", "Statements and payouts"),
    "portal.signin": ("商户登录", "Merchant sign-in"),
    "portal.phone": ("联系手机号", "Contact mobile number"),
    "portal.phone_hint": ("（申请入驻时填写的号码）", "(the one given in the application)"),
    "portal.code_sent": (
        "如果这是某个商户的联系手机号，验证码已发送，5 分钟内有效。",
        "If this is a merchant's contact number, a code is on its way; it is good for 5 minutes.",
    ),
    "portal.choose": (
        "这个手机号是多个商户的联系电话，请选择要登录的商户：",
        "This number is the contact of several merchants; choose the one to sign in as:",
    ),
    "portal.choose_this": ("登录这个商户", "Sign in as this merchant"),
    "portal.apply_cta": ("还没有入驻？在线申请", "Not a member yet? Apply online"),
    "portal.have_applied": ("已经申请过？用手机号登录", "Applied already? Sign in with your phone"),
    "portal.apply": ("商户入驻申请", "Apply to accept vouchers"),
    "portal.apply_intro": (
        "填写营业执照上的信息。提交后即可在本页跟进审核；审核结果也会以短信告知联系手机。",
        "Fill in your business licence's details. You can follow the review here once you "
        "have applied; the decision is also sent by SMS to the contact number.",
    ),
    "portal.issuer": ("加入哪个发放单位的消费券活动", "Whose voucher scheme to join"),
    "portal.name": ("商户名称", "Business name"),
    "portal.name_hint": ("（与营业执照一致）", "(as on the business licence)"),
    "portal.uscc_hint": ("（18 位，含校验位）", "(18 characters, with its check character)"),
    "portal.region": ("经营地址所在区县代码", "District code of the premises"),
    "portal.region_hint": (
        "（6 位行政区划代码，例如西湖区 330106）",
        "(6-digit GB/T 2260 code, e.g. 330106 for Xihu)",
    ),
    "portal.bank_name": ("开户银行", "Bank and branch"),
    "portal.account_number": ("结算账号", "Account number"),
    "portal.account_hint": (
        "（8–32 位数字；保存时加密，页面只显示末四位）",
        "(8–32 digits; stored encrypted, shown as its last four)",
    ),
    "portal.contact_hint": (
        "（用于接收审核结果和登录验证码）",
        "(receives the decision and your sign-in codes)",
    ),
    "portal.apply_submit": ("提交申请", "Submit the application"),
    "portal.review": ("审核结果", "Review outcome"),
    "portal.status_says.submitted": (
        "申请已提交，正在等待发放单位审核。",
        "Your application is waiting for the issuer's review.",
    ),
    "portal.status_says.approved": (
        "审核已通过：可以添加收银台并开始受理消费券。",
        "Approved: add terminals and start accepting vouchers.",
    ),
    "portal.status_says.rejected": (
        "申请未通过审核。可以按下面的理由补正后提出申诉，或重新申请。",
        "Your application was not approved. You may appeal with the reasons below in mind, "
        "or apply again.",
    ),
    "portal.status_says.suspended": (
        "已暂停受理消费券，原因见下。",
        "Accepting vouchers is suspended, for the reason below.",
    ),
    "portal.go_terminals": ("管理收银台", "Manage terminals"),
    "portal.appeal": ("申诉", "Appeal"),
    "portal.appeal_intro": (
        "如果您认为驳回有误，写明理由（例如已补正的材料），申请将重新进入审核。每次驳回可申诉一次。",
        "If you think the rejection is wrong, say why (for example, what you have corrected); "
        "the application goes back to review. One appeal per rejection.",
    ),
    "portal.appeal_grounds": ("申诉理由", "Grounds of the appeal"),
    "portal.appeal_submit": ("提交申诉", "Submit the appeal"),
    "portal.appealed": ("提出申诉", "Appealed"),
    "portal.done.applied": (
        "申请已提交。审核结果会显示在这里，并以短信通知联系手机。",
        "Application submitted. The decision will appear here and be sent by SMS.",
    ),
    "portal.done.appealed": (
        "申诉已提交，申请重新进入审核。",
        "Appeal filed: the application is back in review.",
    ),
    "portal.done.terminal_created": (
        "收银台已添加。点“扫码配对设备”，用收银设备扫描二维码即可登录。",
        "Terminal added. Choose “Pair a device by QR code” and scan it with the counter device.",
    ),
    "portal.done.terminal_renamed": ("收银台已改名。", "Terminal renamed."),
    "portal.done.terminal_revoked": (
        "收银台已停用，它的设备已退出。",
        "Terminal revoked; its device is signed out.",
    ),
    "portal.terminals_intro": (
        "每台收银设备（手机或平板）对应一个收银台。设备扫码配对后即可核销，不需要输入任何密钥。",
        "Each counter device (a phone or a tablet) is a terminal. A device pairs by scanning a "
        "QR code; no one types a key.",
    ),
    "portal.terminals_need_approval": (
        "审核通过后才能添加收银台。",
        "Terminals can be added once the merchant is approved.",
    ),
    "portal.terminal_label": ("收银台名称", "Terminal name"),
    "portal.terminal_label_hint": ("（例如：前台 1 号）", "(e.g. Front desk 1)"),
    "portal.add_terminal": ("添加收银台", "Add a terminal"),
    "portal.no_terminals": ("还没有收银台。", "No terminals yet."),
    "portal.added": ("添加于", "added"),
    "portal.revoked": ("已停用", "Revoked"),
    "portal.pair": ("扫码配对设备", "Pair a device by QR code"),
    "portal.new_label": ("新名称", "New name"),
    "portal.rename": ("改名", "Rename"),
    "portal.revoke_confirm": (
        "我确认停用：此操作不可撤销，设备将立即退出，之后不能再用它核销",
        "I confirm: this cannot be undone; the device is signed out at once and can no "
        "longer redeem",
    ),
    "portal.revoke": ("停用收银台", "Revoke the terminal"),
    "portal.pair_title": ("扫码配对收银设备", "Pair a counter device"),
    "portal.pair_intro": (
        "用要作为“{label}”使用的设备扫描下面的二维码，然后在设备上点“确认配对”。"
        "二维码 {minutes} 分钟内有效，只能用一次；配对后，此收银台之前配对的设备会退出。",
        "Scan the QR code below with the device that will be “{label}”, then confirm on the "
        "device. The code is good for {minutes} minutes and one device; pairing signs out the "
        "device this terminal had before.",
    ),
    "portal.pair_expires": ("有效至", "Good until"),
    "portal.pair_no_camera": ("设备无法扫码？显示链接", "The device cannot scan? Show the link"),
    "portal.device_pair": ("配对收银设备", "Pair this device"),
    "portal.device_pair_intro": (
        "将本设备配对为“{merchant}”的收银台“{label}”。",
        "Pair this device as terminal “{label}” of {merchant}.",
    ),
    "portal.device_pair_confirm": ("确认配对", "Confirm pairing"),
    "portal.redemptions_intro": (
        "最近 {shown} 笔，最新的在前。",
        "The latest {shown}, newest first.",
    ),
    "portal.terminal": ("收银台", "Terminal"),
    "portal.redeemed": ("已核销", "Redeemed"),
    "portal.paid_on": ("打款日期", "Paid on"),
    "portal.payment_ref": ("银行流水号", "Bank reference"),
    "portal.ops_appeals": ("商户申诉", "Appeals"),
    "portal.cashier_pair_hint": (
        "最简单的方式：请店主在商户后台（/merchant）的“收银台”页生成配对二维码，用本设备扫码即可登录。",
        "The easy way: ask the owner to show a pairing QR code (merchant portal, /merchant, "
        "Terminals) and scan it with this device.",
    ),
    "home.merchant_go": ("商户入驻与管理", "Merchants: apply or sign in"),
}
