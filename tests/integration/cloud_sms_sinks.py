"""Real local HTTP servers that play Alibaba Cloud SMS and Tencent Cloud SMS for the SDKs: each
checks the request's signature (ACS3-HMAC-SHA256 and TC3-HMAC-SHA256, computed here from the
providers' published algorithms, with the secret the test configured), records what it received,
and answers as the provider does, or fails on purpose as a script per phone number says.

Behaviours (one per attempt, the last repeats): ``ok``; ``500`` (an error answer with status
500); ``throttle`` (a per-number rate limit in a 200 answer: Alibaba
``isv.BUSINESS_LIMIT_CONTROL``, Tencent ``LimitExceeded.PhoneNumberThirtySecondLimit`` in the
``SendStatusSet``); ``api-throttle`` (Alibaba 400 ``Throttling.User``, Tencent
``RequestLimitExceeded`` error); ``bad-number`` (Alibaba ``isv.MOBILE_NUMBER_ILLEGAL``, Tencent
``InvalidParameterValue.IncorrectPhoneNumber``); ``hang`` (answer ok after ``hang_seconds``,
longer than the client waits).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from tests.integration.delivery_sinks import Server

KEY_ID = "LTAI-test-key-id"
KEY_SECRET = "test-secret-0123456789abcdef"


@dataclass
class Received:
    phone: str
    template: str
    params: Any  # Alibaba: the decoded TemplateParam; Tencent: TemplateParamSet
    sign_name: str
    context: str  # OutId / SessionContext
    app_id: str | None
    signature_ok: bool
    headers: dict[str, str]


@dataclass
class CloudLog:
    kind: str  # "aliyun" or "tencent"
    hang_seconds: float = 1.0
    script: dict[str, list[str]] = field(default_factory=dict)  # phone -> behaviours
    lock: threading.Lock = field(default_factory=threading.Lock)
    received: list[Received] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def behaviour(self, phone: str) -> str:
        with self.lock:
            n = self.attempts[phone]
            self.attempts[phone] += 1
        steps = self.script.get(phone, ["ok"])
        return steps[min(n, len(steps) - 1)]


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _acs3_ok(method: str, path: str, headers: dict[str, str], body: bytes) -> bool:
    """Alibaba Cloud's V3 signature (ACS3-HMAC-SHA256) over path, query and signed headers."""
    auth = headers.get("authorization", "")
    if not auth.startswith("ACS3-HMAC-SHA256 "):
        return False
    fields = dict(part.split("=", 1) for part in auth.split(" ", 1)[1].split(","))
    if fields.get("Credential") != KEY_ID:
        return False
    parts = urlsplit(path)
    query = sorted(parse_qsl(parts.query, keep_blank_values=True))
    canonical_query = "&".join(f"{k}={quote(v, safe='~')}" for k, v in query)
    signed = fields["SignedHeaders"].split(";")
    canonical_headers = "".join(f"{h}:{headers.get(h, '').strip()}\n" for h in signed)
    payload = hashlib.sha256(body).hexdigest()
    if headers.get("x-acs-content-sha256") != payload:
        return False
    request = f"{method}\n{parts.path or '/'}\n{canonical_query}\n{canonical_headers}\n"
    request += f"{fields['SignedHeaders']}\n{payload}"
    to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(request.encode()).hexdigest()
    expected = hmac.new(KEY_SECRET.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields.get("Signature", ""))


def _tc3_ok(headers: dict[str, str], body: bytes) -> bool:
    """Tencent Cloud's TC3-HMAC-SHA256 over the JSON body and the signed headers."""
    auth = headers.get("authorization", "")
    if not auth.startswith("TC3-HMAC-SHA256 "):
        return False
    fields = dict(p.strip().split("=", 1) for p in auth.split(" ", 1)[1].split(","))
    key_id, date, service, scope_end = fields["Credential"].split("/")
    if key_id != KEY_ID or service != "sms" or scope_end != "tc3_request":
        return False
    timestamp = headers.get("x-tc-timestamp", "")
    if datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%d") != date:
        return False
    signed = fields["SignedHeaders"].split(";")
    canonical_headers = "".join(f"{h}:{headers.get(h, '').strip().lower()}\n" for h in signed)
    request = f"POST\n/\n\n{canonical_headers}\n{fields['SignedHeaders']}\n"
    request += hashlib.sha256(body).hexdigest()
    scope = f"{date}/sms/tc3_request"
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n"
    to_sign += hashlib.sha256(request.encode()).hexdigest()
    key = _hmac(_hmac(_hmac(("TC3" + KEY_SECRET).encode(), date), "sms"), "tc3_request")
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields.get("Signature", ""))


def _aliyun(log: CloudLog, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
    query = dict(parse_qsl(urlsplit(path).query, keep_blank_values=True))
    phone = query.get("PhoneNumbers", "")
    with log.lock:
        log.received.append(
            Received(
                phone=phone,
                template=query.get("TemplateCode", ""),
                params=json.loads(query.get("TemplateParam", "null")),
                sign_name=query.get("SignName", ""),
                context=query.get("OutId", ""),
                app_id=None,
                signature_ok=headers.get("x-acs-action") == "SendSms"
                and _acs3_ok("POST", path, headers, body),
                headers=headers,
            )
        )
    answer = {"RequestId": "req-1", "BizId": "biz-1", "Code": "OK", "Message": "OK"}
    behaviour = log.behaviour(phone)
    if behaviour == "hang":
        time.sleep(log.hang_seconds)
    elif behaviour == "500":
        return 500, {"RequestId": "req-1", "Code": "InternalError", "Message": "error"}
    elif behaviour == "api-throttle":
        return 400, {"RequestId": "req-1", "Code": "Throttling.User", "Message": "busy"}
    elif behaviour == "throttle":
        answer |= {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": f"触发流控 {phone}"}
    elif behaviour == "bad-number":
        answer |= {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": f"非法手机号 {phone}"}
    return 200, answer


def _tencent(log: CloudLog, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
    request = json.loads(body)
    phones = request.get("PhoneNumberSet") or [""]
    with log.lock:
        log.received.append(
            Received(
                phone=phones[0],
                template=request.get("TemplateId", ""),
                params=request.get("TemplateParamSet"),
                sign_name=request.get("SignName", ""),
                context=request.get("SessionContext", ""),
                app_id=request.get("SmsSdkAppId"),
                signature_ok=headers.get("x-tc-action") == "SendSms"
                and headers.get("x-tc-version") == "2021-01-11"
                and len(phones) == 1
                and _tc3_ok(headers, body),
                headers=headers,
            )
        )
    status = {
        "SerialNo": "2028:1",
        "PhoneNumber": phones[0],
        "Fee": 1,
        "SessionContext": request.get("SessionContext", ""),
        "Code": "Ok",
        "Message": "send success",
        "IsoCode": "CN",
    }
    behaviour = log.behaviour(phones[0].removeprefix("+86"))
    if behaviour == "hang":
        time.sleep(log.hang_seconds)
    elif behaviour == "500":
        return 500, {"error": "bad gateway"}
    elif behaviour == "api-throttle":
        error = {"Code": "RequestLimitExceeded", "Message": "too many requests"}
        return 200, {"Response": {"Error": error, "RequestId": "req-1"}}
    elif behaviour == "throttle":
        status |= {"Code": "LimitExceeded.PhoneNumberThirtySecondLimit", "Message": phones[0]}
    elif behaviour == "bad-number":
        status |= {"Code": "InvalidParameterValue.IncorrectPhoneNumber", "Message": phones[0]}
    return 200, {"Response": {"SendStatusSet": [status], "RequestId": "req-1"}}


def cloud_sink(log: CloudLog) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            if log.kind == "aliyun":
                status, answer = _aliyun(log, self.path, headers, body)
            else:
                status, answer = _tencent(log, headers, body)
            data = json.dumps(answer, ensure_ascii=False).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client gave up (a hang past its timeout)

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
