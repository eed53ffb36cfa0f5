"""The generic HTTP real-name provider against a real local gateway: the contract's body and
headers, each answer, one retry under the same request id for 5xx and timeouts, none for 4xx,
malformed answers taken as "unavailable"; and production refusing the development provider."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from typing import Any

import pytest

from quan.config import ConfigError, load_settings
from quan.services.people import realname
from quan.services.people.realname import HttpProvider, Identity, Outcome
from tests.integration.realname_gateway import Gateway, serving

WHO = Identity(name="林晓明", id_number="330106198504121236", phone="13600000001")


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    with serving(Gateway()) as running:
        yield running


def provider(gateway: Gateway, **overrides: Any) -> HttpProvider:
    options: dict[str, Any] = {"token": gateway.token, "timeout": 0.5, **overrides}
    return HttpProvider(gateway.url, **options)


@pytest.mark.parametrize("result", ["match", "mismatch", "no_record"])
def test_the_gateways_answer_is_the_verdict(gateway: Gateway, result: str) -> None:
    gateway.script = [result]
    verdict = provider(gateway).check("srg_1", WHO)
    assert verdict.outcome is Outcome(result)
    assert verdict.reference == "ref-1"
    (seen,) = gateway.received
    assert seen["body"] == {
        "request_id": "srg_1",
        "name": WHO.name,
        "id_number": WHO.id_number,
        "phone": WHO.phone,
    }
    assert seen["idempotency_key"] == "srg_1"
    assert seen["authorization"] == f"Bearer {gateway.token}"


@pytest.mark.parametrize("first", [500, 503, 429, "slow"])
def test_a_server_error_or_timeout_is_tried_once_more_under_the_same_id(
    gateway: Gateway, first: Any
) -> None:
    gateway.script = [first, "match"]
    verdict = provider(gateway).check("srg_2", WHO)
    assert verdict.outcome is Outcome.MATCH
    assert [r["idempotency_key"] for r in gateway.received] == ["srg_2", "srg_2"]


def test_two_failures_are_unavailable_never_a_mismatch(gateway: Gateway) -> None:
    gateway.script = [500, "slow"]
    verdict = provider(gateway).check("srg_3", WHO)
    assert verdict.outcome is Outcome.UNAVAILABLE
    assert verdict.error == "timeout"
    assert len(gateway.received) == 2


@pytest.mark.parametrize("answer", [400, 404, "garbage"])
def test_a_client_error_or_a_malformed_answer_is_unavailable_and_not_retried(
    gateway: Gateway, answer: Any
) -> None:
    gateway.script = [answer]
    verdict = provider(gateway).check("srg_4", WHO)
    assert verdict.outcome is Outcome.UNAVAILABLE
    assert len(gateway.received) == 1


def test_a_wrong_token_is_unavailable(gateway: Gateway) -> None:
    verdict = provider(gateway, token="not-it").check("srg_5", WHO)
    assert (verdict.outcome, verdict.error) == (Outcome.UNAVAILABLE, "http 401")


def test_nothing_listening_is_unavailable() -> None:
    verdict = HttpProvider("http://127.0.0.1:9/verify", timeout=0.5).check("srg_6", WHO)
    assert verdict.outcome is Outcome.UNAVAILABLE


def test_the_log_carries_the_request_id_and_outcome_only(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="quan.realname"):
        provider(gateway).check("srg_7", WHO)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "srg_7" in logged
    for value in (WHO.name, WHO.id_number, WHO.phone):
        assert value not in logged


def _production(**overrides: Any) -> dict[str, Any]:
    keys = {n: base64.b64encode(os.urandom(32)).decode() for n in ("s", "p", "l")}
    return {
        "env": "production",
        "database_url": "sqlite:///unused.db",
        "secret_key": keys["s"],
        "pii_key": keys["p"],
        "log_signing_key": keys["l"],
        **overrides,
    }


def test_production_refuses_to_start_with_the_development_provider() -> None:
    with pytest.raises(ConfigError, match="QUAN_REALNAME_PROVIDER=dev"):
        load_settings(**_production(realname_provider="dev"))
    with pytest.raises(ConfigError, match="QUAN_REALNAME_HTTP_URL"):
        load_settings(**_production(realname_provider="http"))
    off = load_settings(**_production())
    assert not realname.enabled(off)
    on = load_settings(
        **_production(realname_provider="http", realname_http_url="https://rn.example/v1")
    )
    assert realname.enabled(on)
    assert isinstance(realname.from_settings(on), HttpProvider)
