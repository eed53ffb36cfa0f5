"""Console texts in zh-CN and en: merchants, settlement, the lottery and the auditor's pages
(see :mod:`quan.web.messages`)."""

from __future__ import annotations

from typing import Final

OPERATIONS: Final[dict[str, tuple[str, str]]] = {
    # Merchants
    "merchants.title": ("商户审核", "Merchant review"),
    "merchants.queues": ("审核队列", "Queues"),
    "merchants.queue.submitted": ("待审核", "Waiting"),
    "merchants.queue.due": ("待复审（30 天内）", "Re-review due (30 days)"),
    "merchants.queue.approved": ("已通过", "Approved"),
    "merchants.queue.suspended": ("已暂停", "Suspended"),
    "merchants.queue.rejected": ("已驳回", "Rejected"),
    "merchants.none": ("这个队列是空的。", "This queue is empty."),
    "merchants.name": ("商户", "Merchant"),
    "merchants.status": ("状态", "Status"),
    "merchants.categories": ("经营类别", "Categories"),
    "merchants.region": ("地区", "Region"),
    "merchants.applied": ("申请时间", "Applied"),
    "merchants.next_review": ("下次复审", "Next re-review"),
    "merchants.record": ("商户信息", "Record"),
    "merchants.uscc": ("统一社会信用代码", "Unified Social Credit Code"),
    "merchants.scenes": ("受理场景", "Scenes"),
    "merchants.bank": ("结算账户", "Bank account"),
    "merchants.phone": ("联系电话", "Contact phone"),
    "merchants.reason": ("理由", "Reason"),
    "merchants.reason_hint": (
        "（驳回和暂停必须填写，会以短信告知商户）",
        "(required to reject or suspend; the merchant is told by SMS)",
    ),
    "merchants.decide": ("审核决定", "Decision"),
    "merchants.decision": ("决定", "Decision"),
    "merchants.submit_decision": ("提交决定", "Record the decision"),
    "merchants.no_decision": ("当前状态下没有可做的决定。", "No decision applies in this status."),
    "merchants.history": ("审核记录", "Review history"),
    "merchants.no_history": ("暂无审核记录。", "No decisions yet."),
    "merchants.when": ("时间", "When"),
    "merchants.change": ("状态变化", "Change"),
    "merchants.who": ("审核人", "By"),
    "merchant.status.submitted": ("待审核", "Submitted"),
    "merchant.status.approved": ("已通过", "Approved"),
    "merchant.status.rejected": ("已驳回", "Rejected"),
    "merchant.status.suspended": ("已暂停", "Suspended"),
    "decision.approve": ("通过", "Approve"),
    "decision.reject": ("驳回", "Reject"),
    "decision.suspend": ("暂停", "Suspend"),
    "decision.reinstate": ("恢复", "Reinstate"),
    "decision.renew": ("复审通过（续期）", "Renew after re-review"),
    "done.merchant_approve": ("已通过该商户。", "The merchant is approved."),
    "done.merchant_reject": ("已驳回该申请。", "The application is rejected."),
    "done.merchant_suspend": ("已暂停该商户。", "The merchant is suspended."),
    "done.merchant_reinstate": ("已恢复该商户。", "The merchant is reinstated."),
    "done.merchant_renew": ("复审通过，已续期 12 个月。", "Renewed for twelve months."),
    # Settlement
    "settle.title": ("结算", "Settlement"),
    "settle.intro": (
        "结算到所选日期（含）为止的核销：每个商户一张对账单，列明应付、暂扣及原因和本次付款。",
        "Settles the redemptions up to the end of the chosen day: one statement per merchant "
        "with what it is owed, what is held and why, and what is paid now.",
    ),
    "settle.cut_off": ("结算截止日", "Cut-off day"),
    "settle.run": ("执行结算", "Run settlement"),
    "settle.none": ("还没有结算记录。", "No settlement has run yet."),
    "settle.merchants": ("商户数", "Merchants"),
    "settle.payout": ("本次付款", "To pay"),
    "settle.held": ("暂扣", "Held"),
    "settle.released": ("释放回预算", "Released to the budget"),
    "settle.when": ("执行时间", "Run at"),
    "settle.run_title": ("第 {seq} 次结算", "Settlement run {seq}"),
    "settle.window": ("本期核销", "Redeemed in the period"),
    "settle.carried": ("上期暂扣转入", "Carried from holds"),
    "settle.total": ("应付合计", "Total owed"),
    "settle.hold_reason": ("暂扣原因", "Why held"),
    "settle.status": ("付款状态", "Payout"),
    "settle.download_statements": ("下载全部对账单（CSV）", "Download all statements (CSV)"),
    "settle.download_payouts": ("下载银行付款文件（CSV）", "Download the bank payout file (CSV)"),
    "settle.download_statement": ("下载对账单明细（CSV）", "Download the statement lines (CSV)"),
    "settle.payout_hint": (
        "付款文件含明文银行账号，每次下载都会记录。",
        "The payout file holds bank accounts in clear; every download is recorded.",
    ),
    "settle.redemption": ("核销编号", "Redemption"),
    "settle.up_to": ("截至 {day}", "Up to {day}"),
    "payout.pending": ("待付款", "Pending"),
    "payout.paid": ("已付款", "Paid"),
    "payout.none": ("无需付款", "Nothing to pay"),
    # Lottery (operator)
    "lottery.title": ("摇号", "Lottery"),
    "lottery.link": ("摇号", "Lottery"),
    "lottery.intro": (
        "报名前已公布承诺值（种子的 SHA-256）；报名截止后摇号，公开种子，"
        "任何人都可以据公开名单重算中签结果。",
        "The commitment (the SHA-256 of the seed) was published before anyone registered; after "
        "registration closes the draw reveals the seed, and anyone can recompute the winners "
        "from the public list.",
    ),
    "lottery.state_drawn": ("已摇号", "Drawn"),
    "lottery.state_not_drawn": ("尚未摇号", "Not drawn yet"),
    "lottery.registration": ("报名", "Registration"),
    "lottery.registrants": ("报名人数", "Registered"),
    "lottery.places": ("名额（张）", "Places (vouchers)"),
    "lottery.opens": ("报名开始", "Registration opens"),
    "lottery.closes": ("报名截止", "Registration closes"),
    "lottery.commitment": ("承诺值", "Commitment"),
    "lottery.commitment_text": (
        "摇号种子的哈希值，在第一个人报名前公布；摇号时公开的种子必须与之相符。",
        "The hash of the draw's seed, published before the first registration; the seed the "
        "draw reveals must match it.",
    ),
    "lottery.draw": ("摇号", "The draw"),
    "lottery.not_drawn_text": (
        "摇号会公开种子，按公开算法选出中签者，并立即向中签者发券。每个批次只能摇号一次。",
        "The draw reveals the seed, picks the winners by the public algorithm and gives them "
        "their vouchers at once. A batch is drawn once only.",
    ),
    "lottery.cannot_draw_yet": ("暂不能摇号", "Cannot draw yet"),
    "lottery.blocked_still_open": (
        "报名 {closes} 截止，截止后才能摇号。",
        "Registration closes at {closes}; the draw comes after that.",
    ),
    "lottery.blocked_not_open": (
        "批次不在领取中状态，不能摇号。",
        "The batch is not open, so it cannot be drawn.",
    ),
    "lottery.draw_now": ("立即摇号", "Draw now"),
    "lottery.draw_hint": (
        "摇号结果不可撤销；报名未截止时系统会拒绝。",
        "The draw cannot be undone; it is refused while registration is open.",
    ),
    "lottery.done_drawn": (
        "摇号完成：{winners} 人中签，已发券 {issued} 张。",
        "Drawn. Winners: {winners}; vouchers issued: {issued}.",
    ),
    "lottery.refused": ("未能摇号", "Not drawn"),
    "lottery.winners": ("中签人数", "Winners"),
    "lottery.issued": ("已发券", "Vouchers issued"),
    "lottery.drawn_at": ("摇号时间", "Drawn at"),
    "lottery.seed": ("公开的种子", "Revealed seed"),
    "lottery.seed_text": (
        "种子的 SHA-256 等于上面的承诺值，说明种子在报名前已确定、没有被更换。",
        "Its SHA-256 equals the commitment above: the seed was fixed before registration and "
        "not changed since.",
    ),
    "lottery.digest": ("报名名单摘要", "Registrant list digest"),
    "lottery.pools": ("名额池", "Pools"),
    "lottery.pool": ("名额池", "Pool"),
    "lottery.reserved": ("优先名额", "reserved"),
    "lottery.base_k": ("本池名额", "Own places"),
    "lottery.k": ("实际抽取", "Places drawn"),
    "lottery.verify": ("公开记录与核验", "Public record and verification"),
    "lottery.verify_text": (
        "公开记录含承诺值、种子、名额池和中签者（化名）；报名名单只列化名。",
        "The public record holds the commitment, the seed, the pools and the winners "
        "(pseudonyms); the registrant list shows pseudonyms only.",
    ),
    "lottery.public_record": ("公开摇号记录（JSON）", "The public lottery record (JSON)"),
    "lottery.registrant_list": ("公开报名名单（JSON）", "The public registrant list (JSON)"),
    "lottery.algorithm": ("算法：{algorithm}", "Algorithm: {algorithm}"),
    # quan-lottery-v2: the public value a second person enters after the close
    "lottery.beacon": ("公开随机值", "Public random value"),
    "lottery.beacon_text": (
        "报名截止后，由创建本批次以外的另一名工作人员录入一个截止前还不存在的公开值"
        "（如某公开随机信标某一轮的输出，或某日正式公布的数字），并注明来源。"
        "种子由承诺的秘密、截止时的日志签名检查点和该值共同算出，任何人都无法事先操纵结果。",
        "After registration closes, someone other than whoever created this batch enters a "
        "public value that did not exist before the close (a named public randomness beacon's "
        "round, or an official figure published on a named date), with its source. The seed "
        "mixes the committed secret, the log's signed checkpoint at the close and this value, "
        "so nobody can steer the result in advance.",
    ),
    "lottery.beacon_value": ("公开值（按原样填写）", "Value (exactly as published)"),
    "lottery.beacon_source": ("来源", "Source"),
    "lottery.beacon_source_hint": (
        "例如：drand quicknet 第 1234567 轮",
        "e.g. drand quicknet round 1234567",
    ),
    "lottery.beacon_submit": ("录入公开随机值", "Enter the public value"),
    "lottery.beacon_not_yet": (
        "报名 {closes} 截止后才能录入。",
        "It can be entered once registration closes at {closes}.",
    ),
    "lottery.beacon_other_person": (
        "您创建了本批次（或其承诺值），须由另一名工作人员录入公开随机值。",
        "You created this batch (or its commitment): another member of staff must enter the "
        "public value.",
    ),
    "lottery.beacon_recorded_by": ("录入人", "Entered by"),
    "lottery.beacon_recorded_at": ("录入时间", "Entered at"),
    "lottery.close_checkpoint": ("截止时的日志检查点", "Log checkpoint at the close"),
    "lottery.close_checkpoint_text": (
        "第一个包含本批次全部报名记录的已签名检查点：大小 {size}，根哈希如下。",
        "The first signed checkpoint holding every registration of this batch: size {size}, "
        "root hash below.",
    ),
    "lottery.secret": ("公开的秘密", "Revealed secret"),
    "lottery.commitment_text_v2": (
        "秘密的哈希值，在第一个人报名前公布；摇号时公开的秘密必须与之相符。",
        "The hash of the secret, published before the first registration; the secret the draw "
        "reveals must match it.",
    ),
    "lottery.seed_text_v2": (
        "秘密的 SHA-256 等于承诺值；种子 = SHA-256(\"quan-lottery-v2\" ‖ 秘密 ‖ 截止检查点根哈希 ‖ "
        "公开随机值)，截止前任何人都无法知道。",
        "The secret's SHA-256 equals the commitment; the seed is SHA-256(\"quan-lottery-v2\" ‖ "
        "secret ‖ close checkpoint root ‖ public value), which nobody could know before the close.",
    ),
    "lottery.done_beacon": (
        "公开随机值已录入，截止检查点已确定；现在可以摇号。",
        "The public value is entered and the close checkpoint fixed; the lottery can be drawn.",
    ),
    "lottery.blocked_no_beacon": (
        "须先由另一名工作人员录入公开随机值。",
        "A second person must enter the public value first.",
    ),
    "lottery.intro_v2": (
        "报名前已公布承诺值（秘密的 SHA-256）；每条报名都写入透明日志；"
        "截止后由另一人录入公开随机值，再摇号并公开秘密。任何人都可以从日志重建报名名单并重算中签结果。",
        "The commitment (the SHA-256 of a secret) was published before anyone registered; every "
        "registration is written to the transparency log; after the close a second person "
        "enters a public random value, then the draw reveals the secret. Anyone can rebuild the "
        "registrant list from the log and recompute the winners.",
    ),
    "pool.general": ("普通", "General"),
    "pool.elderly": ("老年人", "Elderly"),
    "pool.disabled": ("残疾人", "Disabled"),
    "pool.low_income": ("低收入", "Low income"),
    # Auditor
    "audit.title": ("审计：透明日志", "Audit: the transparency log"),
    "audit.intro": (
        "每一次状态变化都写入只增不改的默克尔树日志，日志头由 Ed25519 签名。任何人都可以独立核验。",
        "Every state change goes into an append-only Merkle tree log whose head is signed with "
        "Ed25519. Anyone can verify it independently.",
    ),
    "audit.not_started": (
        "日志尚未签发第一个检查点。",
        "The log has not signed its first checkpoint yet.",
    ),
    "audit.checkpoint": ("最新检查点", "Latest checkpoint"),
    "audit.tree_size": ("条目数", "Entries"),
    "audit.signed_at": ("签发时间", "Signed"),
    "audit.queued": ("待入日志的事件", "Events waiting"),
    "audit.root": ("根哈希", "Root hash"),
    "audit.signed_note": ("签名检查点（C2SP）", "Signed checkpoint (C2SP)"),
    "audit.key": ("验证公钥", "Verifier key"),
    "audit.verification": ("核验状态", "Verification"),
    "audit.verification_text": (
        "用独立核验程序（只通过公开接口读取）检查签名、全部条目、包含证明，以及与上次核验之间的一致性证明。",
        "Runs the independent verifier (it reads only the public endpoints): the signature, "
        "every entry, inclusion proofs, and a consistency proof since the last verification.",
    ),
    "audit.last_verified": ("上次核验通过：{size} 条，{at}", "Last verified: {size} entries, {at}"),
    "audit.never_verified": ("尚未在本控制台核验过。", "Not yet verified from this console."),
    "audit.verify_now": ("立即核验", "Verify now"),
    "audit.verifying": ("正在核验…", "Verifying…"),
    "audit.verified_ok": ("核验通过", "Verified"),
    "audit.verified_detail": (
        "签名有效；{size} 条日志与签名根哈希一致；本次检查 {entries} 条，{proofs} 个包含证明。",
        "The signature is valid; {size} entries hash to the signed root; {entries} entries and "
        "{proofs} inclusion proofs checked this time.",
    ),
    "audit.consistency_ok": (
        "一致性证明通过：日志是上次核验的 {previous} 条的延续，没有被改写。",
        "Consistency proven: the log extends the {previous} entries verified last time; "
        "nothing was rewritten.",
    ),
    "audit.key_pinned": (
        "已记住日志公钥，今后换钥将被拒绝。",
        "The log's key is now pinned; a changed key will be refused.",
    ),
    "audit.verified_failed": ("核验失败", "Verification FAILED"),
    "audit.browse": ("浏览", "Browse"),
    "audit.entries": ("日志条目", "Log entries"),
    "jobs.title": ("后台任务与消息发送", "Background jobs and message delivery"),
    "jobs.intro": (
        "quan worker 运行的每个定时任务：上次、下次运行，延迟与失败；以及待发消息的数量。",
        "Every scheduled job quan worker runs: last and next run, lag and failures; and the "
        "messages waiting to be sent, in numbers.",
    ),
    "jobs.name": ("任务", "Job"),
    "jobs.every": ("间隔", "Every"),
    "jobs.last_run": ("上次运行", "Last run"),
    "jobs.next_run": ("下次运行", "Next run"),
    "jobs.lag": ("延迟", "Lag"),
    "jobs.runs": ("运行次数", "Runs"),
    "jobs.failures": ("失败", "Failures"),
    "jobs.in_a_row": ("连续 {count} 次", "{count} in a row"),
    "jobs.last_error": ("最近错误", "Last error"),
    "jobs.never": ("从未运行", "never"),
    "jobs.now": ("立即", "now"),
    "jobs.outbox": ("消息发送", "Message delivery"),
    "jobs.status.queued": ("排队", "Queued"),
    "jobs.status.sending": ("发送中", "Sending"),
    "jobs.status.delivered": ("已送达", "Delivered"),
    "jobs.status.failed": ("待重试", "Retrying"),
    "jobs.status.dead": ("已放弃", "Dead"),
    "jobs.oldest_due": ("最久等待", "Oldest due"),
    "audit.exports": ("导出（供第三方审计）", "Exports (for third-party auditors)"),
    "audit.export_checkpoint": ("最新签名检查点（.txt）", "The latest signed checkpoint (.txt)"),
    "audit.export_entries": (
        "全部日志条目，逐行为原始叶子字节（.jsonl）",
        "Every log entry, one exact leaf per line (.jsonl)",
    ),
    "audit.export_budgets": (
        "各项目预算（账本，分，.csv）",
        "Every program's budget (ledger, fen, .csv)",
    ),
    "audit.cli_hint": ("在自己的机器上核验：", "Verify from your own machine:"),
    "audit.showing": (
        "第 {first}–{last} 条，共 {size} 条（最新在前）",
        "Entries {first}–{last} of {size} (newest first)",
    ),
    "audit.from_index": ("从第几条开始", "From entry"),
    "audit.go": ("跳转", "Go"),
    "audit.pages": ("翻页", "Pages"),
    "audit.newer": ("← 更新的", "← Newer"),
    "audit.older": ("更早的 →", "Older →"),
    "audit.when": ("时间", "When"),
    "audit.type": ("类型", "Type"),
    "audit.actor": ("操作者", "Actor"),
    "audit.subject": ("对象", "Subject"),
    "audit.payload": ("内容", "Payload"),
    "audit.proof": ("包含证明", "Proof"),
}
