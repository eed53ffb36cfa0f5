"""What a redemption is judged on and how it can be refused: the voucher's, the program's and the
merchant's facts, the order and the order so far (the situation), and each refusal's stable code
(:mod:`quan.domain.redemption` has the rules)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from quan.domain.blacklist import BlacklistEntry
from quan.domain.errors import ErrorSpec, Kind, QuanError, define
from quan.domain.merchants import MerchantStatus, Scene
from quan.domain.programs import ProgramStatus
from quan.domain.voucher_types import VoucherTypeSpec

VOUCHER_NOT_CLAIMED = define(
    "VOUCHER_NOT_CLAIMED",
    Kind.REFUSED,
    zh="该券尚未被领取（未绑定持有人），不能核销",
    en="This voucher has not been claimed by anyone (no holder) and cannot be redeemed",
)


ALREADY_REDEEMED = define(
    "ALREADY_REDEEMED",
    Kind.CONFLICT,
    zh="该券已被核销",
    en="This voucher has already been redeemed",
)


VOUCHER_EXPIRED = define(
    "VOUCHER_EXPIRED",
    Kind.REFUSED,
    zh="该券已过期（有效期至 {valid_until}）",
    en="This voucher has expired (valid until {valid_until})",
)


VOUCHER_NOT_YET_VALID = define(
    "VOUCHER_NOT_YET_VALID",
    Kind.REFUSED,
    zh="该券尚未到可用时间（{valid_from} 起可用）",
    en="This voucher cannot be used yet (valid from {valid_from})",
)


VOUCHER_DEACTIVATED = define(
    "VOUCHER_DEACTIVATED",
    Kind.REFUSED,
    zh="该券已被停用，暂不能核销",
    en="This voucher has been deactivated and cannot be redeemed",
)


VOUCHER_HOLDER_BLACKLISTED = define(
    "VOUCHER_HOLDER_BLACKLISTED",
    Kind.REFUSED,
    zh="该券持有人已被列入黑名单，暂不能使用消费券",
    en="The voucher's holder is on the blacklist and cannot use vouchers for now",
)


OUTSIDE_USAGE_WINDOW = define(
    "OUTSIDE_USAGE_WINDOW",
    Kind.REFUSED,
    zh="当前时间不在该券的可用时段内（{rule}）",
    en="The voucher cannot be used at this time ({rule})",
)


OUT_OF_SCOPE = define(
    "OUT_OF_SCOPE",
    Kind.REFUSED,
    zh="该券不能用于此订单（不符合规则：{rule}）",
    en="This voucher cannot be used for this order (rule: {rule})",
)


MAX_PER_ORDER_EXCEEDED = define(
    "MAX_PER_ORDER_EXCEEDED",
    Kind.REFUSED,
    zh="每单最多使用 {max_per_order} 张券",
    en="At most {max_per_order} voucher(s) may be used on one order",
)


ORDER_AMOUNT_MISMATCH = define(
    "ORDER_AMOUNT_MISMATCH",
    Kind.REFUSED,
    zh="同一订单的金额须一致：该订单已按 {expected_order_amount_fen} 分使用过券",
    en="One order has one amount: vouchers were already used on it for "
    "{expected_order_amount_fen} fen",
)


BELOW_MIN_SPEND = define(
    "BELOW_MIN_SPEND",
    Kind.REFUSED,
    zh="订单金额未达到使用门槛：需满 {min_spend_fen} 分",
    en="The order does not reach the minimum spend of {min_spend_fen} fen",
)


DAILY_CAP_REACHED = define(
    "DAILY_CAP_REACHED",
    Kind.REFUSED,
    zh="持券人今日核销次数已达上限（每日 {daily_cap} 次）",
    en="The holder has reached today's limit of {daily_cap} redemption(s)",
)


ZERO_DISCOUNT = define(
    "ZERO_DISCOUNT",
    Kind.REFUSED,
    zh="该订单无可抵扣金额（优惠为 0）",
    en="Nothing left to discount on this order",
)


# Statuses of quan.store.voucher_tables that redemption reads.
ACTIVE = "active"


REDEEMED = "redeemed"


EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a voucher cannot pay for an order: a stable code and its structured fields."""

    spec: ErrorSpec
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def code(self) -> str:
        return self.spec.code

    @property
    def rule(self) -> str:
        return str(self.params.get("rule", ""))

    def error(self) -> QuanError:
        return QuanError(self.spec, **self.params)


@dataclass(frozen=True, slots=True)
class Applied:
    """The voucher pays ``discount_fen`` of the order; the customer pays the rest."""

    discount_fen: int
    customer_pays_fen: int
    order_seq: int  # 1 for the first voucher of the order, 2 for a second stacked on it ...


@dataclass(frozen=True, slots=True)
class VoucherFacts:
    id: str
    status: str  # unclaimed | active | redeemed | expired | recycled
    holder_id: str | None
    valid_from: datetime | None
    valid_until: datetime | None
    spec: VoucherTypeSpec
    deactivated: bool = False


@dataclass(frozen=True, slots=True)
class ProgramFacts:
    id: str
    issuer_id: str
    status: ProgramStatus
    timezone: str


@dataclass(frozen=True, slots=True)
class MerchantFacts:
    id: str
    issuer_id: str
    status: MerchantStatus
    region_code: str
    categories: frozenset[str]
    scenes: frozenset[Scene]


@dataclass(frozen=True, slots=True)
class Order:
    amount_fen: int
    category: str
    scene: Scene
    at: datetime  # when the customer is served (the offline time for offline records)


@dataclass(frozen=True, slots=True)
class OrderSoFar:
    """Vouchers already redeemed (and not reversed) on the same order at the same merchant."""

    count: int = 0
    order_amount_fen: int | None = None
    min_spend_fen: int = 0  # the sum of their minimum spends
    discount_fen: int = 0  # the sum of their discounts
    max_per_order: int | None = None  # the strictest limit among them
    next_seq: int = 1  # above every seq the order ever used (reversed ones included)


@dataclass(frozen=True, slots=True)
class Situation:
    """Everything one redemption is judged on."""

    voucher: VoucherFacts
    program: ProgramFacts
    merchant: MerchantFacts
    order: Order
    so_far: OrderSoFar = OrderSoFar()
    used_today: int = 0  # the holder's live redemptions in this program on the order's local day
    daily_cap: int | None = None  # the program's per-citizen daily cap, if it has one
    merchant_block: BlacklistEntry | None = None
    holder_block: BlacklistEntry | None = None


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None
