"""SMS through Alibaba Cloud (``dysmsapi`` SendSms) and Tencent Cloud (``sms`` SendSms), on their
official SDKs (``alibabacloud-dysmsapi20170525``, ``tencentcloud-sdk-python-sms``).

Both send registered templates only: the kind's template id comes from
``QUAN_SMS_TEMPLATE_IDS``; a kind without one is refused here (permanent, ``no template id``)
rather than sent under a template the provider would refuse. The message id travels as the
request's own context field, Alibaba's ``OutId`` and Tencent's ``SessionContext``: both are
returned in the provider's delivery receipts, so a repeat (at-least-once) is recognisable there.

Answers map to the relay's outcomes (docs/delivery.md#what-is-retried): accepted; retried
(5xx, timeouts and connection errors, throttling and rate-limit codes, the provider's own
errors, credentials or balance problems an operator can fix); permanent (the message or its
recipient is refused: invalid number, blacklist, template parameters). The error kept is the
provider's code (``aliyun isv.MOBILE_NUMBER_ILLEGAL``), never the provider's message text, which
may quote the number.
"""

from __future__ import annotations

import json
import re
import string
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from alibabacloud_dysmsapi20170525 import models as ali_models  # type: ignore[import-untyped]
from alibabacloud_dysmsapi20170525.client import Client as AliClient  # type: ignore[import-untyped]
from alibabacloud_tea_openapi import exceptions as ali_errors  # type: ignore[import-untyped]
from alibabacloud_tea_openapi.utils_models import Config as AliConfig  # type: ignore[import-untyped]
from darabonba.runtime import RuntimeOptions  # type: ignore[import-untyped]
from pydantic import SecretStr
from tencentcloud.common import credential as tc_credential  # type: ignore[import-untyped]
from tencentcloud.common.exception.tencent_cloud_sdk_exception import (  # type: ignore[import-untyped]
    TencentCloudSDKException,
)
from tencentcloud.common.profile.client_profile import ClientProfile  # type: ignore[import-untyped]
from tencentcloud.common.profile.http_profile import HttpProfile  # type: ignore[import-untyped]
from tencentcloud.sms.v20210111 import models as tc_models  # type: ignore[import-untyped]
from tencentcloud.sms.v20210111.sms_client import SmsClient  # type: ignore[import-untyped]

from quan.channels import templates
from quan.config import ConfigError, Settings
from quan.services.delivery.outcomes import Outcome, Outgoing, Result

ALIYUN_ENDPOINT = "https://dysmsapi.aliyuncs.com"
TENCENT_ENDPOINT = "https://sms.tencentcloudapi.com"

# Alibaba Cloud: codes worth another try (the rest of the isv.* codes refuse the message).
ALIYUN_RETRY_PREFIXES = (
    "isp.",  # the service's own failures (isp.SYSTEM_ERROR, isp.RAM_PERMISSION_DENY)
    "Throttling",
    "ServiceUnavailable",
    "InternalError",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "Forbidden",
)
ALIYUN_RETRY_CODES = frozenset(
    {
        "isv.BUSINESS_LIMIT_CONTROL",  # per-number rate limit (per minute, hour, day)
        "isv.DAY_LIMIT_CONTROL",
        "isv.OUT_OF_SERVICE",  # the account is in arrears
        "isv.AMOUNT_NOT_ENOUGH",
        "isv.ACCOUNT_ABNORMAL",
    }
)
# Tencent Cloud: likewise.
TENCENT_RETRY_PREFIXES = (
    "LimitExceeded",  # per-number and per-app frequency limits
    "RequestLimitExceeded",
    "InternalError",
    "ServerNetworkError",  # the SDK's name for a non-200 answer
    "ClientNetworkError",  # the SDK's name for a timeout or connection error
    "AuthFailure",
    "UnauthorizedOperation",
    "ResourceUnavailable",
    "FailedOperation.InsufficientBalanceInSmsPackage",
)

_CODE = re.compile(r"[^A-Za-z0-9._-]")


def _code(value: object) -> str:
    """A provider's code as kept in ``last_error``: identifier characters only, bounded."""
    return _CODE.sub("", str(value))[:80] or "?"


def _retryable(code: str, prefixes: tuple[str, ...], codes: frozenset[str]) -> bool:
    return code in codes or code.startswith(prefixes)


def parse_endpoint(url: str, variable: str = "QUAN_SMS_ENDPOINT") -> tuple[str, str]:
    """``https://host[:port]`` -> ``("https", "host[:port]")``, as both SDKs take it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise ConfigError(f"{variable} must be http(s)://host[:port] (got {url!r})")
    return parts.scheme, parts.netloc


def ordered_params(kind: str, params: Mapping[str, str]) -> list[str]:
    """Tencent templates take positional values ({1}, {2} …): the kind's parameters in the
    order they appear in Quan's zh-CN text of the kind, then any others by name."""
    text = templates.TEMPLATES.get(kind, {}).get("zh-CN", "")
    order: list[str] = []
    for _, name, _, _ in string.Formatter().parse(text):
        if name and name in params and name not in order:
            order.append(name)
    order += sorted(set(params) - set(order))
    return [str(params[name]) for name in order]


def e164(phone: str, country: str = "+86") -> str:
    """Tencent wants ``+86139…``; a number without a country code is taken as mainland."""
    return phone if phone.startswith("+") else country + phone


@dataclass(frozen=True, slots=True)
class CloudCredentials:
    key_id: str  # Alibaba AccessKey ID / Tencent SecretId
    key_secret: str  # Alibaba AccessKey secret / Tencent SecretKey
    sign_name: str
    endpoint: str  # http(s)://host[:port]
    region: str
    timeout: float
    template_ids: Mapping[str, str]
    app_id: str = ""  # Tencent SmsSdkAppId

    def __repr__(self) -> str:
        return f"CloudCredentials(endpoint={self.endpoint!r}, <hidden>)"


@dataclass
class AliyunSmsProvider:
    """Alibaba Cloud SMS SendSms: ``PhoneNumbers``, ``SignName``, ``TemplateCode``,
    ``TemplateParam`` (JSON of the parameters), ``OutId`` = the message id."""

    creds: CloudCredentials
    name: str = "aliyun"
    keeps_body: bool = False
    _local: threading.local = field(default_factory=threading.local, repr=False)

    def __post_init__(self) -> None:
        self._protocol, self._host = parse_endpoint(self.creds.endpoint)

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            ms = max(int(self.creds.timeout * 1000), 1)
            config = AliConfig(
                access_key_id=self.creds.key_id,
                access_key_secret=self.creds.key_secret,
                endpoint=self._host,
                protocol=self._protocol,
                region_id=self.creds.region,
                read_timeout=ms,
                connect_timeout=ms,
            )
            client = self._local.client = AliClient(config)
        return client

    def send(self, message: Outgoing) -> Result:
        template = self.creds.template_ids.get(message.kind)
        if template is None:
            return Result(Outcome.PERMANENT, "no template id")
        request = ali_models.SendSmsRequest(
            phone_numbers=message.to,
            sign_name=self.creds.sign_name,
            template_code=template,
            template_param=json.dumps(dict(message.params), ensure_ascii=False),
            out_id=message.message_id,
        )
        ms = max(int(self.creds.timeout * 1000), 1)
        try:
            answer = self._client().send_sms_with_options(
                request, RuntimeOptions(read_timeout=ms, connect_timeout=ms)
            )
        except ali_errors.ThrottlingException as exc:
            return Result(Outcome.RETRY, f"aliyun {_code(exc.code)}")
        except ali_errors.ClientException as exc:  # 4xx
            code = _code(exc.code)
            retry = _retryable(code, ALIYUN_RETRY_PREFIXES, ALIYUN_RETRY_CODES) or (
                exc.status_code in (408, 429)
            )
            return Result(Outcome.RETRY if retry else Outcome.PERMANENT, f"aliyun {code}")
        except ali_errors.ServerException as exc:  # 5xx
            return Result(Outcome.RETRY, f"aliyun http {exc.status_code}")
        except Exception as exc:  # timeouts, connections, unreadable answers (SDK-wrapped)
            return Result(Outcome.RETRY, _network_error(exc))
        code = _code(getattr(answer.body, "code", None))
        if code == "OK":
            return Result(Outcome.ACCEPTED)
        retry = _retryable(code, ALIYUN_RETRY_PREFIXES, ALIYUN_RETRY_CODES)
        return Result(Outcome.RETRY if retry else Outcome.PERMANENT, f"aliyun {code}")

    def close(self) -> None:
        self._local.client = None


@dataclass
class TencentSmsProvider:
    """Tencent Cloud SMS SendSms (2021-01-11): ``PhoneNumberSet`` (+86…), ``SmsSdkAppId``,
    ``SignName``, ``TemplateId``, ``TemplateParamSet`` (:func:`ordered_params`),
    ``SessionContext`` = the message id; the outcome is the ``SendStatusSet`` entry's code."""

    creds: CloudCredentials
    name: str = "tencent"
    keeps_body: bool = False
    _local: threading.local = field(default_factory=threading.local, repr=False)

    def __post_init__(self) -> None:
        self._protocol, self._host = parse_endpoint(self.creds.endpoint)

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            profile = HttpProfile(
                protocol=self._protocol,
                endpoint=self._host,
                reqTimeout=self.creds.timeout,
                keepAlive=True,
            )
            client = self._local.client = SmsClient(
                tc_credential.Credential(self.creds.key_id, self.creds.key_secret),
                self.creds.region,
                ClientProfile(httpProfile=profile),
            )
        return client

    def send(self, message: Outgoing) -> Result:
        template = self.creds.template_ids.get(message.kind)
        if template is None:
            return Result(Outcome.PERMANENT, "no template id")
        request = tc_models.SendSmsRequest()
        request.PhoneNumberSet = [e164(message.to)]
        request.SmsSdkAppId = self.creds.app_id
        request.SignName = self.creds.sign_name
        request.TemplateId = template
        request.TemplateParamSet = ordered_params(message.kind, message.params)
        request.SessionContext = message.message_id
        try:
            answer = self._client().SendSms(request)
        except TencentCloudSDKException as exc:
            code = _code(exc.get_code())
            if code == "ClientNetworkError":
                return Result(Outcome.RETRY, _tencent_network(str(exc.get_message())))
            retry = _retryable(code, TENCENT_RETRY_PREFIXES, frozenset())
            return Result(Outcome.RETRY if retry else Outcome.PERMANENT, f"tencent {code}")
        except Exception as exc:
            return Result(Outcome.RETRY, _network_error(exc))
        statuses = list(getattr(answer, "SendStatusSet", None) or [])
        if len(statuses) != 1:
            return Result(Outcome.RETRY, "tencent no status")
        code = _code(statuses[0].Code)
        if code == "Ok":
            return Result(Outcome.ACCEPTED)
        retry = _retryable(code, TENCENT_RETRY_PREFIXES, frozenset())
        return Result(Outcome.RETRY if retry else Outcome.PERMANENT, f"tencent {code}")

    def close(self) -> None:
        self._local.client = None


def _network_error(exc: BaseException) -> str:
    inner = getattr(exc, "inner_exception", None) or exc
    if "timeout" in type(inner).__name__.lower() or "timed out" in str(inner).lower():
        return "timeout"
    return _code(type(inner).__name__)


def _tencent_network(text: str) -> str:
    return "timeout" if "timed out" in text.lower() else "tencent ClientNetworkError"


def from_settings(settings: Settings) -> AliyunSmsProvider | TencentSmsProvider:
    """The cloud provider ``QUAN_SMS_PROVIDER`` names (its settings checked by the caller)."""
    aliyun = settings.sms_provider == "aliyun"

    def secret(value: SecretStr | None) -> str:
        return value.get_secret_value() if value is not None else ""

    creds = CloudCredentials(
        key_id=secret(settings.sms_access_key_id),
        key_secret=secret(settings.sms_access_key_secret),
        sign_name=settings.sms_sign_name or "",
        endpoint=settings.sms_endpoint or (ALIYUN_ENDPOINT if aliyun else TENCENT_ENDPOINT),
        region=settings.sms_region or ("cn-hangzhou" if aliyun else "ap-guangzhou"),
        timeout=settings.sms_http_timeout_seconds,
        template_ids=dict(settings.sms_template_ids),
        app_id=settings.sms_app_id or "",
    )
    return AliyunSmsProvider(creds) if aliyun else TencentSmsProvider(creds)
