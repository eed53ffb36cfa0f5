"""Messages of refusals in words (:mod:`quan.web.refusals`), drafts, payouts and exports.

``refuse.<kind>`` are the sentences a refused form field gets, by the type of the check that
failed (``{label}`` is the field's label, ``{limit}`` the bound, in yuan for money);
``refuse.<CODE>`` and ``refuse.<CODE>.<reason>`` are the console's wording of a domain refusal
whose API message names fields, reasons or amounts in fen.
"""

from __future__ import annotations

from typing import Final

SUPPLYUI: Final[dict[str, tuple[str, str]]] = {
    # Refusals by the kind of check
    "refuse.this_form": ("本表单", "this form"),
    "refuse.missing": ("请填写“{label}”。", "Please fill in {label}."),
    "refuse.whole_number": ("“{label}”须为整数。", "{label} must be a whole number."),
    "refuse.amount": (
        "“{label}”须为以元为单位的金额，最多两位小数，例如 12.50。",
        "{label} must be an amount in yuan with at most two decimals, such as 12.50.",
    ),
    "refuse.at_least": ("“{label}”不能小于 {limit}。", "{label} must be at least {limit}."),
    "refuse.more_than": ("“{label}”须大于 {limit}。", "{label} must be more than {limit}."),
    "refuse.at_most": ("“{label}”不能大于 {limit}。", "{label} must be at most {limit}."),
    "refuse.less_than": ("“{label}”须小于 {limit}。", "{label} must be less than {limit}."),
    "refuse.too_long": (
        "“{label}”最多 {limit} 个字符。",
        "{label} may have at most {limit} characters.",
    ),
    "refuse.too_many": ("“{label}”最多 {limit} 项。", "{label}: at most {limit} may be chosen."),
    "refuse.choose_one": ("请至少选择一项“{label}”。", "Please choose at least one {label}."),
    "refuse.choose": ("请从所列选项中选择“{label}”。", "Please choose {label} from the list."),
    "refuse.datetime": (
        "“{label}”须为完整的日期和时间。",
        "{label} must be a complete date and time.",
    ),
    "refuse.date": (
        "“{label}”须为日期，例如 2027-01-31。",
        "{label} must be a date, such as 2027-01-31.",
    ),
    "refuse.invalid": ("“{label}”填写有误，请检查。", "{label} is not valid; please check it."),
    "refuse.summary": ("有 {count} 处需要修改：", "{count} things need correcting:"),
    "refuse.see_form": ("请检查填写内容", "please check what was entered"),
    "refuse.back": ("返回上一页", "Back to the previous page"),
    # Domain refusals, in the console's words
    "refuse.INVALID_DISCOUNT.amount_out_of_range": (
        "“{label}”超出允许的金额范围。",
        "{label} is outside the allowed range of amounts.",
    ),
    "refuse.INVALID_DISCOUNT.required": ("请填写“{label}”。", "Please fill in {label}."),
    "refuse.INVALID_DISCOUNT.not_for_fixed": (
        "满减券不设“{label}”，请留空。",
        "A fixed-amount voucher has no {label}; leave it empty.",
    ),
    "refuse.INVALID_DISCOUNT.not_for_percent": (
        "折扣券不设“{label}”，请留空。",
        "A percentage voucher has no {label}; leave it empty.",
    ),
    "refuse.INVALID_DISCOUNT.1_to_100": (
        "“{label}”须在 1 到 100 之间。",
        "{label} must be between 1 and 100.",
    ),
    "refuse.INVALID_DISCOUNT.fixed_or_percent": (
        "请选择满减或折扣。",
        "Please choose fixed amount or percentage.",
    ),
    "refuse.MIN_SPEND_BELOW_FACE_VALUE": (
        "使用门槛 {min_spend_fen} 低于面额 {face_value_fen}；无门槛请填 0。",
        "The minimum spend {min_spend_fen} is below the face value {face_value_fen}; "
        "enter 0 for no minimum.",
    ),
    "refuse.INVALID_VALIDITY.exactly_one_form": (
        "有效期请二选一：选择有效期类型，或填写有效天数。",
        "Choose one kind of validity: a preset, or a number of days.",
    ),
    "refuse.INVALID_VALIDITY.valid_days_range": (
        "有效天数须在 1 到 1095 天之间。",
        "Days of validity must be between 1 and 1,095.",
    ),
    "refuse.INVALID_VALIDITY.preset_disagrees_with_days": (
        "有效期类型与有效天数不一致。",
        "The validity preset and the number of days disagree.",
    ),
    "refuse.INVALID_VALIDITY.unknown_preset": (
        "请从列表中选择有效期类型。",
        "Please choose a validity preset from the list.",
    ),
    "refuse.INVALID_VALIDITY.from_before_until": (
        "有效期开始时间须早于结束时间。",
        "Validity must start before it ends.",
    ),
    "refuse.INVALID_BATCH.range": (
        "“{label}”须在 {lo} 到 {hi} 之间。",
        "{label} must be between {lo} and {hi}.",
    ),
    "refuse.INVALID_BATCH.after_claim_opens_at": (
        "领取结束时间须晚于开始时间。",
        "Claims must close after they open.",
    ),
    "refuse.INVALID_BATCH.in_the_past": (
        "领取期已经过去：结束时间须晚于现在。",
        "That claim window is over already: it must close in the future.",
    ),
    "refuse.INVALID_BATCH.validity_ends_before_claims": (
        "所选券种的有效期在领取期结束前就已截止，请另选券种或缩短领取期。",
        "The chosen voucher type stops being valid before claims close; choose another type "
        "or close claims earlier.",
    ),
    "refuse.INVALID_QUOTA.group_twice": (
        "每个优先群体只能预留一次。",
        "Each priority group can be reserved for once only.",
    ),
    "refuse.INVALID_QUOTA.quantity_positive": (
        "“{label}”至少为 1。",
        "{label} must be at least 1.",
    ),
    "refuse.INVALID_QUOTA.release_within_window": (
        "预留名额的释放时间须在领取期内（晚于开始，不晚于结束）。",
        "A reserve must be released within the claim window (after it opens, by its close).",
    ),
    "refuse.INVALID_QUOTA.opens_no_later_than_batch": (
        "优先群体的提前开放时间不得晚于批次开始领取的时间。",
        "A priority group's early access cannot start after the batch opens.",
    ),
    "refuse.INVALID_QUOTA.range": (
        "“{label}”须在 {lo} 到 {hi} 之间。",
        "{label} must be between {lo} and {hi}.",
    ),
    "refuse.INVALID_QUOTA.tickets_only_in_lotteries": (
        "只有摇号批次才能设置摇号份数；其他发放方式请保持 1。",
        "Only a lottery batch gives extra tickets; leave 1 for other allocations.",
    ),
    "refuse.INVALID_QUOTA.more_than_quantity": (
        "预留名额合计超过了发放总量。",
        "The reserved places add up to more than the quantity.",
    ),
    "refuse.INVALID_ELIGIBILITY_RULE": (
        "领取条件填写有误：地区代码为 6 位数字，年龄在 0 到 150 岁之间，最小年龄不大于最大年龄。",
        "The eligibility rule is not valid: region codes have 6 digits, ages lie between 0 "
        "and 150, and the lowest age is not above the highest.",
    ),
    "refuse.INSUFFICIENT_BUDGET": (
        "可用预算不足：需要 {needed_fen}，可用 {available_fen}。",
        "Not enough available budget: {needed_fen} needed, {available_fen} available.",
    ),
    "refuse.BELOW_MIN_SPEND": (
        "订单金额未达到使用门槛：需满 {min_spend_fen}。",
        "The order is below the minimum spend of {min_spend_fen}.",
    ),
    "refuse.ORDER_AMOUNT_MISMATCH": (
        "同一订单的金额须一致：该订单已按 {expected_order_amount_fen} 使用过券。",
        "One order has one amount: vouchers were already used on it for "
        "{expected_order_amount_fen}.",
    ),
    "refuse.EXCEEDS_FUNDER_CONTRIBUTION": (
        "退回金额超过该出资方的净出资：最多可退 {returnable_fen}。",
        "The return is more than the funder's net contribution: at most {returnable_fen}.",
    ),
    "refuse.INVALID_LOTTERY_BEACON": (
        "公开随机值及其来源须填写，首尾不能有空格，不能含控制字符或个人信息（电话、证件号、邮箱），"
        "且不超过长度上限。",
        "The public value and its source must be filled in, without surrounding spaces, control "
        "characters or personal data (phone, ID, e-mail), and within the length limit.",
    ),
    "refuse.IDEMPOTENCY_KEY_REUSED": (
        "该表单已提交过不同的内容，请重新打开表单后再提交。",
        "This form was already sent with other content; open the form again and resend it.",
    ),
    "refuse.IDEMPOTENCY_IN_PROGRESS": (
        "该表单正在处理中，请稍候刷新页面。",
        "This form is still being processed; reload the page in a moment.",
    ),
    # Drafts: change, delete, close and release
    "types.edit": ("修改券种", "Change the voucher type"),
    "batches.edit": ("修改批次草稿", "Change the draft batch"),
    "drafts.save": ("保存修改", "Save the changes"),
    "drafts.edit": ("修改", "Change"),
    "drafts.delete": ("删除", "Delete"),
    "drafts.cancel": ("取消", "Cancel"),
    "drafts.cannot_undo": ("此操作无法撤销。", "This cannot be undone."),
    "drafts.allocation_is": (
        "发放方式：{allocation}（草稿不能更改发放方式；如需更改，请删除后新建）",
        "Allocation: {allocation} (a draft keeps its allocation; to change it, delete the "
        "draft and define a new batch)",
    ),
    "drafts.available": ("当前可用预算：{available}", "Available budget now: {available}"),
    "drafts.over_budget": (
        "该批次开放时需要预留 {needed}，超过当前可用预算 {available}；开放将被拒绝，"
        "请先增加资金或减少数量。",
        "Opening this batch needs {needed}, more than the {available} available now: opening "
        "will be refused unless funds are added or the quantity is lowered.",
    ),
    "drafts.over_budget_row": (
        "需要 {needed}，超过可用预算 {available}",
        "Needs {needed}, more than the {available} available",
    ),
    "drafts.delete_type_title": ("删除券种", "Delete the voucher type"),
    "drafts.delete_type_says": (
        "将删除券种“{name}”。它尚未被任何批次使用，不涉及资金。",
        "The voucher type “{name}” will be deleted. No batch uses it; no money is involved.",
    ),
    "drafts.delete_batch_title": ("删除批次草稿", "Delete the draft batch"),
    "drafts.delete_batch_says": (
        "将删除批次草稿“{name}”。草稿尚未开放，没有预留资金，也没有生成券。",
        "The draft batch “{name}” will be deleted. It was never opened: no money is reserved "
        "and no voucher exists.",
    ),
    "drafts.release_title": ("关闭批次并释放预留资金", "Close the batch and release its money"),
    "drafts.release_says": (
        "批次“{name}”将停止领取并关闭；其中 {count} 张未领取的券作废，预留的 {amount} "
        "立即退回项目的可用预算。",
        "The batch “{name}” will stop taking claims and close; its {count} unclaimed vouchers "
        "are withdrawn and the {amount} reserved for them returns to the program's available "
        "budget at once.",
    ),
    "drafts.release_claimed": (
        "已领取的券不受影响：其资金仍为预留，直至核销或过期。",
        "Vouchers already claimed are not affected: their money stays reserved until they are "
        "redeemed or expire.",
    ),
    "drafts.release": ("关闭并释放", "Close and release"),
    "drafts.release_link": ("关闭并释放资金…", "Close and release…"),
    "done.type_saved": ("券种已修改。", "The voucher type was changed."),
    "done.type_deleted": ("券种已删除。", "The voucher type was deleted."),
    "done.batch_saved": ("批次草稿已修改。", "The draft batch was changed."),
    "done.batch_deleted": ("批次草稿已删除。", "The draft batch was deleted."),
    "done.batch_released": (
        "批次已关闭，未领取部分的预留资金已退回可用预算。",
        "The batch is closed; the money reserved for its unclaimed vouchers is back in the "
        "available budget.",
    ),
    # Settlement follow-through: CSV column names, the second person's payout confirmation
    "csv.settlement_id": ("结算单号", "Settlement"),
    "csv.merchant_id": ("商户编号", "Merchant ID"),
    "csv.redemption_count": ("核销笔数", "Redemptions"),
    "csv.window_fen": ("本期核销金额（元）", "This period (yuan)"),
    "csv.carried_fen": ("上期结转（元）", "Carried over (yuan)"),
    "csv.total_fen": ("合计（元）", "Total (yuan)"),
    "csv.held_fen": ("暂扣（元）", "Held (yuan)"),
    "csv.hold_reason": ("暂扣原因", "Hold reason"),
    "csv.payout_fen": ("应付金额（元）", "Payout (yuan)"),
    "csv.payout_status": ("付款状态", "Payout status"),
    "csv.payout_id": ("付款记录号", "Payout record"),
    "csv.redemption_id": ("核销编号", "Redemption ID"),
    "csv.voucher_id": ("券编号", "Voucher ID"),
    "csv.terminal_id": ("终端编号", "Terminal ID"),
    "csv.channel": ("渠道", "Channel"),
    "csv.category": ("消费类别", "Category"),
    "csv.redeemed_at": ("核销时间", "Redeemed at"),
    "csv.recorded_at": ("记录时间", "Recorded at"),
    "csv.order_amount_fen": ("订单金额（元）", "Order amount (yuan)"),
    "csv.discount_fen": ("券抵扣（元）", "Voucher discount (yuan)"),
    "csv.order_ref": ("订单号", "Order reference"),
    "csv.branch": ("门店", "Branch"),
    "csv.cashier": ("收银员", "Cashier"),
    "csv.receipt_no": ("小票号", "Receipt number"),
    "csv.merchant_name": ("商户名称", "Merchant name"),
    "csv.bank_name": ("开户银行", "Bank"),
    "csv.account_number": ("银行账号", "Account number"),
    "csv.amount_fen": ("付款金额（元）", "Amount (yuan)"),
    "csv.amount_yuan": ("付款金额（元）", "Amount (yuan)"),
    "csv.reference": ("付款附言", "Payment reference"),
    "settle.pay_title": ("确认付款", "Confirm the payout"),
    "settle.pending_summary": (
        "{count} 家商户的结算单待付款，共 {amount}。",
        "{count} merchants' statements wait for payment, {amount} in all.",
    ),
    "settle.pay_other_person": (
        "本次结算由 {who} 发起，须由另一名工作人员在银行付款后确认。",
        "{who} ran this settlement: another member of staff confirms the payout once the bank "
        "has paid.",
    ),
    "settle.payment_ref": ("银行付款凭证号", "Bank payment reference"),
    "settle.payment_ref_hint": ("（银行回单上的编号）", "(the number on the bank's receipt)"),
    "settle.confirm_paid": (
        "我确认银行已按付款文件付出 {amount}",
        "I confirm the bank paid the {amount} of the payout file",
    ),
    "settle.pay_cannot_undo": (
        "确认后，这些结算单记为已付款，账本中的应付款转为已付款，无法撤销。",
        "Once confirmed, the statements are paid and the ledger moves the money from payable "
        "to paid; this cannot be undone.",
    ),
    "settle.mark_paid": ("确认已付款", "Confirm paid"),
    "done.payout_paid": ("已确认付款。", "The payout is confirmed as paid."),
}
