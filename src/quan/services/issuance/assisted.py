"""The assisted channel (R1.4): an agent at a service centre issues a voucher for a citizen and
prints it.

- **Issuance** goes through the first-come claim itself
(:func:`quan.services.issuance.claims.claim`,
  channel ``assisted``), so eligibility, the blacklist, the per-citizen limit, the window and the
  sell-out hold exactly as for a citizen claiming in the app. The claim's own event
  (``voucher.claimed``) names the citizen as holder; in the same transaction
  ``voucher.assisted_issued`` names the agent as actor, so every agent action is attributed.
- Agents act only for programs of their own issuer (``OTHER_ISSUER`` otherwise), and only with
  the citizen's presence proven (:mod:`quan.services.issuance.assisted_acts`).
- **Printing** (``voucher.printed`` event, actor the agent) is the act's own: only the agent who
  issued the voucher, within its print window; a later copy is a reprint (presence again, a
  reason, a limit, audited). No one else — operators and admins included — sees a code.
  Rendering the voucher has
  no dependency beyond ``segno``: a PDF composed here (vector QR, Helvetica for the code, value
  and dates, the program name in the standard CJK font ``STSong-Light``) or a PNG encoded here
  (QR and the code, value and dates in a built-in 5×7 pixel font; the program name, which needs
  a CJK font, travels in an ``iTXt`` ``Title`` chunk). No personal data is printed.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import segno
from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from quan.cache.throttle import Throttle
from quan.clock import Clock
from quan.domain.auth import OTHER_ISSUER, Actor, Role
from quan.domain.batches import CLAIM_WINDOW_OVER, Allocation
from quan.domain.citizens import local_date
from quan.domain.claims import WRONG_ALLOCATION, Channel
from quan.domain.errors import FORBIDDEN, NOT_FOUND, Kind, QuanError, define
from quan.services.issuance import assisted_acts, claims
from quan.services.issuance.assisted_acts import Presence, ReprintReason
from quan.services.issuance.claim_cache import DEFAULT_CACHE, ClaimCache
from quan.services.people.citizens import CitizenKeys
from quan.store.db import Database
from quan.store.events import record_event
from quan.store.tables import programs
from quan.store.voucher_tables import voucher_types, vouchers

VOUCHER_NOT_ISSUED = define(
    "VOUCHER_NOT_ISSUED",
    Kind.CONFLICT,
    zh="该券尚未发放给居民，不能打印",
    en="This voucher has not been issued to anyone; it cannot be printed",
)

FORMATS = ("png", "pdf")


def _program_issuer(tx: Connection, program_id: str) -> str:
    issuer = tx.execute(
        select(programs.c.issuer_id).where(programs.c.id == program_id)
    ).scalar_one_or_none()
    if issuer is None:
        raise QuanError(NOT_FOUND, what=f"program {program_id}")
    return str(issuer)


def require_staff_of(actor: Actor, issuer_id: str, roles: frozenset[str]) -> None:
    """Agents and operators act within their own issuer; admins everywhere."""
    if actor.role == Role.ADMIN:
        return
    if actor.role not in roles:
        raise QuanError(FORBIDDEN)
    if actor.issuer_id != issuer_id:
        raise QuanError(OTHER_ISSUER)


AGENTS = frozenset({Role.AGENT.value})


def _agent_only(actor: Actor, issuer_id: str) -> None:
    """Only agents hand vouchers over in person; admins are not agents here."""
    if actor.role != Role.AGENT.value:
        raise QuanError(FORBIDDEN)
    require_staff_of(actor, issuer_id, AGENTS)


def issue_for_citizen(
    db: Database,
    clock: Clock,
    agent: Actor,
    citizen_id: str,
    batch_id: str,
    *,
    keys: CitizenKeys,
    throttle: Throttle,
    proof: Presence,
    key: str | None = None,
    cache: ClaimCache = DEFAULT_CACHE,
) -> claims.ClaimOutcome:
    """An agent claims one voucher of a first-come batch on behalf of a citizen who is present
    (the proof is checked first; a retry of the same act within its window needs none)."""
    if key is not None:
        claims.check_key(key)
    facts = cache.facts(db, batch_id)
    now = clock.now()
    with db.read() as tx:
        _agent_only(agent, _program_issuer(tx, facts.program_id))
        replay = (
            claims.find_replay(tx, citizen_id, key, batch_id, Channel.ASSISTED) if key else None
        )
        retried = replay is not None and assisted_acts.in_own_act(tx, now, agent, replay.id)
    if facts.rules.allocation is not Allocation.FCFS:
        raise QuanError(WRONG_ALLOCATION, allocation=facts.rules.allocation.value)
    if now >= facts.rules.claim_closes_at:
        raise QuanError(CLAIM_WINDOW_OVER, claim_closes_at=facts.rules.claim_closes_at.isoformat())
    if replay is not None and retried:
        return claims.ClaimOutcome(replay, replayed=True)
    assisted_acts.prove(db, now, keys, throttle, citizen_id, proof)
    attempts = facts.rules.per_citizen_limit + 1
    for attempt in range(attempts):
        try:
            with db.write() as tx:
                outcome = claims.claim(
                    tx, now, citizen_id, facts, key=key, channel=Channel.ASSISTED, cache=cache
                )
                if not outcome.replayed:
                    assisted_acts.record_act(tx, now, agent, outcome.voucher.id)
                    record_event(
                        tx,
                        type="voucher.assisted_issued",
                        actor=agent,
                        subject_type="voucher",
                        subject_id=outcome.voucher.id,
                        program_id=facts.program_id,
                        at=now,
                        payload={
                            "batch_id": batch_id,
                            "citizen_id": citizen_id,
                            "channel": Channel.ASSISTED.value,
                        },
                    )
                return outcome
        except IntegrityError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


# --- the printable voucher ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Printable:
    voucher_id: str
    code: str
    qr_payload: str
    program_name: str
    value_text: str  # "¥30.00" or "30% off, up to ¥50.00" (ASCII but for ¥)
    min_spend_text: str  # "min. spend ¥100.00" or ""
    valid_text: str  # "2026-11-25 - 2026-12-24" in the program's time zone


def yuan(fen: int) -> str:
    return f"¥{fen // 100}.{fen % 100:02d}"


def printable(tx: Connection, now: datetime, actor: Actor, voucher_id: str) -> Printable:
    """The print of an assisted act: only its agent, within its window and print limit;
    records ``voucher.printed``."""
    row = _voucher(tx, voucher_id)
    _agent_only(actor, row.issuer_id)
    if row.citizen_id is None or row.valid_from is None:
        raise QuanError(VOUCHER_NOT_ISSUED)
    assisted_acts.take_print(tx, now, actor, voucher_id)
    record_event(
        tx,
        type="voucher.printed",
        actor=actor,
        subject_type="voucher",
        subject_id=row.id,
        program_id=row.program_id,
        at=now,
        payload={},
    )
    return _printable(row)


def reprint(
    db: Database,
    clock: Clock,
    agent: Actor,
    voucher_id: str,
    *,
    keys: CitizenKeys,
    throttle: Throttle,
    proof: Presence,
    reason: ReprintReason,
) -> Printable:
    """A copy after the act's window: the holder present again, a reason, at most
    ``MAX_REPRINTS``; a ``voucher.reprinted`` event and a log line."""
    now = clock.now()
    with db.read() as tx:
        row = _voucher(tx, voucher_id)
    _agent_only(agent, row.issuer_id)
    if row.citizen_id is None or row.valid_from is None:
        raise QuanError(VOUCHER_NOT_ISSUED)
    assisted_acts.prove(db, now, keys, throttle, row.citizen_id, proof)
    with db.write() as tx:
        assisted_acts.take_reprint(tx, now, agent, voucher_id, row.program_id, reason)
    return _printable(row)


def _voucher(tx: Connection, voucher_id: str) -> Any:
    row = tx.execute(
        select(
            vouchers.c.id,
            vouchers.c.code,
            vouchers.c.citizen_id,
            vouchers.c.program_id,
            vouchers.c.valid_from,
            vouchers.c.valid_until,
            programs.c.name.label("program_name"),
            programs.c.issuer_id,
            programs.c.timezone,
            voucher_types.c.kind,
            voucher_types.c.face_value_fen,
            voucher_types.c.percent_off,
            voucher_types.c.cap_fen,
            voucher_types.c.min_spend_fen,
        )
        .select_from(
            vouchers.join(programs, programs.c.id == vouchers.c.program_id).join(
                voucher_types, voucher_types.c.id == vouchers.c.voucher_type_id
            )
        )
        .where(vouchers.c.id == voucher_id)
    ).first()
    if row is None:
        raise QuanError(NOT_FOUND, what=f"voucher {voucher_id}")
    return row


def _printable(row: Any) -> Printable:
    if row.kind == "fixed":
        value = yuan(int(row.face_value_fen))
    else:
        value = f"{row.percent_off}% off, up to {yuan(int(row.cap_fen))}"
    min_spend = f"min. spend {yuan(int(row.min_spend_fen))}" if row.min_spend_fen else ""
    first = local_date(row.valid_from, row.timezone).isoformat()
    last = local_date(row.valid_until, row.timezone).isoformat()
    return Printable(
        voucher_id=row.id,
        code=row.code,
        qr_payload=row.code,  # as the wallet's QR (quan.services.issuance.wallet.qr_payload)
        program_name=row.program_name,
        value_text=value,
        min_spend_text=min_spend,
        valid_text=f"{first} - {last}",
    )


def _matrix(payload: str) -> list[list[bool]]:
    qr = segno.make(payload, error="m", micro=False)
    return [[bool(m) for m in row] for row in qr.matrix_iter(scale=1, border=4)]


# --- PDF --------------------------------------------------------------------------------------


def _pdf_text(text: str) -> bytes:
    """A PDF literal string in WinAnsiEncoding (ASCII and ¥ only reach here)."""
    out = bytearray(b"(")
    for ch in text:
        byte = 0xA5 if ch == "¥" else ord(ch) if ord(ch) < 128 else ord("?")
        if chr(byte) in "()\\":
            out += b"\\"
        out += bytes([byte]) if 32 <= byte < 127 else f"\\{byte:03o}".encode()
    return bytes(out + b")")


def render_pdf(p: Printable) -> bytes:
    """A one-page PDF (A6 portrait) composed by hand: no PDF library needed."""
    width, height = 298, 420
    matrix = _matrix(p.qr_payload)
    modules = len(matrix)
    size = 200.0
    unit = size / modules
    x0, y0 = (width - size) / 2, height - 40 - size
    ops: list[bytes] = [b"0 g"]
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                x, y = x0 + c * unit, y0 + (modules - 1 - r) * unit
                ops.append(f"{x:.2f} {y:.2f} {unit:.2f} {unit:.2f} re".encode())
    ops.append(b"f")
    name_hex = p.program_name.encode("utf-16-be").hex().upper().encode()
    ops.append(b"BT /F2 14 Tf 24 392 Td <" + name_hex + b"> Tj ET")
    lines = [
        (b"/F1 16 Tf", p.code, y0 - 24),
        (b"/F1 14 Tf", p.value_text, y0 - 46),
        (b"/F1 10 Tf", p.min_spend_text, y0 - 62),
        (b"/F1 10 Tf", f"valid {p.valid_text}", y0 - 78),
    ]
    for font, text, y in lines:
        if text:
            ops.append(b"BT " + font + f" 24 {y:.2f} Td ".encode() + _pdf_text(text) + b" Tj ET")
    content = b"\n".join(ops)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width} {height}] "
        "/Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 7 0 R >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H "
        b"/DescendantFonts [6 0 R] >>",
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> >>",
        b"<< /Length " + str(len(content)).encode() + b" >>\nstream\n" + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)


# --- PNG --------------------------------------------------------------------------------------

# A classic 5×7 font: five column bytes per glyph, bit 0 at the top.
_FONT: dict[str, tuple[int, ...]] = {
    " ": (0, 0, 0, 0, 0),
    "0": (0x3E, 0x51, 0x49, 0x45, 0x3E),
    "1": (0x00, 0x42, 0x7F, 0x40, 0x00),
    "2": (0x42, 0x61, 0x51, 0x49, 0x46),
    "3": (0x21, 0x41, 0x45, 0x4B, 0x31),
    "4": (0x18, 0x14, 0x12, 0x7F, 0x10),
    "5": (0x27, 0x45, 0x45, 0x45, 0x39),
    "6": (0x3C, 0x4A, 0x49, 0x49, 0x30),
    "7": (0x01, 0x71, 0x09, 0x05, 0x03),
    "8": (0x36, 0x49, 0x49, 0x49, 0x36),
    "9": (0x06, 0x49, 0x49, 0x29, 0x1E),
    "A": (0x7E, 0x11, 0x11, 0x11, 0x7E),
    "B": (0x7F, 0x49, 0x49, 0x49, 0x36),
    "C": (0x3E, 0x41, 0x41, 0x41, 0x22),
    "D": (0x7F, 0x41, 0x41, 0x22, 0x1C),
    "E": (0x7F, 0x49, 0x49, 0x49, 0x41),
    "F": (0x7F, 0x09, 0x09, 0x01, 0x01),
    "G": (0x3E, 0x41, 0x41, 0x51, 0x32),
    "H": (0x7F, 0x08, 0x08, 0x08, 0x7F),
    "I": (0x00, 0x41, 0x7F, 0x41, 0x00),
    "J": (0x20, 0x40, 0x41, 0x3F, 0x01),
    "K": (0x7F, 0x08, 0x14, 0x22, 0x41),
    "L": (0x7F, 0x40, 0x40, 0x40, 0x40),
    "M": (0x7F, 0x02, 0x04, 0x02, 0x7F),
    "N": (0x7F, 0x04, 0x08, 0x10, 0x7F),
    "O": (0x3E, 0x41, 0x41, 0x41, 0x3E),
    "P": (0x7F, 0x09, 0x09, 0x09, 0x06),
    "Q": (0x3E, 0x41, 0x51, 0x21, 0x5E),
    "R": (0x7F, 0x09, 0x19, 0x29, 0x46),
    "S": (0x46, 0x49, 0x49, 0x49, 0x31),
    "T": (0x01, 0x01, 0x7F, 0x01, 0x01),
    "U": (0x3F, 0x40, 0x40, 0x40, 0x3F),
    "V": (0x1F, 0x20, 0x40, 0x20, 0x1F),
    "W": (0x7F, 0x20, 0x18, 0x20, 0x7F),
    "X": (0x63, 0x14, 0x08, 0x14, 0x63),
    "Y": (0x07, 0x08, 0x70, 0x08, 0x07),
    "Z": (0x61, 0x51, 0x49, 0x45, 0x43),
    "-": (0x08, 0x08, 0x08, 0x08, 0x08),
    ".": (0x00, 0x60, 0x60, 0x00, 0x00),
    ":": (0x00, 0x36, 0x36, 0x00, 0x00),
    "/": (0x20, 0x10, 0x08, 0x04, 0x02),
    ",": (0x00, 0x50, 0x30, 0x00, 0x00),
    "%": (0x23, 0x13, 0x08, 0x64, 0x62),
    "¥": (0x15, 0x16, 0x7C, 0x16, 0x15),
}
_GLYPH_SCALE = 3
_ADVANCE = 6 * _GLYPH_SCALE
_LINE = 10 * _GLYPH_SCALE


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def render_png(p: Printable) -> bytes:
    """An 8-bit greyscale PNG: the QR (8 px a module, 4-module quiet zone) above three lines —
    the code, the value, the validity — in a 5×7 pixel font at 3×."""
    matrix = _matrix(p.qr_payload)
    scale = 8
    qr_px = len(matrix) * scale
    lines = [p.code, p.value_text.upper(), p.valid_text]
    margin = 24
    width = max(qr_px, max(len(t) for t in lines) * _ADVANCE + 2 * margin)
    height = qr_px + len(lines) * _LINE + margin
    pixels = [bytearray(b"\xff" * width) for _ in range(height)]
    left = (width - qr_px) // 2
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                for dy in range(scale):
                    line = pixels[r * scale + dy]
                    start = left + c * scale
                    line[start : start + scale] = b"\x00" * scale
    for n, text in enumerate(lines):
        x = (width - len(text) * _ADVANCE) // 2
        y = qr_px + n * _LINE
        for ch in text:
            for col, bits in enumerate(_FONT.get(ch, _FONT[" "])):
                for bit in range(7):
                    if bits >> bit & 1:
                        for dy in range(_GLYPH_SCALE):
                            row_px = pixels[y + bit * _GLYPH_SCALE + dy]
                            start = x + col * _GLYPH_SCALE
                            row_px[start : start + _GLYPH_SCALE] = b"\x00" * _GLYPH_SCALE
            x += _ADVANCE
    raw = b"".join(b"\x00" + bytes(row) for row in pixels)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    title = b"Title\x00\x00\x00\x00\x00" + p.program_name.encode("utf-8")
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"iTXt", title)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


def render(p: Printable, fmt: str) -> tuple[bytes, str]:
    if fmt == "pdf":
        return render_pdf(p), "application/pdf"
    return render_png(p), "image/png"
