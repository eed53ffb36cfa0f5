"""What one transparency-log entry is: the leaf bytes of an event, and the personal-data guard.

A leaf is the event's public projection (:mod:`quan.domain.public_leaf`: the payload keys its
type discloses, citizens as per-program pseudonyms) as canonical JSON (sorted keys, no
insignificant whitespace, UTF-8; see :mod:`quan.domain.canonical`), format version 2 (version 1,
the event unprojected, is kept for entries appended before the change)::

    {"actor": "staff:usr_…", "event_id": 42, "occurred_at": "2026-11-25T02:00:00.000000Z",
     "payload": {…}, "program_id": "prg_…" | null, "subject": {"id": "prg_…", "type": "program"},
     "type": "program.created", "v": 2}

``occurred_at`` is UTC with exactly six fractional digits and a ``Z``, so both databases give the
same bytes. The leaf is a pure function of the event row and the pseudonym key, which is what lets
the server recompute it from the append-only ``events`` table and lets the log vouch for that table.

Personal data never enters a leaf in clear. Events are supposed to carry ids, amounts and codes
only; this module is the defence for when one does not. Before encoding, the payload (and the
subject id) is walked and these values are replaced by a keyed pseudonym ``psn:<32 hex>``:

- any value under a key that names personal data: ``phone``, ``mobile``, ``email``, ``address``,
  ``resident_id``, ``id_number``, ``id_card``, ``real_name``, ``birth_date``, ``bank_account``…
  (matched on whole words of the key, so ``contact_phone`` and ``citizen_id_number`` count and
  ``microphone`` does not);
- ``name`` (and ``display_name``) when it names a person: the event's subject is a citizen, or the
  value sits under a key such as ``citizen``, ``holder`` or ``recipient``;
- any string that looks like a mainland mobile number, a resident ID number (checked with its
  ISO 7064 check character) or an e-mail address, whatever its key.

Names of programs, issuers, funders and merchants are public facts and stay in clear. The
pseudonym is HMAC-SHA256 under a key derived from the platform's personal-data key, so it links
equal values without revealing them and cannot be reversed by enumerating phone numbers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Final

from quan.domain.canonical import canonical_bytes
from quan.domain.public_leaf import PublicView
from quan.domain.resident_id import check_character

LEAF_VERSION: Final = 2
"""Leaves of events appended from now on: the public projection (citizens pseudonymised)."""
LEGACY_VERSION: Final = 1
"""Leaves of entries appended before format 2: the event as stored, served unchanged so that
their hashes (which every verifier holds) still match."""

PSEUDONYM_PREFIX: Final = "psn:"

# Whole words (split on "_") that make a key personal wherever they appear in it.
_PERSONAL_WORDS: Final = frozenset(
    {"phone", "mobile", "telephone", "tel", "email", "address", "passport", "birthday"}
)
# Word sequences that make a key personal: "resident_id", "citizen_id_number", "bank_account"…
_PERSONAL_PHRASES: Final = (
    ("resident", "id"),
    ("id", "number"),
    ("id", "card"),
    ("identity", "number"),
    ("real", "name"),
    ("full", "name"),
    ("legal", "name"),
    ("citizen", "name"),
    ("birth", "date"),
    ("date", "of", "birth"),
    ("bank", "account"),
    ("bank", "card"),
)
# "name" is personal only for people; these subjects and enclosing keys are people.
PERSON_SUBJECTS: Final = frozenset({"citizen"})
_PERSON_WORDS: Final = frozenset(
    {"citizen", "resident", "person", "holder", "recipient", "contact"}
)
_NAME_KEYS: Final = frozenset({"name", "display_name", "nickname"})

# One pass over a string: a mainland mobile number, a resident ID number (group 1, checked below
# with its check character) or an e-mail address.
_PERSONAL_VALUE = re.compile(
    r"(?:\+?86[ -]?)?1[3-9][0-9]{9}|([0-9]{17}[0-9Xx])|[^@\s]+@[^@\s]+\.[^@\s]+"
)
_DIGIT_OR_PLUS = frozenset("+0123456789")

Pseudonymize = Callable[[Any], str]
"""Maps a personal value to its pseudonym."""


@dataclass(frozen=True, slots=True)
class LogEvent:
    """The fields of an event row that make up its leaf (``payload`` already parsed)."""

    id: int
    type: str
    actor: str
    subject_type: str
    subject_id: str
    program_id: str | None
    payload: Mapping[str, Any]
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class Leaf:
    """Leaf bytes plus the payload paths the guard pseudonymised (paths only, never values)."""

    data: bytes
    pseudonymised: tuple[str, ...] = ()


class Pseudonymizer:
    """Keyed pseudonyms for personal values: ``psn:`` + 32 hex digits of HMAC-SHA256; and, as
    :attr:`public`, the projection of events onto format-2 leaves (keyed by ``master``, the
    personal-data key, so that its citizen pseudonyms are the lottery's)."""

    def __init__(self, key: bytes, master: bytes | None = None) -> None:
        if len(key) < 16:
            raise ValueError("the pseudonym key must have at least 16 bytes")
        self._key = key
        self.public = PublicView(key if master is None else master)

    def __call__(self, value: Any) -> str:
        text = value if isinstance(value, str) else canonical_bytes(value).decode("utf-8")
        digest = hmac.new(self._key, text.encode("utf-8"), hashlib.sha256).hexdigest()
        return PSEUDONYM_PREFIX + digest[:32]


def format_time(at: datetime) -> str:
    """``occurred_at`` as leaves write it: UTC, microseconds, ``Z``."""
    if at.tzinfo is None:
        raise ValueError("leaf times must be timezone-aware")
    if at.tzinfo is not UTC:  # the store already answers UTC; convert anything else
        at = at.astimezone(UTC)
    return at.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


# Leaves are assembled around the payload rather than by dumping one document: the result is
# byte for byte canonical_bytes() of the document (a unit test holds that), at half the cost,
# which matters at tens of thousands of events per second.
_string = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) writes for a str
_payload_json: Callable[[Any], str] = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False
).encode


def _type_error(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_c_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
if _c_make_encoder is not None:  # pragma: no branch - CPython ships the accelerator
    # The C encoder JSONEncoder.encode builds on every call, built once: the same bytes (it is
    # what json.dumps runs), without rebuilding it per leaf. No circular-reference markers: a
    # payload parsed from JSON cannot contain a cycle.
    _c_payload = _c_make_encoder(None, _type_error, _string, None, ":", ",", True, False, True)

    def _payload_json_fast(payload: Any) -> str:
        return "".join(_c_payload(payload, 0))

    _payload_json = _payload_json_fast


def encode_leaf(
    event: LogEvent, pseudonymize: Pseudonymize, version: int = LEAF_VERSION
) -> Leaf:
    """The leaf of ``event`` in format ``version``, with any personal data pseudonymised."""
    touched: list[str] = []
    data = leaf_bytes(
        event.id,
        event.type,
        event.actor,
        event.subject_type,
        event.subject_id,
        event.program_id,
        event.payload,
        format_time(event.occurred_at),
        pseudonymize,
        touched,
        version,
    )
    return Leaf(data, tuple(touched))


def leaf_bytes(
    event_id: int,
    type_: str,
    actor: str,
    subject_type: str,
    subject_id: str,
    program_id: str | None,
    payload: Mapping[str, Any],
    occurred_at: str,
    pseudonymize: Pseudonymize,
    touched: list[str],
    version: int = LEAF_VERSION,
) -> bytes:
    """:func:`encode_leaf` from the event's fields, for the sequencer's hot loop.

    ``occurred_at`` is already formatted (:func:`format_time`); the paths of pseudonymised values
    are appended to ``touched``.
    """
    if version != LEGACY_VERSION:
        actor, subject_id, payload = _public(pseudonymize).project(
            event_id, type_, actor, subject_type, subject_id, program_id, payload
        )
    cleaned = _clean(payload, "payload", subject_type in PERSON_SUBJECTS, pseudonymize, touched)
    if looks_personal(subject_id):
        subject_id = pseudonymize(subject_id)
        touched.append("subject.id")
    program = "null" if program_id is None else _string(program_id)
    # Keys in sorted order: actor, event_id, occurred_at, payload, program_id, subject, type, v.
    return (
        f'{{"actor":{_string(actor)},"event_id":{int(event_id)},'
        f'"occurred_at":"{occurred_at}","payload":{_payload_json(cleaned)},'
        f'"program_id":{program},'
        f'"subject":{{"id":{_string(subject_id)},"type":{_string(subject_type)}}},'
        f'"type":{_string(type_)},"v":{int(version)}}}'
    ).encode()


def _public(pseudonymize: Pseudonymize) -> PublicView:
    public = getattr(pseudonymize, "public", None)
    if not isinstance(public, PublicView):
        raise TypeError("format-2 leaves need a Pseudonymizer (with its public view)")
    return public


def leaf_document(
    event: LogEvent, pseudonymize: Pseudonymize, version: int = LEAF_VERSION
) -> dict[str, Any]:
    """The leaf as a document: what :func:`encode_leaf` writes, before encoding."""
    actor, subject_id, projected = event.actor, event.subject_id, event.payload
    if version != LEGACY_VERSION:
        actor, subject_id, projected = _public(pseudonymize).project(
            event.id,
            event.type,
            event.actor,
            event.subject_type,
            event.subject_id,
            event.program_id,
            event.payload,
        )
    payload, _ = clean_payload(projected, event.subject_type, pseudonymize)
    if looks_personal(subject_id):
        subject_id = pseudonymize(subject_id)
    return {
        "v": version,
        "event_id": event.id,
        "type": event.type,
        "actor": actor,
        "subject": {"type": event.subject_type, "id": subject_id},
        "program_id": event.program_id,
        "payload": payload,
        "occurred_at": format_time(event.occurred_at),
    }


def public_payload(
    type_: str,
    subject_type: str,
    program_id: str | None,
    payload: Mapping[str, Any],
    pseudonymize: Pseudonymize,
    event_id: int = 0,
) -> dict[str, Any]:
    """The payload as a format-2 leaf shows it (for public pages that quote events)."""
    _, _, projected = _public(pseudonymize).project(
        event_id, type_, "", subject_type, "", program_id, payload
    )
    return clean_payload(projected, subject_type, pseudonymize)[0]


def clean_payload(
    payload: Mapping[str, Any], subject_type: str, pseudonymize: Pseudonymize
) -> tuple[dict[str, Any], list[str]]:
    """``payload`` with personal values pseudonymised, and the paths that were (never values)."""
    touched: list[str] = []
    cleaned = _clean(payload, "payload", subject_type in PERSON_SUBJECTS, pseudonymize, touched)
    return cleaned, touched


def looks_personal(value: str) -> bool:
    """Whether a string looks like a mobile number, a resident ID number or an e-mail address."""
    # Most strings are ids ("prg_…") or codes: rule them out before running the expression.
    if len(value) > 254 or not value or ("@" not in value and value[0] not in _DIGIT_OR_PLUS):
        return False
    match = _PERSONAL_VALUE.fullmatch(value)
    if match is None:
        return False
    number = match.group(1)
    return number is None or check_character(number[:17]) == number[17].upper()


@lru_cache(maxsize=4096)
def _words(key: str) -> tuple[str, ...]:
    return tuple(word for word in re.split(r"[^a-z0-9]+", key.lower()) if word)


@lru_cache(maxsize=4096)
def is_personal_key(key: str) -> bool:
    """Whether ``key`` names personal data wherever it appears (``name`` excepted, see above)."""
    words = _words(key)
    if any(word in _PERSONAL_WORDS for word in words):
        return True
    return any(_contains(words, phrase) for phrase in _PERSONAL_PHRASES)


def _contains(words: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    width = len(phrase)
    return any(words[i : i + width] == phrase for i in range(len(words) - width + 1))


_SCALARS: Final = frozenset({int, float, bool})


@lru_cache(maxsize=4096)
def _plain_keys(keys: tuple[Any, ...], in_person: bool) -> bool:
    """Whether none of ``keys`` marks its value as personal (in a person's context or not)."""
    return all(
        type(key) is str and not is_personal_key(key) and not (in_person and key in _NAME_KEYS)
        for key in keys
    )


@lru_cache(maxsize=4096)
def _is_person_key(key: str) -> bool:
    return any(word in _PERSON_WORDS for word in _words(key))


def _clean(
    value: Any, path: str, in_person: bool, pseudonymize: Pseudonymize, touched: list[str]
) -> Any:
    # Hot path of the sequencer: child paths are only built when something is found or entered.
    if type(value) is dict and _plain_keys(tuple(value), in_person):
        # The common event: a flat payload under keys that name nothing personal. Only its
        # strings can still be personal; anything else takes the general walk below.
        for item in value.values():
            kind = type(item)
            if kind is str:
                if looks_personal(item):
                    break
            elif item is not None and kind not in _SCALARS:
                break
        else:
            return dict(value)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            key = str(key)
            if item is None:
                out[key] = None
            elif is_personal_key(key) or (in_person and key in _NAME_KEYS):
                out[key] = pseudonymize(item)
                touched.append(f"{path}.{key}")
            elif isinstance(item, str):
                if looks_personal(item):
                    out[key] = pseudonymize(item)
                    touched.append(f"{path}.{key}")
                else:
                    out[key] = item
            elif isinstance(item, Mapping | list):
                child_in_person = in_person or _is_person_key(key)
                out[key] = _clean(item, f"{path}.{key}", child_in_person, pseudonymize, touched)
            else:
                out[key] = item
        return out
    if isinstance(value, list):
        return [
            _clean(item, f"{path}[{i}]", in_person, pseudonymize, touched)
            for i, item in enumerate(value)
        ]
    if isinstance(value, str) and looks_personal(value):
        touched.append(path)
        return pseudonymize(value)
    return value
