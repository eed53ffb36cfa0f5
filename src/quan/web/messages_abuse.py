"""Messages of the abuse cases' pages (``/ops/programs/{id}/cases``, ``/ops/cases/{id}``)."""

from __future__ import annotations

from typing import Final

ABUSE: Final[dict[str, tuple[str, str]]] = {
    "abuse.title": ("风险案件", "Risk cases"),
    "abuse.intro": (
        "系统按规则为疑似套现、虚假交易的商户和市民打分，分数达到阈值即立案，由您核查。"
        "核查期间可以暂扣案件涉及的核销款（仅暂扣这些笔，不影响商户其他款项）。",
        "The platform scores merchants and citizens for signs of cashing out and fake "
        "transactions; a score at the threshold opens a case for you to review. While you "
        "investigate you may hold the redemptions concerned (only those; the merchant's other "
        "money is paid).",
    ),
    "abuse.queues": ("案件状态", "Case status"),
    "abuse.status.open": ("待核查", "Open"),
    "abuse.status.confirmed": ("已确认", "Confirmed"),
    "abuse.status.dismissed": ("已驳回", "Dismissed"),
    "abuse.subject": ("对象", "Subject"),
    "abuse.subject.merchant": ("商户", "Merchant"),
    "abuse.subject.citizen": ("市民", "Citizen"),
    "abuse.score": ("风险分", "Risk score"),
    "abuse.why": ("立案原因", "Why it was opened"),
    "abuse.opened": ("立案时间", "Opened"),
    "abuse.none": ("没有这一状态的案件。", "No cases in this state."),
    "abuse.scan": ("立即扫描本活动", "Scan this program now"),
    "abuse.scanned": ("扫描完成，新立案 {n} 件。", "Scan finished: {n} new case(s)."),
    "abuse.case": ("风险案件", "Risk case"),
    "abuse.open_case": ("查看", "Review"),
    "abuse.findings": ("命中的规则", "Rules that fired"),
    "abuse.rule": ("规则", "Rule"),
    "abuse.weight": ("权重", "Weight"),
    "abuse.rules_version": ("规则版本", "Rules version"),
    "abuse.features": ("特征值", "Features"),
    "abuse.feature.redemptions": ("核销笔数", "Redemptions"),
    "abuse.feature.citizens": ("服务的不同市民", "Distinct citizens"),
    "abuse.feature.merchants": ("去过的不同商户", "Distinct merchants"),
    "abuse.feature.near_min_share": ("紧贴满减门槛的比例", "Share hugging the minimum spend"),
    "abuse.feature.round_share": ("整十元金额的比例", "Share of round amounts"),
    "abuse.feature.fast_share": ("领券 10 分钟内核销的比例", "Share redeemed within 10 min"),
    "abuse.feature.max_pair": ("同一市民–商户最多核销次数", "Most redemptions of one pair"),
    "abuse.feature.refused_redeems": ("被拒核销次数", "Refused redemptions"),
    "abuse.feature.refused_claims": ("被拒领券次数", "Refused claims"),
    "abuse.evidence": ("涉及的核销", "Redemptions concerned"),
    "abuse.no_evidence": (
        "本案由被拒次数立案，没有具体的核销记录。",
        "This case was opened on refused attempts; no redemption is concerned.",
    ),
    "abuse.redemption": ("核销编号", "Redemption"),
    "abuse.recorded": ("记录时间", "Recorded"),
    "abuse.order": ("订单金额", "Order"),
    "abuse.min_spend": ("满减门槛", "Minimum spend"),
    "abuse.discount": ("抵扣金额", "Discount"),
    "abuse.claim_seconds": ("领券到核销（秒）", "Claim to redemption (s)"),
    "abuse.pair_seq": ("该市民在此店第几次", "Visit no. of this pair"),
    "abuse.hold": ("暂扣", "Hold"),
    "abuse.hold.held": ("已暂扣", "Held"),
    "abuse.hold.released": ("已解除", "Released"),
    "abuse.hold.settled": ("已结算（需追回）", "Settled (needs a clawback)"),
    "abuse.hold.none": ("未暂扣", "Not held"),
    "abuse.reversed": ("已撤销", "Reversed"),
    "abuse.hold_all": ("暂扣 {n} 笔未结算的核销款", "Hold the {n} redemption(s) not yet settled"),
    "abuse.hold_intro": (
        "暂扣后，这些核销款在解除前不会结算给商户；商户其他款项照常结算。",
        "Held redemptions are not paid to the merchant until released; its other money is "
        "paid as usual.",
    ),
    "abuse.decide": ("处理", "Decide"),
    "abuse.decision": ("处理结果", "Decision"),
    "abuse.decision.confirmed": (
        "确认违规：暂扣涉及的核销款",
        "Confirm abuse: hold the redemptions concerned",
    ),
    "abuse.decision.dismissed": (
        "驳回：未发现违规，解除暂扣",
        "Dismiss: no abuse found, release the holds",
    ),
    "abuse.reason": ("理由", "Reason"),
    "abuse.reason_hint": ("（必填，将记入案件）", "(required; kept with the case)"),
    "abuse.blacklist": (
        "同时将该对象列入黑名单（原因：套现；可申诉）",
        "Also blacklist the subject (reason: cash-out; it may appeal)",
    ),
    "abuse.submit": ("提交处理结果", "Submit the decision"),
    "abuse.decided": ("处理人与时间", "Decided by, when"),
    "abuse.blacklisted": ("黑名单记录", "Blacklist entry"),
    "abuse.done.confirmed": ("案件已确认。", "The case is confirmed."),
    "abuse.done.dismissed": ("案件已驳回，暂扣已解除。", "The case is dismissed; holds released."),
    "abuse.done.held": ("已暂扣 {n} 笔核销款。", "{n} redemption(s) held."),
    "abuse.cases_link": ("风险案件", "Risk cases"),
    "abuse.clawback": ("追回已结算款项", "Claw back settled money"),
    "abuse.clawback_intro": (
        "这些核销在立案前已结算。追回即冲正这些核销：券作废，款项从商户之后的结算中扣回。",
        "These redemptions were settled before the case. Clawing back reverses them: the "
        "vouchers expire and the money is deducted from the merchant's next settlements.",
    ),
    "abuse.clawback_all": (
        "追回 {n} 笔已结算核销（{amount}）",
        "Claw back {n} settled redemption(s) ({amount})",
    ),
    "abuse.done.clawed": (
        "已追回 {n} 笔，将从商户之后的结算中扣回。",
        "{n} clawed back; deducted from the merchant's next settlements.",
    ),
}
