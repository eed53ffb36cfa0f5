"""Alibaba Cloud and Tencent Cloud SMS through their official SDKs, which really send over HTTP
to a local server playing each provider (tests/integration/cloud_sms_sinks.py): the request is
signed and carries phone, sign name, template id, parameters and the message id; the provider's
answers map to the relay's outcomes; chosen by configuration, the relay delivers through them
(issue 25)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from quan.channels import outbox as box
from quan.config import Settings
from quan.services.delivery import providers
from quan.services.delivery.cloud_sms import AliyunSmsProvider, TencentSmsProvider
from quan.services.delivery.outcomes import Outcome, Outgoing, Provider, Result
from quan.services.delivery.worker_relay import build
from quan.services.people.citizens import CitizenKeys
from quan.services.runtime import Runtime
from quan.store.tables import outbox
from tests.integration.cloud_sms_sinks import KEY_ID, KEY_SECRET, CloudLog, cloud_sink
from tests.integration.test_privacy_scan import clear_values_in

TEMPLATES = {"citizen.otp.login": "SMS_100001", "voucher.deactivated": "SMS_100002"}
SIGN = "泉城消费券"
APP_ID = "1400000001"


@pytest.fixture(params=["aliyun", "tencent"])
def cloud(request: pytest.FixtureRequest) -> Iterator[tuple[CloudLog, str]]:
    log = CloudLog(request.param, hang_seconds=2.5)
    server = cloud_sink(log)
    yield log, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _cloud_settings(base: Settings, kind: str, endpoint: str) -> Settings:
    return base.model_copy(
        update={
            "sms_provider": kind,
            "sms_endpoint": endpoint,
            "sms_access_key_id": SecretStr(KEY_ID),
            "sms_access_key_secret": SecretStr(KEY_SECRET),
            "sms_sign_name": SIGN,
            "sms_app_id": APP_ID,
            "sms_template_ids": TEMPLATES,
            "sms_http_timeout_seconds": 1.5,  # ample on a loaded machine: only a hang passes it
            "delivery_backoff_seconds": 0.02,
            "delivery_backoff_max_seconds": 0.05,
            "delivery_batch": 20,
            "delivery_concurrency": 8,
        }
    )


def _message(n: int, kind: str = "citizen.otp.login", **params: str) -> Outgoing:
    return Outgoing(
        message_id=f"msg_test{n:04d}",
        channel="sms",
        to=f"1390000{n:04d}",
        kind=kind,
        template=kind,
        params=params or {"code": f"{n:06d}"},
        text="unused by template providers",
    )


def test_each_sdk_sends_a_signed_request_and_each_answer_maps_to_an_outcome(
    cloud: tuple[CloudLog, str], tmp_path: object
) -> None:
    log, endpoint = cloud
    behaviours = ["ok", "500", "throttle", "api-throttle", "bad-number", "hang"]
    log.script = {f"1390000{n:04d}": [b] for n, b in enumerate(behaviours)}
    settings = _cloud_settings(Settings(env="test"), log.kind, endpoint)
    provider: Provider = providers.from_settings(settings)["sms"]
    assert isinstance(provider, AliyunSmsProvider if log.kind == "aliyun" else TencentSmsProvider)
    results = [provider.send(_message(n)) for n in range(len(behaviours))]
    deactivated = provider.send(_message(9, "voucher.deactivated", reason="误发", tail="4321"))
    untemplated = provider.send(_message(10, "merchant.approved"))
    provider.close()

    tencent = log.kind == "tencent"
    expected = {
        "ok": Result(Outcome.ACCEPTED),
        "500": Result(
            Outcome.RETRY, "tencent ServerNetworkError" if tencent else "aliyun http 500"
        ),
        "throttle": Result(
            Outcome.RETRY,
            "tencent LimitExceeded.PhoneNumberThirtySecondLimit"
            if tencent
            else "aliyun isv.BUSINESS_LIMIT_CONTROL",
        ),
        "api-throttle": Result(
            Outcome.RETRY, "tencent RequestLimitExceeded" if tencent else "aliyun Throttling.User"
        ),
        "bad-number": Result(
            Outcome.PERMANENT,
            "tencent InvalidParameterValue.IncorrectPhoneNumber"
            if tencent
            else "aliyun isv.MOBILE_NUMBER_ILLEGAL",
        ),
        "hang": Result(Outcome.RETRY, "timeout"),
    }
    assert dict(zip(behaviours, results, strict=True)) == expected
    assert deactivated == Result(Outcome.ACCEPTED)
    # A kind without a template id is refused here, never sent under a wrong template.
    assert untemplated == Result(Outcome.PERMANENT, "no template id")

    received = {r.phone.removeprefix("+86"): r for r in log.received}
    assert len(log.received) == len(behaviours) + 1
    assert all(r.signature_ok for r in log.received), "a request's signature did not verify"
    first = received["13900000000"]
    assert (first.template, first.sign_name, first.context) == ("SMS_100001", SIGN, "msg_test0000")
    assert first.phone == ("+8613900000000" if tencent else "13900000000")
    other = received["13900000009"]
    assert other.template == "SMS_100002"
    if tencent:
        assert first.params == ["000000"]
        assert other.params == ["4321", "误发"]  # the order of the zh-CN text: tail, reason
        assert first.app_id == APP_ID
    else:
        assert first.params == {"code": "000000"}
        assert other.params == {"reason": "误发", "tail": "4321"}
    # The error kept is the provider's code; the provider's message quoted the number.
    assert not any("1390000" in (r.error or "") for r in results)


def _queue(rt: Runtime, phones: list[str]) -> list[str]:
    keys = CitizenKeys.from_settings(rt.settings).outbox
    with rt.db.write() as tx:
        return [
            box.enqueue(
                tx,
                datetime.now(UTC),
                keys,
                channel="sms",
                recipient=phone,
                subject="citizen.otp.login",
                body=f"code {n:06d}",
                params={"code": f"{n:06d}"},
            )
            for n, phone in enumerate(phones)
        ]


def test_the_relay_delivers_through_the_configured_cloud_provider_with_retries(
    runtime: Runtime, cloud: tuple[CloudLog, str]
) -> None:
    log, endpoint = cloud
    scripts = {
        "13700000001": ["ok"],
        "13700000002": ["500", "500", "ok"],
        "13700000003": ["throttle", "ok"],
        "13700000004": ["api-throttle", "ok"],
        "13700000005": ["hang", "ok"],
        "13700000006": ["bad-number"],
    }
    log.script = scripts
    ids = dict(zip(scripts, _queue(runtime, list(scripts)), strict=True))
    rt = dataclasses.replace(
        runtime, settings=_cloud_settings(runtime.settings, log.kind, endpoint)
    )
    relay = build(rt)
    assert relay.providers["sms"].name == log.kind
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        relay.run_batch(datetime.now(UTC))
        with rt.db.read() as tx:
            rows = {r.id: r for r in tx.execute(select(outbox))}
        if all(r.status in ("delivered", "dead") for r in rows.values()):
            break
        time.sleep(0.02)
    relay.close()
    got = {
        phone: (rows[m].status, rows[m].attempts, rows[m].last_error) for phone, m in ids.items()
    }
    dead_error = (
        "tencent InvalidParameterValue.IncorrectPhoneNumber"
        if log.kind == "tencent"
        else "aliyun isv.MOBILE_NUMBER_ILLEGAL"
    )
    assert got == {
        "13700000001": ("delivered", 1, None),
        "13700000002": ("delivered", 3, None),
        "13700000003": ("delivered", 2, None),
        "13700000004": ("delivered", 2, None),
        "13700000005": ("delivered", 2, None),
        "13700000006": ("dead", 1, dead_error),
    }
    assert all(r.signature_ok for r in log.received)
    # Every attempt reached the provider under its message's own id (OutId / SessionContext).
    sent = [(r.phone.removeprefix("+86"), r.context) for r in log.received]
    assert sorted(sent) == sorted(
        (phone, ids[phone]) for phone, steps in scripts.items() for _ in range(got[phone][1])
    )
    assert all(rows[m].recipient_enc is None for m in ids.values() if rows[m].status == "delivered")
    # No number or code in clear anywhere, the provider's refusal (which quoted it) included.
    assert clear_values_in(rt.db, list(scripts), [f"{n:06d}" for n in range(len(scripts))]) == []
