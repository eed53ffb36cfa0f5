"""Settings from ``QUAN_*`` environment variables, with zero-configuration embedded defaults.

In the embedded default (``QUAN_ENV=development``) Quan needs nothing installed: the database is a
SQLite file under ``./var/`` and missing secrets are generated once into ``./var/secrets.json``
(mode 0600) so that tokens stay valid across restarts. With ``QUAN_ENV=production`` every secret
must be given and must not be a known default; otherwise the service refuses to start.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from quan.config_sms import sms_problems

# The secrets Quan signs, encrypts and hashes with. Each is 32 random bytes, base64-encoded.
SECRET_NAMES = ("secret_key", "pii_key", "log_signing_key")

# Values that must never be accepted in production (copied from examples and docs).
KNOWN_DEFAULTS = frozenset({"", "changeme", "change-me", "secret", "dev", "development", "test"})

# A key of 32 random bytes has about 28 distinct byte values (and one below 16 distinct values
# turns up once in ~10^12 draws), so fewer distinct bytes than this means a typed, repeated or
# patterned key (``0000…``, ``abababab…``), not a random one.
MIN_DISTINCT_BYTES = 16
ENVIRONMENTS = ("development", "production", "test")


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message says what to set."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QUAN_", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    var_dir: Path = Path("var")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file var/quan.db"
    )
    redis_url: str | None = None
    db_pool_size: int = 10
    # psycopg's server-side prepared statements; false behind PgBouncer (transaction pooling)
    # older than 1.21, which cannot carry them from one transaction to the next.
    db_server_prepare: bool = True
    secret_key: SecretStr | None = None  # signs bearer tokens
    pii_key: SecretStr | None = None  # encrypts and hashes personal data
    log_signing_key: SecretStr | None = None  # Ed25519 seed of the transparency log
    # Rotation of the personal-data encryption keys (docs/operations.md#rotating-keys): the key new
    # values are sealed with (default: pii_key) and the retired ones (comma-separated base64)
    # that still open values the re-encryption job has not reached.
    pii_sealing_key: SecretStr | None = None
    pii_retired_keys: SecretStr | None = None
    # Contributions and returns above this many fen need a second person's approval.
    approval_threshold_fen: int = Field(default=100_000_000, ge=0)  # ¥1,000,000
    token_ttl_seconds: int = Field(default=12 * 3600, gt=0)
    # Staff sign-in (quan.services.people.guesses): failures per username in the window before
    # each further attempt waits (1, 2, 4 … s, at most login_max_delay_seconds; never a lockout),
    # and attempts per client address in the window before that address gets 429.
    login_attempts: int = Field(default=10, gt=0)
    login_window_seconds: int = Field(default=900, gt=0)
    login_max_delay_seconds: int = Field(default=30, gt=0)
    login_ip_attempts: int = Field(default=30, gt=0)
    # Public pages (program disclosure, API and console) are served from snapshots at most this
    # many seconds old, refreshed in the background (0: read the database on every request).
    public_snapshot_seconds: float = Field(default=5.0, ge=0)
    # Requests without credentials one API process serves at once; more get 503 + Retry-After.
    anonymous_concurrency: int = Field(default=16, gt=0)
    # Anonymous merchant applications per client address per hour.
    merchant_applications_per_hour: int = Field(default=10, gt=0)
    # A request body must have arrived this long after the request began (slow-body attacks);
    # uploads (eligibility lists) get longer.
    body_timeout_seconds: float = Field(default=30.0, gt=0)
    upload_timeout_seconds: float = Field(default=600.0, gt=0)
    # How long after a redemption its terminal (or an operator) may still reverse it; settlement
    # ends the window earlier for redemptions it has settled.
    reversal_window_seconds: int = Field(default=24 * 3600, ge=0)
    # How long after a voucher's validity ends the expiry job still leaves it active, so that an
    # offline redemption made while it was valid can be synced late (services.issuance.recycling).
    offline_sync_grace_hours: int = Field(default=72, ge=0)
    # How long an outbox message's (sealed) recipient and body are kept before they are erased.
    outbox_retention_hours: int = Field(default=24, ge=1, le=24 * 90)
    # Delivery (quan.services.delivery, docs/delivery.md): which provider sends SMS (`log`: to
    # the server log by id and kind only, development; `http`: the generic HTTP gateway), e-mail
    # over SMTP when QUAN_SMTP_URL is set, the language messages are rendered in, and the
    # relay's schedule: attempts before a message is dead, backoff base and cap, how long a
    # claimed message stays with one worker before another may take it.
    sms_provider: Literal["log", "http", "aliyun", "tencent"] = "log"
    sms_http_url: str | None = None
    sms_http_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    sms_template_ids: dict[str, str] = Field(default_factory=dict)  # kind -> provider's id
    # Alibaba Cloud and Tencent Cloud SMS (QUAN_SMS_PROVIDER=aliyun|tencent, docs/delivery.md):
    # the API endpoint (default: the provider's public one), the access key (Alibaba AccessKey
    # ID and secret, Tencent SecretId and SecretKey), the approved sign name, Tencent's
    # SmsSdkAppId, and the region (default cn-hangzhou, ap-guangzhou).
    sms_endpoint: str | None = None
    sms_access_key_id: SecretStr | None = None
    sms_access_key_secret: SecretStr | None = None
    sms_sign_name: str | None = None
    sms_app_id: str | None = None
    sms_region: str | None = None
    smtp_url: SecretStr | None = None  # smtp://user:pass@host:587?starttls=true, smtps://…
    smtp_from: str = "Quan <noreply@localhost>"
    message_locale: Literal["zh-CN", "en"] = "zh-CN"
    delivery_max_attempts: int = Field(default=10, ge=1, le=50)
    delivery_backoff_seconds: float = Field(default=2.0, gt=0)
    delivery_backoff_max_seconds: float = Field(default=600.0, gt=0)
    delivery_visibility_seconds: float = Field(default=60.0, gt=0)
    delivery_batch: int = Field(default=200, ge=1, le=5000)
    delivery_concurrency: int = Field(default=32, ge=1, le=256)
    # Reminders and lottery results (docs/delivery.md#reminders): the address citizens reach the
    # public pages at (the lottery's verification link), and reminders sent per transaction.
    public_url: str = "http://127.0.0.1:8000"
    reminder_send_batch: int = Field(default=500, ge=1, le=5000)
    # Self-registration's real-name check (quan.services.people.realname, docs/citizens.md):
    # `dev` answers from the documented test identities (refused in production), `http` asks the
    # identity-verification gateway at QUAN_REALNAME_HTTP_URL. Unset: `dev` in development and
    # test; in production self-registration is then off (citizens register at a service centre).
    realname_provider: Literal["dev", "http"] | None = None
    realname_http_url: str | None = None
    realname_http_token: SecretStr | None = None  # sent as `Authorization: Bearer …` if set
    realname_http_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    # Announcements (docs/delivery.md): above this many recipients a notice waits for a second
    # person's approval; recipients handed to the outbox per second by the announcements job.
    announcement_approval_threshold: int = Field(default=1000, ge=0)
    announcement_rate_per_second: int = Field(default=50, ge=1, le=100_000)
    # Partner webhooks: bearer tokens of partner clients live this long; an endpoint is disabled
    # after this many 410 Gone answers in a row; a delivery attempt waits this long.
    partner_token_ttl_seconds: int = Field(default=900, ge=60, le=86_400)
    webhook_gone_limit: int = Field(default=3, ge=1, le=100)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # Development: `quan serve` also runs the log sequencer in a thread, so that a server alone
    # publishes its events; `make run` turns it off because its worker runs the sequencer.
    embedded_sequencer: bool = True
    # Personal-data reveals per staff member: a minute's rate, and a day's count beyond which
    # each reveal needs a second person's approval (quan.services.people.reveals).
    reveal_per_minute: int = Field(default=10, ge=1)
    reveal_daily_threshold: int = Field(default=20, ge=0)
    # First-come claims that arrive together commit together (see quan.api.claim_route); off,
    # every claim runs its own transaction through the regular route.
    claim_batching: bool = True
    claim_batch_max: int = Field(default=256, ge=1, le=4096)  # claims per transaction at most
    # Claim transactions running at once per server process on PostgreSQL (SQLite: always 1).
    # 4: while one micro-batch waits on the database the next ones fill and go (claim-flood on
    # 2 cores: 2,175 and 2,253 claims/s against 1,675 and 2,073 with 2; 8 gained nothing).
    claim_batch_inflight: int = Field(default=4, ge=1, le=32)
    # Terminals' redemptions that arrive together commit together too (quan.api.redeem_route),
    # in micro-batches bounded by the two settings above; off, each runs its own transaction.
    redeem_batching: bool = True
    # The algorithm of lotteries created from now on (docs/lottery.md). quan-lottery-v2 binds the
    # registrants in the transparency log before the seed means anything; v1 stays for
    # deployments whose partners' verifiers do not read v2 yet (each lottery names its own).
    lottery_algorithm: Literal["quan-lottery-v1", "quan-lottery-v2"] = "quan-lottery-v2"
    # Development only: run the clock this far ahead (+3d, -2h, +1d12h) so time-bound steps
    # (settlement cut-off, lottery draw, expiry, recycling) can be tried in one sitting; `quan dev
    # clock advance` adds to it while the server runs. Refused in production (docs/development.md).
    dev_clock_offset: str | None = None
    # The interactive API reference (/docs, Swagger UI served from the package, no CDN) and
    # /openapi.json. Unset: on in development and test, off in production, where the API's
    # shape is published in docs/api.md and need not be served by every public instance.
    api_docs: bool | None = None
    # GET /metrics (Prometheus): with a token, scrapers send it as a bearer token; without one,
    # production answers only clients on the loopback address (docs/operations.md).
    metrics_token: str | None = None
    # Alert notifications to webhooks (issue 17): signed in the Standard Webhooks format with
    # this secret (``whsec_…``); without one, production sends no alert webhooks and development
    # keeps them in the development outbox.
    alert_webhook_secret: SecretStr | None = None
    alert_webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # The number residents call about their vouchers, shown in the wallet and on each program's
    # rules page (12345: the government service hotline; set the program office's own line).
    help_line: str = Field(default="12345", min_length=1, max_length=40)

    @property
    def api_docs_enabled(self) -> bool:
        return self.api_docs if self.api_docs is not None else not self.is_production

    @field_validator("env", mode="before")
    @classmethod
    def _normalise_env(cls, value: object) -> object:
        # ``QUAN_ENV=Production`` or `` production `` mean production, not a traceback.
        return value.strip().lower() if isinstance(value, str) else value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'quan.db').as_posix()}"

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    def secret_bytes(self, name: str) -> bytes:
        value: SecretStr | None = getattr(self, name)
        if value is None:
            raise ConfigError(f"QUAN_{name.upper()} is not set")
        raw = value.get_secret_value()
        try:
            decoded = base64.b64decode(raw, validate=True)
        except ValueError:
            decoded = raw.encode()
        return decoded

    def retired_pii_keys(self) -> list[bytes]:
        if self.pii_retired_keys is None:
            return []
        parts = [p.strip() for p in self.pii_retired_keys.get_secret_value().split(",")]
        try:
            return [base64.b64decode(p, validate=True) for p in parts if p]
        except ValueError as exc:
            raise ConfigError("QUAN_PII_RETIRED_KEYS must be base64 keys, comma-separated") from exc


def load_settings(**overrides: object) -> Settings:
    """Read settings, fill embedded secrets, and refuse unsafe production configuration."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    _check_dev_clock(settings)
    _check_realname(settings)
    if settings.is_production:
        _refuse_weak_secrets(settings)
        if settings.database_url is None:
            raise ConfigError("QUAN_DATABASE_URL must be set in production")
        sms = sms_problems(settings)
        if sms:
            raise ConfigError(
                "refusing to start in production / 拒绝以生产模式启动: " + "; ".join(sms)
            )
        return settings
    missing = [n for n in SECRET_NAMES if getattr(settings, n) is None]
    if missing:
        stored = _embedded_secrets(settings.var_dir)
        settings = settings.model_copy(update={n: SecretStr(stored[n]) for n in missing})
    return settings


def _describe(exc: ValidationError) -> str:
    """One line per bad variable, naming it, in English and Chinese (no traceback)."""
    lines = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "?"
        variable = f"QUAN_{field.upper()}"
        if field == "env":
            allowed = ", ".join(ENVIRONMENTS)
            lines.append(
                f"{variable} must be one of {allowed} / {variable} 只能是 {allowed} 之一"
                f" (got {error.get('input')!r})"
            )
        else:
            lines.append(f"{variable}: {error['msg']} / {variable} 的值无效")
    return "; ".join(lines)


def _check_dev_clock(settings: Settings) -> None:
    if settings.dev_clock_offset is None:
        return
    if settings.is_production:
        raise ConfigError(
            "refusing to start in production: QUAN_DEV_CLOCK_OFFSET is set — the development"
            " clock must never move a live program's time; unset it"
            " / 生产环境拒绝启动：设置了 QUAN_DEV_CLOCK_OFFSET（开发用时钟偏移），"
            "它不能改变正式项目的时间，请删除该设置"
        )
    from quan.clock import parse_offset

    try:
        parse_offset(settings.dev_clock_offset)
    except ValueError as exc:
        raise ConfigError(
            f"QUAN_DEV_CLOCK_OFFSET: {exc} / QUAN_DEV_CLOCK_OFFSET 格式无效，"
            "应写作 +3d、-2h、+1d12h（单位 w d h m s）"
        ) from exc


def _check_realname(settings: Settings) -> None:
    if settings.realname_provider == "dev" and settings.is_production:
        raise ConfigError(
            "refusing to start in production: QUAN_REALNAME_PROVIDER=dev accepts made-up"
            " identities; use http (QUAN_REALNAME_HTTP_URL) or unset it to turn"
            " self-registration off / 生产环境拒绝启动：QUAN_REALNAME_PROVIDER=dev 会接受虚构的"
            "身份，请改用 http（并设置 QUAN_REALNAME_HTTP_URL），或删除该设置以关闭自助注册"
        )
    if settings.realname_provider == "http" and not settings.realname_http_url:
        raise ConfigError(
            "QUAN_REALNAME_PROVIDER=http needs QUAN_REALNAME_HTTP_URL"
            " / QUAN_REALNAME_PROVIDER=http 须设置 QUAN_REALNAME_HTTP_URL"
        )


def dev_clock_path(settings: Settings) -> Path:
    """Where ``quan dev clock advance`` keeps its offset (read by every development process)."""
    from quan.clock import OFFSET_FILE

    return settings.var_dir / OFFSET_FILE


def _refuse_weak_secrets(settings: Settings) -> None:
    problems = []
    seen: dict[bytes, str] = {}
    # The sealing key is optional (it defaults to one derived from QUAN_PII_KEY), but once set
    # it seals every personal value and must be as strong and as separate as the others.
    optional = ("pii_sealing_key",) if settings.pii_sealing_key is not None else ()
    for name in SECRET_NAMES + optional:
        variable = f"QUAN_{name.upper()}"
        value: SecretStr | None = getattr(settings, name)
        if value is None:
            problems.append(f"{variable} is not set / 未设置 {variable}")
            continue
        key = settings.secret_bytes(name)
        if value.get_secret_value().strip().lower() in KNOWN_DEFAULTS:
            problems.append(f"{variable} is a known default value / {variable} 是公开的默认值")
        elif len(key) < 32:
            problems.append(
                f"{variable} must hold at least 32 bytes (base64) / {variable} 至少需要 32 字节"
            )
        elif len(set(key)) < MIN_DISTINCT_BYTES:
            problems.append(
                f"{variable} is not random (all zero, repeated or patterned); generate one with "
                f"`openssl rand -base64 32` / {variable} 不是随机密钥（全零、重复或有规律），"
                "请用 `openssl rand -base64 32` 生成"
            )
        elif key in seen:
            problems.append(
                f"{variable} is the same key as QUAN_{seen[key].upper()}; each secret needs its "
                f"own key / {variable} 与 QUAN_{seen[key].upper()} 相同，每个密钥必须各不相同"
            )
        seen.setdefault(key, name)
    if settings.lottery_algorithm != "quan-lottery-v2":
        # v1 lets whoever knows the seed at batch creation add registrants after seeing it;
        # production draws only what no operator can grind (v1 draws stay verifiable).
        problems.append(
            "QUAN_LOTTERY_ALGORITHM must be quan-lottery-v2 in production (v1 can be ground by"
            " an operator) / 生产环境中 QUAN_LOTTERY_ALGORITHM 必须为 quan-lottery-v2"
            "（v1 可被操作人员操纵）"
        )
    if problems:
        raise ConfigError(
            "refusing to start in production / 拒绝以生产模式启动: " + "; ".join(problems)
        )


def _embedded_secrets(var_dir: Path) -> dict[str, str]:
    """Secrets generated once for the embedded mode, kept in var/secrets.json (0600)."""
    path = var_dir / "secrets.json"
    stored: dict[str, str] = {}
    if path.exists():
        stored = json.loads(path.read_text())
    if all(n in stored for n in SECRET_NAMES):
        return stored
    for name in SECRET_NAMES:
        stored.setdefault(name, base64.b64encode(secrets.token_bytes(32)).decode())
    var_dir.mkdir(parents=True, exist_ok=True)
    # Create with 0600 from the start so the secrets are never world-readable, even briefly.
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(stored, f, indent=2)
    os.replace(tmp, path)
    return stored
