"""Console texts of the program office's reversible lifecycle confirmations (pause, resume)
(issue 15), zh-CN and en."""

from __future__ import annotations

from typing import Final

PROG15: Final[dict[str, tuple[str, str]]] = {
    "office.reversible": ("可以撤回", "Can be undone"),
    "office.reason_optional_hint": ("（可选，将记录在案）", "(optional; it is kept on record)"),
    "office.confirm.pause.title": ("暂停项目", "Pause the program"),
    "office.confirm.pause.what": (
        "暂停期间居民不能领券，商户不能核销；随时可以恢复。",
        "While paused, residents cannot claim and merchants cannot redeem; it can be resumed "
        "at any time.",
    ),
    "office.confirm.pause.available": (
        "可用预算 {amount} 保持不变，恢复后照常可用。",
        "The available budget of {amount} stays as it is and can be used again on resuming.",
    ),
    "office.confirm.pause.pending": (
        "待复核的出资 {amount} 仍可由第二人批准或驳回。",
        "Contributions of {amount} waiting for a second person can still be approved or "
        "rejected.",
    ),
    "office.confirm.pause.button": ("暂停项目", "Pause"),
    "office.confirm.resume.title": ("恢复项目", "Resume the program"),
    "office.confirm.resume.what": (
        "恢复后居民可以按批次规则领券，商户可以核销；之后仍可暂停或结束。",
        "Once resumed, residents can claim by each batch's rules and merchants can redeem; it "
        "can still be paused or closed.",
    ),
    "office.confirm.resume.available": (
        "可用预算 {amount} 可用于开放批次。",
        "The available budget of {amount} can fund batches.",
    ),
    "office.confirm.resume.pending": (
        "待复核的出资 {amount} 仍需第二人批准后才计入预算。",
        "Contributions of {amount} waiting for a second person count only once approved.",
    ),
    "office.confirm.resume.button": ("恢复项目", "Resume"),
}
