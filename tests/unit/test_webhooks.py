"""Standard Webhooks signatures, checked against the specification's own test vector."""

from __future__ import annotations

from app.domain.webhooks import headers, new_secret, signature, verify

# https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_signature_is_the_specifications() -> None:
    assert signature(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def test_a_receiver_verifies_what_was_signed_and_nothing_else() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_") and secret != new_secret()
    sent = headers(secret, "e1", 1000, b"{}")
    assert sent["webhook-id"] == "e1" and sent["webhook-timestamp"] == "1000"
    assert verify(secret, sent, b"{}", now=1000)
    assert not verify(secret, sent, b"{ }", now=1000)  # body changed
    assert not verify(new_secret(), sent, b"{}", now=1000)  # another secret
    assert not verify(secret, {**sent, "webhook-id": "e2"}, b"{}", now=1000)
    assert not verify(secret, sent, b"{}", now=1000 + 301)  # too old: a replay
    assert verify(
        secret,
        {**sent, "webhook-signature": "v1,AAAA " + sent["webhook-signature"]},
        b"{}",
        now=1000,
    )
    assert not verify(secret, {}, b"{}", now=1000)
