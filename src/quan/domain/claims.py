"""Claim refusals and channels: what a citizen is told when a claim cannot be granted.

The order in which a claim is judged (see :mod:`quan.services.issuance.claims`): the batch must be a
first-come batch that is open, in an active program, within its window; then the citizen must not
be blacklisted, must satisfy the eligibility rule (``NOT_ELIGIBLE`` names the failing rule, see
:mod:`quan.domain.eligibility`), must hold fewer than ``per_citizen_limit`` vouchers of the batch,
and a pool the citizen may take from must still have a voucher.
"""

from __future__ import annotations

from enum import StrEnum

from quan.domain.errors import Kind, define


class Channel(StrEnum):
    """How a voucher reached its holder (recorded on the voucher and in the claim event)."""

    APP = "app"  # the platform's own app or H5 wallet
    WEB = "web"
    PARTNER = "partner"  # a partner wallet through the API
    LOTTERY = "lottery"  # won in a draw
    GRANT = "grant"  # granted to a segment or a list
    ASSISTED = "assisted"  # issued by an agent at a service centre
    SHARE = "share"  # claimed through a citizen's share link (quan.services.issuance.share_links)


SELF_SERVICE = (Channel.APP, Channel.WEB, Channel.PARTNER)

SOLD_OUT = define(
    "SOLD_OUT", Kind.CONFLICT, zh="本批次的券已领完", en="This batch's vouchers are all claimed"
)
ALREADY_CLAIMED = define(
    "ALREADY_CLAIMED",
    Kind.CONFLICT,
    zh="您已领取过本批次的券（每人限领 {per_citizen_limit} 张）",
    en="You have already claimed from this batch (at most {per_citizen_limit} per person)",
)
BATCH_NOT_OPEN = define(
    "BATCH_NOT_OPEN",
    Kind.CONFLICT,
    zh="该批次当前不可领取（状态：{batch_status}）",
    en="This batch cannot be claimed from now (status: {batch_status})",
)
WRONG_ALLOCATION = define(
    "WRONG_ALLOCATION",
    Kind.CONFLICT,
    zh="该批次采用“{allocation}”方式发放，不能直接领取",
    en="This batch is allocated by {allocation}; it cannot be claimed first-come",
)
