"""Console texts in zh-CN and en: announcements and partner clients (:mod:`quan.web.messages`)."""

from __future__ import annotations

from typing import Final

NOTIFY: Final[dict[str, tuple[str, str]]] = {
    "nav.announcements": ("公告通知", "Announcements"),
    "nav.partners": ("合作方接口", "Partners"),
    "notify.public_announcements": ("公告", "Announcements"),
    "notify.table": ("表格（可横向滚动）", "Table (scrolls sideways)"),
    # Announcements
    "notify.title": ("公告与定向通知", "Announcements and notices"),
    "notify.intro": (
        "向某项目、批次或券种的持券人，或按领取条件规则选出的人群发送通知。先预览人数和文本；"
        "人数超过 {threshold} 的通知须由另一人审批；发送按每秒 {rate} 条的速度进行。",
        "Send a notice to the holders of a program, a batch or a voucher type, or to a segment "
        "chosen by an eligibility rule. Preview the count and the text first; a notice to more "
        "than {threshold} people needs another person's approval; it goes out at {rate} a second.",
    ),
    "notify.for_program": ("项目：{name}", "Program: {name}"),
    "notify.pending": ("待审批", "Waiting for approval"),
    "notify.none_pending": ("没有待审批的通知。", "No notice is waiting for approval."),
    "notify.list": ("本项目的通知", "This program's notices"),
    "notify.none": ("还没有通知。", "No notices yet."),
    "notify.write": ("撰写通知", "Write a notice"),
    "notify.audience": ("收件范围", "Audience"),
    "notify.audience.program": ("本项目全部持券人", "Every holder in this program"),
    "notify.audience.batch": ("某批次的持券人", "Holders of a batch"),
    "notify.audience.voucher_type": ("某券种的持券人", "Holders of a voucher type"),
    "notify.audience.segment": ("细分人群（领取条件规则）", "A segment (eligibility rule)"),
    "notify.audience_ref": ("批次或券种", "Batch or voucher type"),
    "notify.choose": ("（请选择）", "(choose)"),
    "notify.segment": ("人群规则（JSON）", "Segment rule (JSON)"),
    "notify.segment_hint": (
        '与批次领取条件相同的规则语言，例如 {"region_in": ["330106"]}',
        'The eligibility rule language of batches, e.g. {"region_in": ["330106"]}',
    ),
    "notify.title_zh": ("标题（中文）", "Title (Chinese)"),
    "notify.title_en": ("标题（英文）", "Title (English)"),
    "notify.body_zh": ("正文（中文）", "Text (Chinese)"),
    "notify.body_en": ("正文（英文）", "Text (English)"),
    "notify.public": ("同时在信息公示页公开", "Also show it on the public disclosure page"),
    "notify.preview": ("预览", "Preview"),
    "notify.submit": ("提交发送", "Submit"),
    "notify.confirm_submit": (
        "确认提交这条通知？人数不超过阈值时将立即开始发送。",
        "Submit this notice? At or under the threshold it starts going out at once.",
    ),
    "notify.preview_title": ("预览", "Preview"),
    "notify.recipients": ("收件人", "Recipients"),
    "notify.by_sms": ("短信", "By SMS"),
    "notify.no_channel": ("无手机号（不发送）", "No phone on file (not sent)"),
    "notify.needs_approval": ("须由另一人审批", "Needs another person's approval"),
    "notify.goes_at_once": ("提交后立即发送", "Goes out once submitted"),
    "notify.text_zh": ("中文短信", "SMS in Chinese"),
    "notify.text_en": ("英文短信", "SMS in English"),
    "notify.status": ("状态", "Status"),
    "notify.status.pending_approval": ("待审批", "Waiting for approval"),
    "notify.status.rejected": ("已驳回", "Rejected"),
    "notify.status.sending": ("发送中", "Sending"),
    "notify.status.sent": ("已发送", "Sent"),
    "notify.created": ("提交时间", "Written"),
    "notify.requested_by": ("提交人", "Written by"),
    "notify.decided_by": ("审批人", "Decided by"),
    "notify.reject_reason": ("驳回原因", "Reason for rejection"),
    "notify.progress": ("发送进度", "Progress"),
    "notify.queued": ("已排队", "Queued"),
    "notify.released": ("已交付发送", "Handed to the outbox"),
    "notify.waiting": ("等待中", "Waiting"),
    "notify.outbox": ("短信状态", "Messages by status"),
    "notify.approve": ("批准发送", "Approve"),
    "notify.confirm_approve": (
        "确认批准？批准后将向 {count} 人发送，无法撤回。",
        "Approve? It will go to {count} people and cannot be called back.",
    ),
    "notify.reject": ("驳回", "Reject"),
    "notify.reason": ("原因", "Reason"),
    "notify.confirm_reject": ("确认驳回这条通知？", "Reject this notice?"),
    "notify.own": (
        "这是您提交的通知，须由另一人审批。",
        "You wrote this notice; another person must decide.",
    ),
    "notify.open": ("查看", "Open"),
    "notify.public_yes": ("公开", "Public"),
    # Partners
    "partners.title": ("合作方接口客户端", "Partner API clients"),
    "partners.intro": (
        "合作方（如银行数字钱包）以客户端编号和密钥换取短期访问令牌，订阅事件并接收签名回调"
        "（Standard Webhooks）。密钥只显示一次。",
        "Partners (such as a bank's digital wallet) exchange a client id and secret for a "
        "short-lived token, subscribe to events and receive signed webhooks (Standard "
        "Webhooks). The secret is shown once.",
    ),
    "partners.name": ("名称", "Name"),
    "partners.create": ("新建客户端", "Create a client"),
    "partners.created": ("创建时间", "Created"),
    "partners.status": ("状态", "Status"),
    "partners.active": ("有效", "Active"),
    "partners.revoked": ("已停用", "Revoked"),
    "partners.revoke": ("停用", "Revoke"),
    "partners.confirm_revoke": (
        "确认停用 {name}？其令牌立即失效，订阅全部停止。",
        "Revoke {name}? Its tokens stop now and its subscriptions with them.",
    ),
    "partners.secret_once": (
        "客户端已创建。请立即复制密钥，它不会再次显示：",
        "The client was created. Copy the secret now; it will not be shown again:",
    ),
    "partners.already_created": (
        "该表单已提交过，客户端已创建；密钥只显示一次。",
        "This form was already submitted and the client created; its secret was shown once.",
    ),
    "partners.client_id": ("客户端编号", "Client id"),
    "partners.client_secret": ("客户端密钥", "Client secret"),
    "partners.none": ("还没有客户端。", "No clients yet."),
    "partners.subscriptions": ("回调订阅", "Webhook subscriptions"),
    "partners.no_subscriptions": ("还没有订阅。", "No subscriptions yet."),
    "partners.url": ("回调地址", "Endpoint"),
    "partners.events": ("事件", "Events"),
    "partners.gone": ("连续 410 次数", "410s in a row"),
    "partners.sub.active": ("启用", "Active"),
    "partners.sub.disabled": ("已停用", "Disabled"),
    "partners.enable": ("重新启用", "Enable"),
    "partners.disable": ("停用", "Disable"),
    "partners.confirm_enable": ("确认重新启用该回调？", "Enable this endpoint again?"),
    "partners.confirm_disable": ("确认停用该回调？", "Disable this endpoint?"),
}
