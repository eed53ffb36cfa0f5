"""The demo's merchants: four approved shops with a cashier terminal each, one application waiting.

They apply as real merchants do (USCC with its check character, bank account sealed), and the
operator reviews them; the terminals' keys are shown once, so the demo keeps the first one's in
the credentials file to print how a cashier signs in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from quan.channels.outbox import OutboxKeys
from quan.domain.auth import Actor
from quan.domain.merchants import Decision, Scene
from quan.domain.uscc import check_character
from quan.services.merchants import merchant_reviews, merchants, terminals
from quan.services.people.api_keys import ApiKeyOwner


@dataclass(frozen=True, slots=True)
class Shop:
    name: str
    category: str
    region_code: str


APPROVED = (
    Shop("知味小笼（湖滨店）", "catering", "330102"),
    Shop("湖畔小馆（西湖店）", "catering", "330106"),
    Shop("西溪湿地游船中心", "tourism", "330106"),
    Shop("拱墅区全民健身馆", "sports", "330105"),
    Shop("滨江星光影城", "culture_entertainment", "330108"),
)
WAITING = Shop("余杭老街面馆", "catering", "330110")


@dataclass(frozen=True, slots=True)
class OpenShop:
    merchant_id: str
    name: str
    category: str
    terminal_id: str
    terminal_key: str
    cashier: Actor  # the terminal's principal, as its key would authenticate it


def _uscc(serial: int) -> str:
    first17 = f"91330100MA2{serial:06d}"
    return first17 + check_character(first17)


def _apply(tx: Connection, now: datetime, pii: bytes, issuer_id: str, shop: Shop, n: int) -> str:
    merchant, _ = merchants.apply(
        tx,
        now,
        pii,
        merchants.NewMerchant(
            issuer_id=issuer_id,
            name=shop.name,
            uscc=_uscc(n),
            categories=[shop.category],
            region_code=shop.region_code,
            scenes=[Scene.OFFLINE],
            bank_name="中国工商银行杭州分行",
            account_number=f"62220212{n:011d}",
            contact_phone=f"1380571{n:04d}",
        ),
    )
    return merchant.id


def open_shops(
    tx: Connection,
    now: datetime,
    operator: Actor,
    pii: bytes,
    issuer_id: str,
    outbox_keys: OutboxKeys,
) -> list[OpenShop]:
    opened = []
    for n, shop in enumerate(APPROVED, start=1):
        merchant_id = _apply(tx, now, pii, issuer_id, shop, n)
        merchant_reviews.review(
            tx, now, operator, pii, merchant_id, Decision.APPROVE, "资料齐全",
            outbox_keys=outbox_keys,
        )
        terminal, key = terminals.create_terminal(tx, now, operator, merchant_id, "收银台 1 号")
        cashier = terminals.actor_for_key(
            tx, ApiKeyOwner(terminal.key_id, "terminal", terminal.id)
        )
        assert cashier is not None  # just created, not revoked
        opened.append(OpenShop(merchant_id, shop.name, shop.category, terminal.id, key, cashier))
    _apply(tx, now, pii, issuer_id, WAITING, len(APPROVED) + 1)  # waits for the operator's review
    return opened
