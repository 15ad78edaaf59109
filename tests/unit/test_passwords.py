"""Stored passwords: scrypt hashes, salted, checked exactly."""

from __future__ import annotations

from app.domain.passwords import hash_password, verify_password


def test_password_hash_round_trip() -> None:
    stored = hash_password("s3cret")
    assert stored.startswith("scrypt$16384$8$1$")
    assert "s3cret" not in stored
    assert verify_password("s3cret", stored)
    assert not verify_password("s3cret ", stored)
    assert not verify_password("s3cret", "md5$abc")
    assert hash_password("x") != hash_password("x")
