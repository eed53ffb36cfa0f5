"""Messages of the console's reveal of a citizen's personal data (``/ops/citizens``) and of the
reveal requests on the approvals page (issue 13, I4).

``key: (zh, en)`` as in :mod:`quan.web.messages`, which merges this catalogue.
"""

from __future__ import annotations

from typing import Final

REVEALS: Final[dict[str, tuple[str, str]]] = {
    "nav.citizens": ("居民信息", "Citizens"),
    "reveal.title": ("查看居民个人信息", "A citizen's personal data"),
    "reveal.intro": (
        "居民的身份证号、姓名和手机号平时只显示部分内容。确有需要时，可说明用途后查看完整信息："
        "仅限本发放单位辖区内的居民，每人每分钟最多 {per_minute} 次，每日超过 {threshold} 次后"
        "每次须另一名工作人员批准。每次查看均记录在案。",
        "A citizen's ID number, name and phone are shown masked. When your work needs them, "
        "state the purpose and see them in full: only citizens of your issuer's region, at most "
        "{per_minute} a minute, and beyond {threshold} a day each one needs another staff "
        "member's approval. Every reveal is recorded.",
    ),
    "reveal.find": ("查找居民", "Find a citizen"),
    "reveal.query": ("身份证号或居民编号", "ID number or citizen id"),
    "reveal.query_hint": (
        "（身份证号不会出现在网址中）",
        "(an ID number never appears in an address)",
    ),
    "reveal.find_button": ("查找", "Find"),
    "reveal.query_required": ("请输入身份证号或居民编号。", "Enter an ID number or a citizen id."),
    "reveal.not_found": ("没有找到该居民。", "No citizen was found."),
    "reveal.mine": ("我的查看申请", "My reveal requests"),
    "reveal.mine_none": ("没有未完成的查看申请。", "You have no open reveal requests."),
    "reveal.request": ("申请 {request_id}", "Request {request_id}"),
    "reveal.status.waiting": ("等待另一名工作人员批准", "Waiting for another staff member"),
    "reveal.status.approved": ("已批准，可查看一次", "Approved: you may reveal once"),
    "reveal.citizen": ("居民", "Citizen"),
    "reveal.citizen_title": ("居民 {citizen_id}", "Citizen {citizen_id}"),
    "reveal.masked": ("部分显示", "Masked"),
    "reveal.resident_id": ("身份证号", "ID number"),
    "reveal.name": ("姓名", "Name"),
    "reveal.phone": ("手机号", "Phone"),
    "reveal.no_phone": ("未登记", "None on file"),
    "reveal.region": ("地区代码", "Region code"),
    "reveal.age": ("年龄", "Age"),
    "reveal.form": ("查看完整信息", "See in full"),
    "reveal.purpose": ("用途", "Purpose"),
    "reveal.purpose_hint": ("（必选，将记录在案）", "(required; it is kept on record)"),
    "reveal.purpose.identity_check": ("现场核验身份", "Identity check in person"),
    "reveal.purpose.dispute": ("处理投诉或申诉", "A complaint or an appeal"),
    "reveal.purpose.data_subject_request": (
        "居民本人申请查阅其信息",
        "The citizen asked for their data",
    ),
    "reveal.purpose.legal_request": ("有权机关依法调取", "A request from an authority"),
    "reveal.choose": ("请选择用途", "Choose a purpose"),
    "reveal.err.purpose": ("请选择查看用途。", "Choose why you need to see the data."),
    "reveal.button": ("查看", "Reveal"),
    "reveal.use_approval": ("凭批准查看", "Reveal with the approval"),
    "reveal.revealed_title": ("居民个人信息（完整）", "Personal data in full"),
    "reveal.shown_once": (
        "以下信息仅显示这一次，不会被保存或缓存；离开本页后需重新查看（将再次记录）。",
        "This is shown once and is not stored or cached; to see it again, reveal it again "
        "(recorded again).",
    ),
    "reveal.recorded": (
        "本次查看已记录：{who}，{at}，用途：{purpose}。",
        "This reveal is recorded: {who}, {at}, purpose: {purpose}.",
    ),
    "reveal.back": ("返回（隐藏信息）", "Back (hide the data)"),
    "reveal.approvals": ("查看个人信息的申请", "Requests to see personal data"),
    "reveal.approvals_intro": (
        "当日查看次数超过上限的工作人员，每次查看须由同一发放单位的另一名工作人员批准；"
        "批准只开放对该居民、该用途的一次查看，当日有效。",
        "Beyond the daily threshold, each reveal needs another staff member of the same issuer "
        "to approve it; an approval opens one reveal of that citizen for that purpose, for a day.",
    ),
    "reveal.approvals_none": ("没有等待批准的查看申请。", "No reveal request is waiting."),
    "reveal.asked_at": ("申请时间", "Asked at"),
    "reveal.yours": (
        "这是您的申请，需另一名工作人员批准。",
        "This is your request: another staff member must approve it.",
    ),
    "reveal.approve": ("批准查看", "Approve the reveal"),
    "done.reveal_requested": (
        "今日查看次数已达上限，已提交申请，等待另一名工作人员批准；批准后请回到本页查看。",
        "You reached today's threshold: a request was filed and waits for another staff "
        "member's approval; come back to this page once it is approved.",
    ),
    "done.reveal_approved": (
        "已批准，申请人可查看一次。",
        "Approved: the requester may reveal once.",
    ),
}
