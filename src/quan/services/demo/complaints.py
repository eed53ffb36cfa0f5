"""The demo's complaints (issue 22): the shown resident's complaint about a shop, answered by the
operator, and a hotline caller's, still waiting — so the complaint pages have something to show
on first open. Filed through the feedback wing's use cases."""

from __future__ import annotations

from datetime import datetime, timedelta

from quan.domain.auth import Actor, CitizenRole
from quan.services.demo.shops import OpenShop
from quan.services.feedback import complaints
from quan.services.people.citizens import CitizenKeys
from quan.services.runtime import Runtime


def file(
    rt: Runtime,
    keys: CitizenKeys,
    operator: Actor,
    citizen_id: str,
    shop: OpenShop,
    at: datetime,
) -> None:
    citizen = Actor(kind="citizen", id=citizen_id, role=CitizenRole.CITIZEN)
    with rt.db.write() as tx:
        shown = complaints.file_complaint(
            tx,
            at,
            keys,
            citizen,
            complaints.Filing(
                "merchant_refused",
                "收银员说今天不收消费券，让我改天再来，态度不太好。",
                "wallet",
                citizen_id=citizen_id,
                merchant_id=shop.merchant_id,
            ),
        )
        complaints.respond(
            tx,
            at + timedelta(hours=3),
            keys,
            operator,
            shown,
            "已联系商户核实，商户承认操作有误，已要求其按规定受理消费券。",
        )
        complaints.file_complaint(
            tx, at + timedelta(hours=4), keys, operator,
            complaints.Filing(
                "voucher_problem", "来电反映：领券后在券包里找不到券。", "hotline",
                caller_phone="13700000001",
            ),
        )  # fmt: skip
