"""Rules of signed checkpoints: C2SP signed-note interop, round trips, and refusing forgeries."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from quan.domain.checkpoint import (
    MAX_SIGNATURES,
    Checkpoint,
    CheckpointError,
    format_body,
    format_signer_key,
    format_verifier_key,
    key_id,
    open_note,
    parse_and_verify,
    parse_body,
    parse_signer_key,
    parse_verifier_key,
    sign_checkpoint,
    sign_note,
)
from quan.domain.merkle import EMPTY_ROOT, leaf_hash

ORIGIN = "quan.example/log/v1"
ROOT = leaf_hash(b"root")

# Reference vector of Go's golang.org/x/mod/sumdb/note (package documentation and tests).
GO_SIGNER_KEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT
    + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqf"
    + "qdngotpRZb6KE6RyyBwJnAM=\n"
)


@pytest.fixture(scope="module")
def private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


@pytest.fixture(scope="module")
def signed(private_key: Ed25519PrivateKey) -> str:
    return sign_checkpoint(Checkpoint(ORIGIN, 12345, ROOT), ORIGIN, private_key)


def _replace_signature_line(note: str, new_line: str) -> str:
    head, _, _ = note.rstrip("\n").rpartition("\n")
    return f"{head}\n{new_line}\n"


# --- interoperability with the Go reference --------------------------------------------------


def test_signing_reproduces_the_go_note_reference_byte_for_byte() -> None:
    name, private_key = parse_signer_key(GO_SIGNER_KEY)
    assert name == "PeterNeumann"
    # Ed25519 is deterministic (RFC 8032), so the signature must match exactly.
    assert sign_note(GO_TEXT, name, private_key) == GO_NOTE
    assert format_signer_key(name, private_key) == GO_SIGNER_KEY
    assert format_verifier_key(name, private_key.public_key()) == GO_VERIFIER_KEY


def test_go_reference_note_opens_with_its_verifier_key() -> None:
    name, public_key = parse_verifier_key(GO_VERIFIER_KEY)
    assert key_id(name, public_key) == 0xC74F20A3
    assert open_note(GO_NOTE, name, public_key) == GO_TEXT
    assert open_note(GO_NOTE.encode(), name, public_key) == GO_TEXT
    with pytest.raises(CheckpointError, match="does not verify"):
        open_note(GO_NOTE.replace("cryptography", "cryptographY"), name, public_key)


def test_verifier_key_whose_base64_contains_plus_is_read() -> None:
    # From transparency-dev/formats tests: the key material itself contains a '+'.
    key = "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"
    name, public_key = parse_verifier_key(key)
    assert name == "TEST"
    assert format_verifier_key(name, public_key) == key


# --- round trip --------------------------------------------------------------------------------


def test_checkpoint_text_has_the_c2sp_layout(signed: str, private_key: Ed25519PrivateKey) -> None:
    body = f"{ORIGIN}\n12345\n{base64.b64encode(ROOT).decode()}\n"
    assert format_body(Checkpoint(ORIGIN, 12345, ROOT)) == body
    assert signed.startswith(body + "\n— " + ORIGIN + " ")
    assert signed.endswith("\n")
    blob = base64.b64decode(signed.rstrip("\n").rsplit(" ", 1)[1])
    assert len(blob) == 4 + 64
    assert int.from_bytes(blob[:4], "big") == key_id(ORIGIN, private_key.public_key())


def test_signed_checkpoint_round_trips(signed: str, private_key: Ed25519PrivateKey) -> None:
    checkpoint = parse_and_verify(signed, ORIGIN, private_key.public_key(), origin=ORIGIN)
    assert checkpoint == Checkpoint(ORIGIN, 12345, ROOT)


def test_empty_tree_and_extension_lines_round_trip(private_key: Ed25519PrivateKey) -> None:
    for checkpoint in (
        Checkpoint(ORIGIN, 0, EMPTY_ROOT),
        Checkpoint(ORIGIN, 7, ROOT, extensions=("ext one", "ext two")),
    ):
        text = sign_checkpoint(checkpoint, ORIGIN, private_key)
        assert parse_and_verify(text, ORIGIN, private_key.public_key()) == checkpoint
        assert parse_body(format_body(checkpoint)) == checkpoint


def test_key_strings_round_trip(private_key: Ed25519PrivateKey) -> None:
    vkey = format_verifier_key(ORIGIN, private_key.public_key())
    name, public_key = parse_verifier_key(vkey)
    assert name == ORIGIN
    assert public_key.public_bytes_raw() == private_key.public_key().public_bytes_raw()
    name, parsed_private = parse_signer_key(format_signer_key(ORIGIN, private_key))
    assert name == ORIGIN
    assert parsed_private.private_bytes_raw() == private_key.private_bytes_raw()


def test_other_signatures_are_ignored_when_ours_verifies(
    signed: str, private_key: Ed25519PrivateKey
) -> None:
    witness = Ed25519PrivateKey.from_private_bytes(bytes([7]) * 32)
    cosigned_line = sign_note(format_body(Checkpoint(ORIGIN, 12345, ROOT)), "witness", witness)
    text = signed + cosigned_line.rsplit("\n\n", 1)[1]
    assert parse_and_verify(text, ORIGIN, private_key.public_key()).size == 12345
    assert parse_and_verify(text, "witness", witness.public_key()).size == 12345


# --- tampering and wrong keys ------------------------------------------------------------------


def test_tampered_size_is_refused(signed: str, private_key: Ed25519PrivateKey) -> None:
    with pytest.raises(CheckpointError, match="does not verify"):
        parse_and_verify(signed.replace("\n12345\n", "\n12346\n"), ORIGIN, private_key.public_key())


def test_tampered_root_is_refused(signed: str, private_key: Ed25519PrivateKey) -> None:
    other_root = base64.b64encode(leaf_hash(b"other")).decode()
    tampered = signed.replace(base64.b64encode(ROOT).decode(), other_root)
    with pytest.raises(CheckpointError, match="does not verify"):
        parse_and_verify(tampered, ORIGIN, private_key.public_key())


def test_tampered_origin_is_refused(signed: str, private_key: Ed25519PrivateKey) -> None:
    tampered = "quan.example/log/v2" + signed[len(ORIGIN) :]
    with pytest.raises(CheckpointError, match="does not verify"):
        parse_and_verify(tampered, ORIGIN, private_key.public_key())


def test_tampered_signature_is_refused(signed: str, private_key: Ed25519PrivateKey) -> None:
    blob = bytearray(base64.b64decode(signed.rstrip("\n").rsplit(" ", 1)[1]))
    blob[-1] ^= 0x01
    line = f"— {ORIGIN} {base64.b64encode(bytes(blob)).decode()}"
    with pytest.raises(CheckpointError, match="does not verify"):
        parse_and_verify(_replace_signature_line(signed, line), ORIGIN, private_key.public_key())


def test_signature_from_a_different_key_is_refused(signed: str) -> None:
    stranger = Ed25519PrivateKey.from_private_bytes(bytes([9]) * 32).public_key()
    with pytest.raises(CheckpointError, match="no signature by key"):
        parse_and_verify(signed, ORIGIN, stranger)


def test_signature_under_a_different_key_name_is_refused(
    signed: str, private_key: Ed25519PrivateKey
) -> None:
    with pytest.raises(CheckpointError, match="no signature by key"):
        parse_and_verify(signed, "quan.example/other", private_key.public_key())


def test_checkpoint_for_another_log_is_refused(private_key: Ed25519PrivateKey) -> None:
    text = sign_checkpoint(Checkpoint("elsewhere.example/log", 3, ROOT), ORIGIN, private_key)
    with pytest.raises(CheckpointError, match="expected"):
        parse_and_verify(text, ORIGIN, private_key.public_key(), origin=ORIGIN)


# --- malformed text ----------------------------------------------------------------------------


def _signed_text(body: str, private_key: Ed25519PrivateKey) -> str:
    return sign_note(body, ORIGIN, private_key)


ROOT_B64 = base64.b64encode(ROOT).decode()


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(f"{ORIGIN}\n12345\n", id="missing-root-line"),
        pytest.param(f"{ORIGIN}\n012\n{ROOT_B64}\n", id="size-with-leading-zero"),
        pytest.param(f"{ORIGIN}\n-1\n{ROOT_B64}\n", id="negative-size"),
        pytest.param(f"{ORIGIN}\n１２\n{ROOT_B64}\n", id="non-ascii-digits"),
        pytest.param(f"{ORIGIN}\n 12\n{ROOT_B64}\n", id="size-with-space"),
        pytest.param(f"{ORIGIN}\n{2**64}\n{ROOT_B64}\n", id="size-beyond-uint64"),
        pytest.param(f"{ORIGIN}\n12\n{ROOT_B64[:-4]}\n", id="short-root"),
        pytest.param(f"{ORIGIN}\n12\n{ROOT_B64.rstrip('=')}\n", id="unpadded-root"),
        pytest.param(f"{ORIGIN}\n12\n!{ROOT_B64[1:]}\n", id="root-not-base64"),
        pytest.param(f"\n12\n{ROOT_B64}\n", id="empty-origin"),
        pytest.param(f"{ORIGIN}\n12\n{ROOT_B64}\nextension\n\ttab\n", id="control-character"),
    ],
)
def test_malformed_checkpoint_body_is_refused_even_when_signed(
    body: str, private_key: Ed25519PrivateKey
) -> None:
    if "\t" in body:
        # sign_note refuses control characters itself; build the note by hand.
        key = private_key.public_key()
        blob = key_id(ORIGIN, key).to_bytes(4, "big") + private_key.sign(body.encode())
        text = f"{body}\n— {ORIGIN} {base64.b64encode(blob).decode()}\n"
    else:
        text = _signed_text(body, private_key)
    with pytest.raises(CheckpointError):
        parse_and_verify(text, ORIGIN, private_key.public_key())


def test_non_canonical_root_encoding_is_refused() -> None:
    # The last base64 digit carries 2 unused bits; setting them keeps the bytes but not the text.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = ROOT_B64[-2]
    odd = ROOT_B64[:-2] + alphabet[alphabet.index(last) ^ 1] + "="
    assert base64.b64decode(odd) == ROOT
    with pytest.raises(CheckpointError, match="base64 of 32 bytes"):
        parse_body(f"{ORIGIN}\n12\n{odd}\n")


def test_empty_extension_line_is_refused() -> None:
    with pytest.raises(CheckpointError):
        parse_body(f"{ORIGIN}\n12\n{ROOT_B64}\n\nextension\n")


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda s: s.replace("\n\n", "\n"), id="no-blank-line"),
        pytest.param(lambda s: s.rstrip("\n"), id="no-final-newline"),
        pytest.param(lambda s: s.split("\n\n")[0] + "\n\n", id="no-signatures"),
        pytest.param(lambda s: s.replace("— ", "- "), id="hyphen-instead-of-em-dash"),
        pytest.param(lambda s: s.replace("— ", "—"), id="no-space-after-dash"),
        pytest.param(lambda s: s.replace(" ", "  ", 1), id="double-space"),
        pytest.param(lambda s: s[:-3] + "!!\n", id="signature-not-base64"),
        pytest.param(lambda s: s.rsplit(" ", 1)[0] + " AAAA\n", id="signature-too-short"),
        pytest.param(lambda s: s.replace("\n12345\n", "\n12345\r\n"), id="carriage-return"),
        pytest.param(lambda s: s + "trailing garbage\n", id="garbage-line-after-signature"),
        pytest.param(lambda s: "", id="empty"),
    ],
)
def test_malformed_signed_note_is_refused(
    signed: str, private_key: Ed25519PrivateKey, mangle: object
) -> None:
    assert callable(mangle)
    with pytest.raises(CheckpointError):
        parse_and_verify(mangle(signed), ORIGIN, private_key.public_key())


def test_invalid_utf8_is_refused(signed: str, private_key: Ed25519PrivateKey) -> None:
    with pytest.raises(CheckpointError, match="UTF-8"):
        parse_and_verify(b"\xff" + signed.encode(), ORIGIN, private_key.public_key())


def test_too_many_signatures_are_refused(signed: str, private_key: Ed25519PrivateKey) -> None:
    extra = signed.rsplit("\n\n", 1)[1] * MAX_SIGNATURES
    with pytest.raises(CheckpointError, match="more than"):
        parse_and_verify(signed + extra, ORIGIN, private_key.public_key())


GO_KEY_MATERIAL = "ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("PeterNeumann+c74f20a3", id="missing-key"),
        pytest.param(f"PeterNeumann+c74f20a4+{GO_KEY_MATERIAL}", id="wrong-id"),
        pytest.param(f"PeterNeumanN+c74f20a3+{GO_KEY_MATERIAL}", id="wrong-name"),
        pytest.param(f"PeterNeumann+c74f20a+{GO_KEY_MATERIAL}", id="short-id"),
        pytest.param(f"PeterNeumann+c74f20a3+{GO_KEY_MATERIAL[2:]}", id="truncated-key"),
        pytest.param(f"PeterNeumann+c74f20a3+Al{GO_KEY_MATERIAL[2:]}", id="not-ed25519-type"),
        pytest.param(f"+c74f20a3+{GO_KEY_MATERIAL}", id="empty-name"),
        pytest.param(f"Peter Neumann+c74f20a3+{GO_KEY_MATERIAL}", id="space-in-name"),
    ],
)
def test_malformed_verifier_key_is_refused(key: str) -> None:
    with pytest.raises(CheckpointError):
        parse_verifier_key(key)


def test_signer_key_without_its_prefix_is_refused() -> None:
    with pytest.raises(CheckpointError, match="PRIVATE"):
        parse_signer_key(GO_SIGNER_KEY.removeprefix("PRIVATE+KEY+"))


@pytest.mark.parametrize(
    ("origin", "size", "root"),
    [
        pytest.param("", 1, ROOT, id="empty-origin"),
        pytest.param("a\nb", 1, ROOT, id="multi-line-origin"),
        pytest.param(ORIGIN, -1, ROOT, id="negative-size"),
        pytest.param(ORIGIN, 2**64, ROOT, id="size-beyond-uint64"),
        pytest.param(ORIGIN, 1, ROOT[:31], id="short-root"),
    ],
)
def test_checkpoint_values_outside_the_format_cannot_be_built(
    origin: str, size: int, root: bytes
) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint(origin, size, root)


def test_signing_refuses_key_names_the_note_format_cannot_carry(
    private_key: Ed25519PrivateKey,
) -> None:
    for name in ("", "has space", "has+plus"):
        with pytest.raises(CheckpointError, match="key name"):
            sign_checkpoint(Checkpoint(ORIGIN, 1, ROOT), name, private_key)
