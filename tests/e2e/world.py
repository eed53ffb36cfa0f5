"""The data an end-to-end story starts from, prepared like an operator would before opening day.

``quan db upgrade`` and ``quan demo seed`` (run as commands, as ``make run`` does) give the demo
city program: its issuer, staff, funded active program, batches, shops and residents. The service
layer then adds the story's own: an approved merchant with a cashier terminal, merchant
applications waiting for review, and registered residents with phones (one per language run).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from quan.config import Settings, load_settings
from quan.domain.auth import Actor
from quan.domain.batches import Allocation
from quan.domain.citizens import RegistrationInput, validate_registration
from quan.domain.merchants import Decision, Scene
from quan.domain.uscc import check_character
from quan.services.delivery import announcements
from quan.services.demo.program import FIXED_TYPE, PERCENT_TYPE
from quan.services.issuance import batches, voucher_types
from quan.services.merchants import merchant_reviews, merchants, terminals
from quan.services.people import citizens, staff
from quan.services.runtime import Runtime
from quan.store.tables import programs, staff_users
from tests.citizen_samples import resident_id

PHONES = {"zh": "13900000001", "en": "13900000002"}
# Residents of the other page tests: a code may be sent to a phone once a minute, so tests that
# share the served world never sign in with one another's phones.
OTHER_PHONES = {"zh": "13900000003", "en": "13900000004"}
# Residents of the whole-program test (tests/e2e/test_program_run.py), one per language.
PROGRAM_PHONES = {"zh": "13900000005", "en": "13900000006"}
# The wallet test's residents (tests/e2e/test_wallet.py): they claim, use and enter lotteries.
WALLET_PHONES = {"zh": "13900000007", "en": "13900000008"}
# The complaint pages' residents (tests/e2e/test_complaint_pages.py).
COMPLAINT_PHONES = {"zh": "13900000009", "en": "13900000010"}
LANGS = ("zh", "en")
# What the accessibility sweep opens that the demo does not have (tests/e2e/console_pages.py):
# a voucher type no batch uses, a draft batch, and a notice waiting for a second person.
SWEEP_TYPE = "草稿券种（无障碍检查）"
SWEEP_BATCH_TYPE = "草稿批次的券种（无障碍检查）"
SWEEP_BATCH = "草稿批次（无障碍检查）"
SWEEP_NOTICE = "停车提示（无障碍检查）"
# The wallet test's own lottery (tests/e2e/test_wallet.py): its registration stays open for two
# months, so the clock moves of the story and whole-program tests (a day or so each, on the same
# served world) never close it, whatever order the tests run in.
WALLET_LOTTERY_TYPE = "文体旅8折（钱包测试）"


@dataclass(frozen=True, slots=True)
class StoryWorld:
    var_dir: Path
    credentials: dict[str, str]  # demo role -> password
    program_id: str
    merchant_name: str
    terminal_key: str
    pending_merchants: dict[str, str]  # lang -> merchant id waiting for review
    phones: dict[str, str]
    other_phones: dict[str, str]
    wallet_phones: dict[str, str]
    complaint_phones: dict[str, str]


def _uscc(serial: int) -> str:
    first17 = f"91330106MA{serial:07d}"
    return first17 + check_character(first17)


def _quan(var_dir: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "quan.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"quan {' '.join(args)} failed: {done.stderr[-2000:]}")
    return done.stdout


def _wallet_lottery(
    tx: Any, now: Any, operator: Actor, program_id: str, settings: Settings
) -> None:
    kind = voucher_types.create_voucher_type(
        tx, now, operator, program_id, {**PERCENT_TYPE, "name": WALLET_LOTTERY_TYPE}
    )
    lottery = batches.create_batch(
        tx,
        now,
        operator,
        batches.NewBatch(
            program_id=program_id,
            voucher_type_id=kind.id,
            name="钱包测试抽签",
            quantity=10,
            allocation=Allocation.LOTTERY,
            claim_opens_at=now,
            claim_closes_at=now + timedelta(days=60),
        ),
        settings=settings,
    )
    batches.open_batch(tx, now, operator, lottery.id)


def _sweep_drafts(tx: Any, now: Any, operator: Actor, program_id: str) -> None:
    """The drafts and the notice the accessibility sweep opens (never opened or sent)."""
    unused = {**FIXED_TYPE, "name": SWEEP_TYPE}
    voucher_types.create_voucher_type(tx, now, operator, program_id, unused)
    used = voucher_types.create_voucher_type(
        tx, now, operator, program_id, {**FIXED_TYPE, "name": SWEEP_BATCH_TYPE}
    )
    batches.create_batch(
        tx,
        now,
        operator,
        batches.NewBatch(
            program_id=program_id,
            voucher_type_id=used.id,
            name=SWEEP_BATCH,
            quantity=10,
            allocation=Allocation.FCFS,
            claim_opens_at=now + timedelta(days=1),
            claim_closes_at=now + timedelta(days=10),
        ),
    )
    draft = announcements.Draft(
        program_id=program_id,
        audience="program",
        title_zh=SWEEP_NOTICE,
        title_en="Parking notice (accessibility sweep)",
        body_zh="西湖边停车场本周末关闭。",
        body_en="The lakeside car park is closed this weekend.",
    )
    # Above a threshold of 0 recipients: the notice waits for a second person; nothing is sent.
    announcements.create(tx, now, operator, draft, threshold=0)


def prepare(var_dir: Path, env: dict[str, str]) -> StoryWorld:
    _quan(var_dir, env, "db", "upgrade")
    _quan(var_dir, env, "demo", "seed")
    credentials: dict[str, str] = json.loads((var_dir / "demo-credentials.json").read_text())
    settings = load_settings(var_dir=var_dir, env="development")
    rt = Runtime.build(settings)
    now = rt.clock.now()
    pii = merchants.pii_key(settings.secret_bytes("pii_key"))
    keys = citizens.CitizenKeys.from_settings(settings)
    try:
        with rt.db.write() as tx:
            row = tx.execute(
                select(staff_users.c.id).where(staff_users.c.username == "demo-operator")
            ).one()
            user = staff.get_user(tx, row.id)
            assert user is not None
            assert user.issuer_id is not None
            operator: Actor = user.actor()
            program_id = str(tx.execute(select(programs.c.id)).scalar_one())

            def apply(name: str, serial: int) -> str:
                merchant, _ = merchants.apply(
                    tx,
                    now,
                    pii,
                    merchants.NewMerchant(
                        issuer_id=user.issuer_id or "",
                        name=name,
                        uscc=_uscc(serial),
                        categories=["catering"],
                        region_code="330106",
                        scenes=[Scene.OFFLINE],
                        bank_name="中国工商银行杭州西湖支行",
                        account_number="6222021234567890123",
                        contact_phone="13812345678",
                    ),
                )
                return merchant.id

            shop = "杭州西湖知味小吃店"
            merchant_id = apply(shop, 1)
            merchant_reviews.review(
                tx, now, operator, pii, merchant_id, Decision.APPROVE, "", outbox_keys=keys.outbox
            )
            _, terminal_key = terminals.create_terminal(tx, now, operator, merchant_id, "前台 1 号")
            pending = {"zh": apply("西湖边面馆", 2), "en": apply("Lakeside Noodles", 3)}
            residents = [(lang, PHONES[lang]) for lang in LANGS]
            residents += [(lang, OTHER_PHONES[lang]) for lang in LANGS]
            residents += [(lang, PROGRAM_PHONES[lang]) for lang in LANGS]
            residents += [(lang, WALLET_PHONES[lang]) for lang in LANGS]
            residents += [(lang, COMPLAINT_PHONES[lang]) for lang in LANGS]
            for i, (lang, phone) in enumerate(residents):
                registration = validate_registration(
                    RegistrationInput(
                        resident_id=resident_id("330106", date(1958, 3, 9), 10 + i),
                        name="王芳" if lang == "zh" else "李华",
                        region_code="330106",
                        phone=phone,
                    ),
                    today=now.date(),
                )
                citizens.register(tx, now, operator, keys, registration)
            _sweep_drafts(tx, now, operator, program_id)
            _wallet_lottery(tx, now, operator, program_id, settings)
    finally:
        rt.db.dispose()
    return StoryWorld(
        var_dir=var_dir,
        credentials=credentials,
        program_id=program_id,
        merchant_name=shop,
        terminal_key=terminal_key,
        pending_merchants=pending,
        phones=dict(PHONES),
        other_phones=dict(OTHER_PHONES),
        wallet_phones=dict(WALLET_PHONES),
        complaint_phones=dict(COMPLAINT_PHONES),
    )
