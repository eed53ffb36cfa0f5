"""The program office's messages: programs (create, edit, lifecycle), money (funders,
contributions, returns, the approval queue, the ledger's history) and staff accounts.

``key: (zh, en)`` as in :mod:`quan.web.messages`, which merges this catalogue.
"""

from __future__ import annotations

from typing import Final

OFFICE: Final[dict[str, tuple[str, str]]] = {
    "nav.funders": ("出资方", "Funders"),
    "nav.approvals": ("待复核", "Approvals"),
    # Shared words
    "office.issuer": ("发放单位", "Issuer"),
    "office.choose": ("请选择", "Choose"),
    "office.cancel": ("取消", "Cancel"),
    "office.reason": ("理由", "Reason"),
    "office.reason_hint": ("（必填，将记录在案）", "(required; it is kept on record)"),
    "office.created_at": ("创建时间", "Created"),
    "office.asked_by": ("发起人", "Asked by"),
    "office.decided_by": ("复核人", "Decided by"),
    "office.local_hint": ("（项目所在时区的当地时间）", "(local time of the program's zone)"),
    "office.lifecycle": ("项目状态操作", "Program status"),
    "office.irreversible": ("不可撤销的操作", "Cannot be undone"),
    "office.irreversible_hint": (
        "将先显示对资金的影响，并要求确认和填写理由。",
        "You will see what it does to the money, then confirm and give a reason.",
    ),
    # Programs
    "office.program.new": ("新建项目", "New program"),
    "office.program.new_intro": (
        "新项目为草稿：启动前可以修改，启动后居民才能领券。",
        "A new program is a draft: it can be edited until it is activated, and residents "
        "claim only once it is active.",
    ),
    "office.program.edit": ("修改项目", "Edit program"),
    "office.program.edit_intro": (
        "只有草稿状态的项目可以修改。",
        "Only a program in draft can be edited.",
    ),
    "office.program.description": ("说明", "Description"),
    "office.program.timezone": ("时区", "Time zone"),
    "office.program.timezone_hint": ("（如 Asia/Shanghai）", "(e.g. Asia/Shanghai)"),
    "office.program.starts_at": ("开始时间", "Starts"),
    "office.program.ends_at": ("结束时间", "Ends"),
    "office.program.create": ("创建项目", "Create program"),
    "office.program.save": ("保存修改", "Save changes"),
    "done.program_created": ("项目已创建（草稿）。", "The program is created (draft)."),
    "done.program_updated": ("项目已修改。", "The program is updated."),
    # Lifecycle confirmation
    "office.confirm.money": ("对资金的影响", "What happens to the money"),
    "office.confirm.activate.title": ("启动项目", "Activate the program"),
    "office.confirm.activate.what": (
        "启动后项目不能再回到草稿，也不能再修改名称、时区和活动期；之后可以暂停或结束。",
        "Once active, the program can never be a draft again nor have its name, time zone or "
        "window edited; it can then be paused or closed.",
    ),
    "office.confirm.activate.available": (
        "可用预算 {amount} 可用于开放批次，居民可以按批次规则领券。",
        "The available budget of {amount} can fund batches; residents can claim by each "
        "batch's rules.",
    ),
    "office.confirm.activate.pending": (
        "待复核的出资 {amount} 仍需第二人批准后才计入预算。",
        "Contributions of {amount} waiting for a second person count only once approved.",
    ),
    "office.confirm.activate.box": (
        "我已核对项目信息，确认启动",
        "I have checked the program and activate it",
    ),
    "office.confirm.activate.button": ("确认启动", "Activate"),
    "office.confirm.close.title": ("结束项目", "Close the program"),
    "office.confirm.close.what": (
        "结束后不能重新启动：居民不能再领券或用券，不能再追加出资。",
        "A closed program never runs again: residents can no longer claim or use vouchers "
        "and no money can be contributed.",
    ),
    "office.confirm.close.available": (
        "可用预算 {amount} 留在项目中，可以退回给出资方。",
        "The available budget of {amount} stays in the program; it can be returned to funders.",
    ),
    "office.confirm.close.pending": (
        "待复核的出资 {amount} 不能再被批准，只能驳回。",
        "Contributions of {amount} waiting for a second person can no longer be approved, "
        "only rejected.",
    ),
    "office.confirm.close.reserved": (
        "已为批次预留的 {amount} 在领取期结束、券过期后回到可用预算。",
        "The {amount} reserved for batches returns to the available budget as claim windows "
        "close and vouchers expire.",
    ),
    "office.confirm.close.payable": (
        "应付商户的 {amount} 照常结算和支付。",
        "The {amount} owed to merchants is still settled and paid.",
    ),
    "office.confirm.close.box": (
        "我明白结束项目不可撤销",
        "I understand that closing cannot be undone",
    ),
    "office.confirm.close.button": ("确认结束项目", "Close the program"),
    "office.err.reason": ("请填写理由。", "Give a reason."),
    "office.err.confirm": ("请勾选确认框。", "Tick the box to confirm."),
    # Funders
    "office.funders.title": ("出资方", "Funders"),
    "office.funders.intro": (
        "为项目出资的部门、地区、银行、企业或债券。出资和退回在项目的“资金”页办理。",
        "The departments, regions, banks, sponsors or bonds that fund programs. Contributions "
        "and returns are made on a program's Money page.",
    ),
    "office.funders.new": ("新增出资方", "New funder"),
    "office.funders.name": ("名称", "Name"),
    "office.funders.kind": ("类型", "Kind"),
    "office.funders.create": ("新增出资方", "Add funder"),
    "office.funders.none": ("还没有出资方。", "No funders yet."),
    "office.funder_kind.department": ("政府部门", "Government department"),
    "office.funder_kind.region": ("地区转移", "Another region"),
    "office.funder_kind.bank": ("银行", "Bank"),
    "office.funder_kind.sponsor": ("赞助企业", "Sponsor"),
    "office.funder_kind.bond": ("债券资金", "Bond proceeds"),
    "done.funder_created": ("出资方已新增。", "The funder is added."),
    # Money
    "office.money.title": ("资金", "Money"),
    "office.money.identity": ("预算恒等式", "The budget identity"),
    "office.money.identity_sum": (
        "已出资 {funded} = 可用 {available} + 已预留 {reserved} + 应付 {payable} + "
        "已支付 {paid} + 已退回 {returned}",
        "Funded {funded} = available {available} + reserved {reserved} + payable {payable} "
        "+ paid {paid} + returned {returned}",
    ),
    "office.money.contribute": ("出资", "Contribute"),
    "office.money.threshold": (
        "同一人或同一出资方当天累计超过 {amount} 的出资须由第二人复核后才计入预算。",
        "Above {amount} a day in total, per person or per funder, a contribution counts only "
        "once a second person approves it.",
    ),
    "office.money.no_funders": ("请先新增出资方。", "Add a funder first."),
    "office.money.funder": ("出资方", "Funder"),
    "office.money.amount": ("金额", "Amount"),
    "office.money.amount_col": ("金额", "Amount"),
    "office.money.note": ("备注", "Note"),
    "office.money.contribute_button": ("提交出资", "Contribute"),
    "office.money.return": ("退回出资方", "Return to a funder"),
    "office.money.return_intro": (
        "只能从可用预算（现为 {amount}）中退回，且不超过该出资方的净出资；退回不可撤销。",
        "Only from the available budget (now {amount}) and at most what the funder has put "
        "in; a return cannot be undone.",
    ),
    "office.money.return_box": (
        "我已核对金额和出资方，确认退回",
        "I have checked the amount and the funder",
    ),
    "office.money.return_button": ("退回", "Return the money"),
    "office.money.movements": ("出资与退回", "Contributions and returns"),
    "office.money.no_movements": ("还没有出资或退回。", "No contributions or returns yet."),
    "office.money.when": ("时间", "When"),
    "office.money.direction": ("类别", "Kind"),
    "office.money.status": ("状态", "Status"),
    "office.money.history": ("账本记录", "Ledger history"),
    "office.money.history_intro": (
        "最新的 100 笔记账，时间为 {zone} 当地时间；每行给出该笔之后的预算。",
        "The newest 100 journal entries, in {zone} local time; each row gives the budget after it.",
    ),
    "office.money.no_history": ("账本中还没有记录。", "The ledger has no entries yet."),
    "office.money.entry": ("记账", "Entry"),
    "office.money.change": ("变动", "Change"),
    "office.money.by": ("操作人", "By"),
    "office.direction.contribution": ("出资", "Contribution"),
    "office.direction.return": ("退回", "Return"),
    "office.movement.pending_approval": ("等待第二人复核", "Waiting for a second person"),
    "office.movement.approved": ("已计入", "Approved"),
    "office.movement.rejected": ("已驳回", "Rejected"),
    "office.movement.no_second": ("未超过限额，无需复核", "Within the limit; no second person"),
    "office.entry.contribution": ("出资", "Contribution"),
    "office.entry.return": ("退回出资方", "Return to a funder"),
    "office.entry.reserve": ("批次预留", "Batch reserve"),
    "office.entry.recycle": ("未领取回收", "Unclaimed, released"),
    "office.entry.expiry": ("过期回收", "Expired, released"),
    "office.entry.redemption": ("核销", "Redemption"),
    "office.entry.reversal": ("冲正", "Reversal"),
    "office.entry.reversal_expiry": ("冲正（券已过期）", "Reversal (voucher expired)"),
    "office.entry.redemption_remainder": ("结算余额回收", "Settlement remainder"),
    "office.entry.payout": ("支付商户", "Payout"),
    "done.contribution_requested": (
        "出资已提交：未超过限额的已计入预算，超过的在“待复核”中等待第二人。",
        "The contribution is recorded: within the limit it counts now; above it, it waits in "
        "Approvals for a second person.",
    ),
    "done.return_requested": (
        "退回已提交：未超过限额的已完成，超过的在“待复核”中等待第二人。",
        "The return is recorded: within the limit it is done; above it, it waits in "
        "Approvals for a second person.",
    ),
    # Approval queue
    "office.approvals.title": ("待复核", "Approvals"),
    "office.approvals.intro": (
        "超过限额的出资和退回须由发起人以外的另一人批准或驳回。批准后资金立即计入。",
        "Contributions and returns above the limit are approved or rejected by someone other "
        "than the person who asked. Approved money counts at once.",
    ),
    "office.approvals.none": ("没有等待复核的资金变动。", "Nothing is waiting for approval."),
    "office.approvals.program": ("项目", "Program"),
    "office.approvals.asked_at": ("发起时间", "Asked at"),
    "office.approvals.yours": (
        "这是您发起的，等待第二人复核。",
        "You asked for this; it is waiting for a second person.",
    ),
    "office.approvals.box": ("我已核对，批准 {amount}", "I have checked it: approve {amount}"),
    "office.approvals.approve": ("批准", "Approve"),
    "office.approvals.reject_reason": ("驳回理由", "Reason to reject"),
    "office.approvals.reject": ("驳回", "Reject"),
    "done.movement_approve": ("已批准，资金已计入。", "Approved; the money now counts."),
    "done.movement_reject": ("已驳回，资金未变动。", "Rejected; no money moved."),
    # Staff accounts
    "office.staff.new": ("新建人员账号", "New staff account"),
    "office.staff.create": ("创建账号", "Create account"),
    "office.staff.username_hint": (
        "（3–64 位小写字母、数字、点、下划线或连字符）",
        "(3–64 lower-case letters, digits, dots, underscores or hyphens)",
    ),
    "office.staff.password": ("初始密码", "Initial password"),
    "office.staff.password_hint": ("（至少 12 个字符）", "(at least 12 characters)"),
    "office.staff.no_issuer": ("不属于任何发放单位", "No issuer"),
    "office.staff.reset": ("重设密码", "Reset password"),
    "office.staff.reset_what": (
        "旧密码立即失效，该账号所有已登录的会话立即结束，只能用新密码登录。",
        "The old password stops working and every session of the account ends at once; only "
        "the new password signs in.",
    ),
    "office.staff.new_password": ("新密码", "New password"),
    "office.staff.reset_button": ("重设密码", "Reset the password"),
    "done.staff_created": ("账号已创建。", "The account is created."),
    "done.staff_password": (
        "密码已重设，该账号的会话已全部结束。",
        "The password is reset; every session of the account has ended.",
    ),
    # A name refused by the service (its own message names the model's field)
    "office.invalid.name": (
        "请填写名称：1–200 个字符，不含换行等控制字符。",
        "Give a name: 1–200 characters, without line breaks or other control characters.",
    ),
}
