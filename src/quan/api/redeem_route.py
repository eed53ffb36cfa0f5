"""The lean path of ``POST /api/v1/redemptions``: a terminal's redemption.

The contract is the one the FastAPI route in :mod:`quan.api.routes.redemptions` documents (it
stays mounted: the OpenAPI description is unchanged, it answers every request this path passes
on, and all redemptions when ``QUAN_REDEEM_BATCHING=false``). This ASGI layer
(:mod:`quan.api.lean`) answers the common case itself with the same bodies, codes and headers:
a terminal's API key (``qk_…``) with a JSON body the route's own model accepts. Anything else —
staff tokens, bodies the model refuses (the route words that 422), keys that are not a live
terminal's (401/403 from the route) — goes on to the documented route.

The redemptions that arrive together are recorded in one transaction
(:func:`quan.services.redemption.redeem_batch.redeem_together`); each request is answered once its
redemption is durable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Hashable, Sequence
from typing import Any

from pydantic import ValidationError

from quan import metrics
from quan.api.lean import ASGIApp, Call, Lane, LeanPath, PassOn, dumps, is_json, mount
from quan.api.schemas.redemptions import RedemptionCreate, RedemptionPublic
from quan.services.merchants.offline_keys import offline_key
from quan.services.redemption.redeem_batch import RedeemCall, RedeemResult, redeem_together
from quan.services.redemption.redemption import Redeemed
from quan.services.runtime import Runtime

_PATH = re.compile(r"/api/v1/redemptions")
_GROUP = "redemptions"  # one group: any redemptions may share a transaction


def render(done: Redeemed) -> tuple[int, dict[str, Any]]:
    """The answer to a new redemption, as the documented route renders it."""
    public = RedemptionPublic.of(done.redemption, done.customer_pays_fen)
    return 201, public.model_dump(mode="json")


class RedeemLane(Lane[RedeemCall, RedeemResult]):
    def run(self, group: Hashable, items: Sequence[RedeemCall]) -> list[RedeemResult]:
        rt = self.runtime
        keyring = offline_key(rt.settings).keyring
        return redeem_together(self.db, rt.clock, keyring, items, render)


def install(app: Any, runtime: Runtime) -> None:
    """Put the lean redemption path in front of the application (when batching is on)."""
    if runtime.settings.redeem_batching:
        mount(app, "redeem_lane", RedeemLane(runtime), RedeemFastPath)


class RedeemFastPath(LeanPath):
    """ASGI middleware: terminals' redemptions in front, everything else to ``app``."""

    def __init__(self, app: ASGIApp, lane: RedeemLane) -> None:
        super().__init__(app, _PATH)
        self.lane = lane

    async def answer(self, call: Call, match: re.Match[str]) -> tuple[int, bytes, bool]:
        scheme, _, credential = call.authorization.partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential.startswith("qk_key_"):
            raise PassOn  # staff tokens, no credentials: the documented route decides
        if not is_json(call.content_type):
            raise PassOn
        try:
            # As FastAPI does it: the JSON parsed, then the route's model validates the data.
            body = RedemptionCreate.model_validate(json.loads(call.body))
        except (ValueError, ValidationError):
            raise PassOn from None
        request = RedeemCall(
            api_key=credential,
            body=body.model_dump(mode="json"),
            path=call.path,
            idempotency_key=call.key,
        )
        result = await self.lane.batcher().submit(_GROUP, request)
        if result is None:
            raise PassOn  # not a live terminal's key: 401 or 403 from the documented route
        # A new redemption is counted once final (quan.metrics), with its subsidy; a replayed
        # answer is not counted again. Refusals were recorded by the service, which knows the
        # terminal (quan.refusals).
        if isinstance(result, Exception):
            raise result
        if not result.replayed and result.status_code == 201:
            metrics.redeemed(int(result.body["discount_fen"]))
        return result.status_code, dumps(result.body), result.replayed
