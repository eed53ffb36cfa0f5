"""``redeem``: concurrent redemptions of distinct vouchers (redemptions/s, p50/p99).

Needs claimed vouchers and merchant terminals: :class:`RedeemPath` (to be implemented against
the redemption service when it lands) seeds them in bulk and builds one redemption request per
voucher (terminal API key as the bearer, voucher code and order amount in the body). Checks:
``double_spent`` (a voucher redeemed twice) must be 0, and every 2xx must have its redemption.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from quan.bench.context import BenchContext
from quan.bench.contract import BenchResult
from quan.bench.load import RequestItem
from quan.bench.registry import Benchmark, Params, Pending
from quan.services.runtime import Runtime

REDEEM_MODULES = ("quan.services.claims", "quan.services.redemptions")


@dataclass(frozen=True)
class RedeemSetup:
    requests: list[RequestItem]  # one per distinct voucher


@dataclass(frozen=True)
class RedeemOutcome:
    redeemed: int
    double_spent: int


class RedeemPath(Protocol):
    def prepare(self, rt: Runtime, *, vouchers: int, terminals: int) -> RedeemSetup: ...

    def read_back(self, rt: Runtime, setup: RedeemSetup) -> RedeemOutcome: ...


def run(ctx: BenchContext, params: Params) -> BenchResult:
    raise Pending("waiting for the redemption path (" + ", ".join(REDEEM_MODULES) + ")")


BENCHMARK = Benchmark(
    name="redeem",
    summary="concurrent redemptions of distinct vouchers: redemptions/s, p50/p99",
    run=run,
    params={"vouchers": 200_000, "terminals": 1_000},
    quick_params={"vouchers": 1_000, "terminals": 10},
    requires=REDEEM_MODULES,
)
