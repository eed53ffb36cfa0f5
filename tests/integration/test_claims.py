"""First-come claims through the API: one voucher per claim, every refusal with its code and
nothing written, reserved quotas honoured, and sold-out answered without a database write."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from quan.domain import offline_token
from quan.domain.blacklist import ReasonCode, Subject, SubjectType
from quan.domain.claims import Channel
from quan.domain.errors import QuanError
from quan.domain.voucher_code import validate
from quan.services.issuance.issued_rows import Recipient
from quan.services.issuance.issuing import issue_many
from quan.services.merchants.offline_keys import offline_key
from quan.services.people import blacklist_decisions
from quan.store.schema import metadata
from quan.store.tables import events, journal_entries
from quan.store.voucher_tables import vouchers
from tests.conftest import START, World
from tests.integration.issuance_fixtures import (
    DAY,
    advance,
    assert_ledger_ok,
    batch,
    citizen_headers,
    claim,
    funded_program,
    iso,
    open_batch,
    open_fcfs_batch,
    register,
    register_many,
    statements,
    voucher_count,
    voucher_type,
)

ELDERLY_BIRTH = date(1950, 3, 1)


def _counts(world: World) -> dict[str, int]:
    with world.runtime.db.read() as tx:
        return {
            t.name: int(tx.execute(select(func.count()).select_from(t)).scalar_one())
            for t in metadata.sorted_tables
        }


def _writes(sql: list[str]) -> list[str]:
    verbs = ("INSERT", "UPDATE", "DELETE", "BEGIN IMMEDIATE")
    return [s for s in sql if s.lstrip().upper().startswith(verbs)]


def test_a_claim_gives_one_voucher_with_a_valid_code_and_no_ledger_posting(
    world: World,
) -> None:
    pid, bid = open_fcfs_batch(world, quantity=5)
    cid = register(world)
    entries_before = _counts(world)["journal_entries"]
    response = claim(world, cid, bid)
    assert response.status_code == 201, response.text
    voucher = response.json()
    assert validate(voucher["code"]) == voucher["code"]
    # The QR carries the signed offline token, as in the wallet: a terminal verifies it offline.
    token = offline_token.verify(voucher["qr_payload"], offline_key(world.runtime.settings).keyring)
    assert token.voucher_id == voucher["id"]
    assert voucher["status"] == "active"
    assert voucher["pool"] == "general"
    assert voucher["claim_seq"] == 1
    assert voucher["valid_until"] == "2027-02-22T16:00:00Z"  # 90 days, Asia/Shanghai
    assert _counts(world)["journal_entries"] == entries_before
    assert world.budget(pid)["reserved_fen"] == 15_000
    assert voucher_count(world, bid, status="active") == 1
    assert_ledger_ok(world)


def test_the_claim_event_carries_ids_and_codes_only(world: World) -> None:
    _, bid = open_fcfs_batch(world)
    cid = register(world)
    voucher = claim(world, cid, bid).json()
    with world.runtime.db.read() as tx:
        row = tx.execute(
            select(events.c.actor, events.c.payload).where(events.c.type == "voucher.claimed")
        ).one()
    assert row.actor == f"citizen:{cid}"
    assert json.loads(row.payload) == {
        "batch_id": bid,
        "channel": "app",
        "claim_seq": 1,
        "pool": "general",
        "valid_until": "2027-02-22T16:00:00+00:00",
    }
    assert voucher["code"] not in row.payload


def test_a_second_claim_by_the_same_citizen_is_refused(world: World) -> None:
    _, bid = open_fcfs_batch(world)
    cid = register(world)
    assert claim(world, cid, bid).status_code == 201
    before = _counts(world)
    again = claim(world, cid, bid)
    assert again.status_code == 409
    assert again.json()["code"] == "ALREADY_CLAIMED"
    assert again.json()["per_citizen_limit"] == 1
    assert _counts(world) == before


def test_a_limit_of_two_allows_exactly_two(world: World) -> None:
    _, bid = open_fcfs_batch(world, per_citizen_limit=2)
    cid = register(world)
    seqs = [claim(world, cid, bid).json()["claim_seq"] for _ in range(2)]
    assert seqs == [1, 2]
    assert claim(world, cid, bid).json()["code"] == "ALREADY_CLAIMED"
    assert voucher_count(world, bid, citizen_id=cid) == 2


def test_a_retry_with_the_same_key_returns_the_same_voucher(world: World) -> None:
    _, bid = open_fcfs_batch(world)
    cid = register(world)
    first = claim(world, cid, bid, **{"Idempotency-Key": "claim-1"})
    again = claim(world, cid, bid, **{"Idempotency-Key": "claim-1"})
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert voucher_count(world, bid, citizen_id=cid) == 1


def test_a_key_reused_for_another_request_is_refused(world: World) -> None:
    pid, bid = open_fcfs_batch(world)
    vt = voucher_type(world, pid)
    other = batch(world, pid, vt["id"])
    open_batch(world, other["id"])
    cid = register(world)
    assert claim(world, cid, bid, **{"Idempotency-Key": "k"}).status_code == 201
    elsewhere = claim(world, cid, other["id"], **{"Idempotency-Key": "k"})
    assert elsewhere.status_code == 422
    assert elsewhere.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    other_channel = claim(world, cid, bid, {"channel": "web"}, **{"Idempotency-Key": "k"})
    assert other_channel.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    bad_key = claim(world, cid, other["id"], **{"Idempotency-Key": "a key with spaces"})
    assert bad_key.json()["code"] == "INVALID_IDEMPOTENCY_KEY"
    assert voucher_count(world, other["id"], citizen_id=cid) == 0


def test_sold_out_is_answered_and_late_requests_write_nothing(world: World) -> None:
    _, bid = open_fcfs_batch(world, quantity=2)
    first, second, late, later = register_many(world, 4)
    assert claim(world, first, bid).status_code == 201
    assert claim(world, second, bid).status_code == 201
    response = claim(world, late, bid)  # finds the stock empty: the process remembers it
    assert response.status_code == 409
    assert response.json()["code"] == "SOLD_OUT"
    before = _counts(world)
    with statements(world) as sql:
        refused = [claim(world, later, bid) for _ in range(5)]
    assert {r.json()["code"] for r in refused} == {"SOLD_OUT"}
    assert _writes(sql) == []
    # Only the sign-in is read: the batch and its stock are not asked again.
    assert [s for s in sql if "vouchers" in s or "batches" in s] == []
    assert _counts(world) == before
    assert voucher_count(world, bid, status="active") == 2


def test_a_retry_with_its_key_after_the_sell_out_still_gets_its_voucher(world: World) -> None:
    _, bid = open_fcfs_batch(world, quantity=1)
    winner, loser = register_many(world, 2)
    first = claim(world, winner, bid, **{"Idempotency-Key": "w"})
    assert claim(world, loser, bid).json()["code"] == "SOLD_OUT"
    replay = claim(world, winner, bid, **{"Idempotency-Key": "w"})
    assert replay.status_code == 201
    assert replay.json()["id"] == first.json()["id"]


def test_claims_before_the_window_or_after_it_are_refused(world: World) -> None:
    pid = funded_program(world)
    vt = voucher_type(world, pid)
    created = batch(
        world, pid, vt["id"], claim_opens_at=iso(START + DAY), claim_closes_at=iso(START + 2 * DAY)
    )
    open_batch(world, created["id"])
    cid = register(world)
    before = _counts(world)
    early = claim(world, cid, created["id"])
    assert early.status_code == 409
    assert early.json()["code"] == "CLAIM_NOT_OPEN_YET"
    assert early.json()["claim_opens_at"] == iso(START + DAY)
    advance(world, 2 * DAY)
    late = claim(world, cid, created["id"])
    assert late.status_code == 409
    assert late.json()["code"] == "CLAIM_WINDOW_OVER"
    assert _counts(world) == before


def test_an_ineligible_citizen_is_told_which_rule_failed_in_their_language(
    world: World,
) -> None:
    rule = {"all": [{"region_in": ["330100"]}, {"age_between": {"min": 60}}]}
    _, bid = open_fcfs_batch(world, eligibility=rule)
    young = register(world, birth=date(1995, 1, 1))
    before = _counts(world)
    response = claim(world, young, bid)
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "NOT_ELIGIBLE"
    assert body["rule"] == "$.all[1].age_between"
    assert body["rule_text_zh"] == "年龄在 60 周岁及以上"
    assert body["rule_text_en"] == "aged 60 or over"
    assert "年龄在 60 周岁及以上" in body["detail"]
    english = world.client.post(
        f"/api/v1/batches/{bid}/claims",
        headers={**citizen_headers(world, young), "Accept-Language": "en"},
    )
    assert english.json()["detail"].endswith("aged 60 or over")
    assert _counts(world) == before
    elder = register(world, birth=ELDERLY_BIRTH)
    assert claim(world, elder, bid).status_code == 201


def test_a_blacklisted_citizen_cannot_claim(world: World) -> None:
    _, bid = open_fcfs_batch(world)
    cid = register(world)
    rt = world.runtime
    with rt.db.write() as tx:
        listing = blacklist_decisions.add_entry(
            tx,
            rt.clock.now(),
            world.users["operator"].actor(),
            blacklist_decisions.NewEntry(
                subject=Subject(SubjectType.CITIZEN, cid),
                reason_code=ReasonCode.ABUSE,
                reason="批量刷券",
            ),
        )
    before = _counts(world)
    response = claim(world, cid, bid)
    assert response.status_code == 403
    assert response.json()["code"] == "BLACKLISTED"
    assert response.json()["entry_id"] == listing.entry.id
    assert _counts(world) == before


@pytest.mark.parametrize("allocation", ["lottery", "grant"])
def test_a_batch_of_another_allocation_cannot_be_claimed_first_come(
    world: World, allocation: str
) -> None:
    _, bid = open_fcfs_batch(world, allocation=allocation)
    response = claim(world, register(world), bid)
    assert response.status_code == 409
    assert response.json()["code"] == "WRONG_ALLOCATION"
    assert response.json()["allocation"] == allocation


def test_draft_closed_and_paused_batches_refuse_claims(world: World) -> None:
    pid = funded_program(world)
    vt = voucher_type(world, pid)
    draft = batch(world, pid, vt["id"])
    cid = register(world)
    assert claim(world, cid, draft["id"]).json()["code"] == "BATCH_NOT_OPEN"
    open_batch(world, draft["id"])
    world.post("operator", f"/programs/{pid}/pause")
    paused = claim(world, cid, draft["id"])
    assert paused.status_code == 409
    assert paused.json()["code"] == "PROGRAM_NOT_ACTIVE"
    world.post("operator", f"/programs/{pid}/activate")
    world.post("operator", f"/batches/{draft['id']}/close")
    closed = claim(world, cid, draft["id"])
    assert closed.json()["code"] == "BATCH_NOT_OPEN"
    assert voucher_count(world, draft["id"], status="active") == 0


def test_staff_cannot_claim_and_citizens_cannot_open_batches(world: World) -> None:
    _, bid = open_fcfs_batch(world)
    assert world.post("operator", f"/batches/{bid}/claims").status_code == 403
    cid = register(world)
    response = world.client.post(f"/api/v1/batches/{bid}/open", headers=citizen_headers(world, cid))
    assert response.status_code == 403


# --- reserved quotas ---------------------------------------------------------------------------


def _quota_batch(world: World, **quota: Any) -> str:
    release = {"release_at": iso(START + timedelta(hours=2)), **quota}
    _, bid = open_fcfs_batch(
        world, quantity=3, reserved=[{"group": "elderly", "quantity": 2, **release}]
    )
    return bid


def test_the_reserve_is_kept_for_its_group_until_released(world: World) -> None:
    bid = _quota_batch(world)
    younger = register_many(world, 3)
    elder = register(world, birth=ELDERLY_BIRTH)
    assert claim(world, younger[0], bid).json()["pool"] == "general"
    sold_out = claim(world, younger[1], bid)
    assert sold_out.json()["code"] == "SOLD_OUT"  # two left, both kept for the elderly
    assert claim(world, elder, bid).json()["pool"] == "elderly"
    advance(world, timedelta(hours=2))
    released = claim(world, younger[1], bid)
    assert released.status_code == 201, released.text
    assert released.json()["pool"] == "elderly"
    assert claim(world, younger[2], bid).json()["code"] == "SOLD_OUT"
    assert voucher_count(world, bid, status="active") == 3
    assert_ledger_ok(world)


def test_members_of_a_group_take_from_their_reserve_first(world: World) -> None:
    bid = _quota_batch(world)
    elders = register_many(world, 3, birth=ELDERLY_BIRTH)
    pools = [claim(world, cid, bid).json()["pool"] for cid in elders]
    assert pools == ["elderly", "elderly", "general"]


def test_a_group_with_early_access_may_claim_before_everyone_else(world: World) -> None:
    pid = funded_program(world)
    vt = voucher_type(world, pid)
    created = batch(
        world,
        pid,
        vt["id"],
        quantity=3,
        claim_opens_at=iso(START + timedelta(hours=1)),
        reserved=[
            {
                "group": "elderly",
                "quantity": 1,
                "opens_at": iso(START),
                "release_at": iso(START + timedelta(hours=3)),
            }
        ],
    )
    open_batch(world, created["id"])
    elder, other = register(world, birth=ELDERLY_BIRTH), register(world)
    assert claim(world, elder, created["id"]).json()["pool"] == "elderly"
    assert claim(world, other, created["id"]).json()["code"] == "CLAIM_NOT_OPEN_YET"
    advance(world, timedelta(hours=1))
    assert claim(world, other, created["id"]).json()["pool"] == "general"


def test_no_claim_makes_more_vouchers_than_the_batch_has(world: World) -> None:
    _, bid = open_fcfs_batch(world, quantity=3)
    people = register_many(world, 6)
    codes = [claim(world, cid, bid).json().get("code") for cid in people]
    assert codes.count("SOLD_OUT") == 3
    with world.runtime.db.read() as tx:
        total = tx.execute(
            select(func.count()).select_from(vouchers).where(vouchers.c.batch_id == bid)
        ).scalar_one()
        reserves = tx.execute(
            select(func.count()).select_from(journal_entries).where(
                journal_entries.c.kind == "reserve"
            )
        ).scalar_one()
    assert total == 3
    assert reserves == 1


# --- bulk issuance (the seam for lottery winners and grants) -------------------------------


def test_issuing_in_bulk_gives_each_recipient_a_voucher_from_their_pool(world: World) -> None:
    _, bid = open_fcfs_batch(
        world,
        quantity=4,
        allocation="grant",
        reserved=[{"group": "elderly", "quantity": 1, "release_at": iso(START + DAY / 2)}],
    )
    elder = register(world, birth=ELDERLY_BIRTH)
    people = register_many(world, 4)
    rt = world.runtime
    recipients = [Recipient(elder, "elderly"), *(Recipient(cid) for cid in people)]
    with rt.db.write() as tx:
        report = issue_many(
            tx, rt.clock.now(), world.users["operator"].actor(), bid, recipients,
            channel=Channel.GRANT,
        )
    assert [v.citizen_id for v in report.issued] == [elder, *people[:3]]
    assert report.issued[0].pool == "elderly"
    assert {v.channel for v in report.issued} == {"grant"}
    assert report.unserved == [Recipient(people[3])]
    assert report.at_limit == []
    assert voucher_count(world, bid, status="active") == 4
    with rt.db.read() as tx:
        issued_events = tx.execute(
            select(func.count()).select_from(events).where(events.c.type == "voucher.issued")
        ).scalar_one()
    assert issued_events == 4
    assert_ledger_ok(world)


def test_bulk_issuance_respects_the_per_citizen_limit_and_an_open_batch(world: World) -> None:
    pid = funded_program(world)
    vt = voucher_type(world, pid)
    created = batch(world, pid, vt["id"], quantity=5, allocation="grant", per_citizen_limit=2)
    cid = register(world)
    rt, actor = world.runtime, world.users["operator"].actor()
    with pytest.raises(QuanError) as caught, rt.db.write() as tx:
        issue_many(tx, rt.clock.now(), actor, created["id"], [Recipient(cid)],
                   channel=Channel.GRANT)
    assert caught.value.code == "BATCH_NOT_OPEN"
    open_batch(world, created["id"])
    with rt.db.write() as tx:
        report = issue_many(
            tx, rt.clock.now(), actor, created["id"], [Recipient(cid)] * 3, channel=Channel.GRANT
        )
    assert [v.claim_seq for v in report.issued] == [1, 2]
    assert report.at_limit == [cid]
    assert voucher_count(world, created["id"], citizen_id=cid) == 2
