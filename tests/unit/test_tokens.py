"""Bearer tokens: only genuine, unexpired tokens are accepted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from quan.services.people.tokens import TokenSigner

NOW = datetime(2026, 11, 25, tzinfo=UTC)


def test_issued_token_verifies_until_it_expires() -> None:
    signer = TokenSigner(b"k" * 32, ttl_seconds=60)
    token, expires = signer.issue("staff", "usr_1", NOW)
    claims = signer.verify(token, NOW + timedelta(seconds=59))
    assert claims is not None
    assert (claims.subject_kind, claims.subject_id) == ("staff", "usr_1")
    assert signer.verify(token, expires) is None


def test_token_signed_with_another_key_is_refused() -> None:
    token, _ = TokenSigner(b"a" * 32, 60).issue("staff", "usr_1", NOW)
    assert TokenSigner(b"b" * 32, 60).verify(token, NOW) is None


def test_tampered_token_is_refused() -> None:
    signer = TokenSigner(b"k" * 32, 60)
    token, _ = signer.issue("staff", "usr_1", NOW)
    other, _ = signer.issue("staff", "usr_admin", NOW)
    prefix, _, sig = token.split(".")
    forged = f"{prefix}.{other.split('.')[1]}.{sig}"
    assert signer.verify(forged, NOW) is None
    assert signer.verify(token[:-2], NOW) is None
    assert signer.verify("garbage", NOW) is None
    assert signer.verify("qt1.!!!.???", NOW) is None


def test_a_token_carries_the_accounts_token_version() -> None:
    from datetime import UTC, datetime

    from quan.services.people.tokens import TokenSigner

    signer = TokenSigner(b"k" * 32, 3600)
    now = datetime(2026, 11, 25, tzinfo=UTC)
    old, _ = signer.issue("staff", "usr_1", now)
    new, _ = signer.issue("staff", "usr_1", now, version=3)
    old_claims, new_claims = signer.verify(old, now), signer.verify(new, now)
    assert old_claims is not None
    assert new_claims is not None
    assert (old_claims.version, new_claims.version) == (0, 3)
