"""The console's pure rules: session verdicts, tokens, where a sign-in may lead, list cursors
and pages, and the workers' breaker reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.domain import console_sessions as rules
from app.domain.breaker import CircuitBreaker
from app.domain.console_listing import (
    Cursor,
    ListingQuery,
    decode_cursor,
    encode_cursor,
    page_of,
    parse_listing,
)
from app.domain.errors import ApiError
from app.domain.roles import INTEGRATOR, SERVICE_ORDER_MANAGER
from app.domain.worker_reports import BreakerState, decode_breakers, encode_breakers, summary

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HASH = "scrypt$16384$8$1$salt$hash"


def facts(**changes: object) -> rules.SessionFacts:
    values: dict[str, object] = {
        "expires_at": NOW + timedelta(hours=1),
        "last_seen_at": NOW - timedelta(minutes=1),
        "password_check": rules.password_check(HASH),
        "current_password_hash": HASH,
    }
    values.update(changes)
    return rules.SessionFacts(**values)  # type: ignore[arg-type]


def test_session_verdicts() -> None:
    assert rules.verdict(facts(), NOW, 1800) is rules.Verdict.VALID
    assert rules.verdict(facts(expires_at=NOW), NOW, 1800) is rules.Verdict.EXPIRED
    idle = facts(last_seen_at=NOW - timedelta(seconds=1800))
    assert rules.verdict(idle, NOW, 1800) is rules.Verdict.IDLE
    changed = facts(current_password_hash=HASH + "x")
    assert rules.verdict(changed, NOW, 1800) is rules.Verdict.REVOKED
    assert rules.Verdict.REVOKED.message == "Your password was changed. Sign in again."


def test_tokens_and_digests() -> None:
    first, second = rules.new_token(), rules.new_token()
    assert first != second and len(first) >= 43
    assert rules.token_digest(first) != first and len(rules.token_digest(first)) == 64
    assert rules.tokens_match(first, first)
    assert not rules.tokens_match(first, second)
    assert not rules.tokens_match(first, None) and not rules.tokens_match("", "")
    assert rules.password_check(HASH) != HASH


def test_touch_at_most_once_a_minute() -> None:
    assert not rules.needs_touch(NOW - timedelta(seconds=30), NOW, 1800)
    assert rules.needs_touch(NOW - timedelta(seconds=61), NOW, 1800)
    assert rules.needs_touch(NOW - timedelta(seconds=3), NOW, 10)  # a short idle limit


def test_who_may_enter() -> None:
    assert rules.may_enter({SERVICE_ORDER_MANAGER})
    assert rules.may_enter({SERVICE_ORDER_MANAGER, INTEGRATOR})
    assert not rules.may_enter({INTEGRATOR})
    assert not rules.may_enter(set())


@pytest.mark.parametrize(
    ("asked", "went"),
    [
        ("/console/queue", "/console/queue"),
        ("/console/orders?q=x", "/console/orders?q=x"),
        (None, rules.HOME),
        ("https://evil.example/console/", rules.HOME),
        ("//evil.example/", rules.HOME),
        ("/\\evil.example", rules.HOME),
        ("/api/orderhub/whoami", rules.HOME),
        ("/console/\\\\evil", rules.HOME),
        ("/console/static/console.js", rules.HOME),
    ],
)
def test_a_sign_in_leads_only_into_the_console(asked: str | None, went: str) -> None:
    assert rules.safe_next(asked) == went


def test_cursors_round_trip_and_refuse_anything_else() -> None:
    cursor = Cursor(datetime(2021, 6, 8, 5, 34, 59, 123456, tzinfo=UTC), "abc")
    assert decode_cursor(encode_cursor(cursor)) == cursor
    for text in ("", "!!", encode_cursor(cursor)[:-3] + "zzz", "bm9waXBl"):
        with pytest.raises(ValueError):
            decode_cursor(text)


def test_the_list_query() -> None:
    cursor = encode_cursor(Cursor(NOW, "x"))
    query = parse_listing({"state": "new", "q": "  Funco ", "after": cursor})
    assert query == ListingQuery("new", "Funco", Cursor(NOW, "x"), True)
    assert parse_listing({}) == ListingQuery(None, None, None, False)
    for bad in ({"state": "lost"}, {"before": "nope"}, {"q": "x" * 201}):
        with pytest.raises(ApiError):
            parse_listing(bad)


def _rows(*keys: int) -> list[dict[str, object]]:
    return [{"order_date": NOW - timedelta(minutes=k), "sys_id": f"o{k}"} for k in keys]


def test_pages_link_both_ways() -> None:
    first = page_of(_rows(1, 2, 3), ListingQuery(None, None, None, False), 2)
    assert [r["sys_id"] for r in first.rows] == ["o1", "o2"]
    assert first.newer is None and first.older == Cursor(NOW - timedelta(minutes=2), "o2")
    older = page_of(_rows(3), ListingQuery(None, None, first.older, False), 2)
    assert older.older is None and older.newer == Cursor(NOW - timedelta(minutes=3), "o3")
    # a newer page is read oldest first and shown newest first
    newer = page_of(_rows(2, 1), ListingQuery(None, None, older.newer, True), 2)
    assert [r["sys_id"] for r in newer.rows] == ["o1", "o2"]
    assert newer.newer is None and newer.older is not None
    assert page_of([], ListingQuery(None, None, None, False), 2).rows == []


def test_breaker_status_reads_without_changing() -> None:
    clock = [100.0]
    breaker = CircuitBreaker(threshold=2, cooldown=5, clock=lambda: clock[0])
    assert breaker.status() == ("closed", 0.0)
    breaker.failure()
    breaker.failure()
    assert breaker.status() == ("open", 5.0)
    clock[0] = 106.0
    assert breaker.status() == ("half_open", 0.0)
    assert breaker.status() == ("half_open", 0.0)  # reading twice changes nothing
    assert breaker.wait() == 0.0  # the trial send


def test_breaker_reports_round_trip() -> None:
    states = [
        BreakerState("host:1", "SOM", "open", 3, 4.2, 1700000000.0),
        BreakerState("host:2", "SOM", "closed", 0, 0.0, 1700000001.0),
    ]
    assert decode_breakers(encode_breakers(states)) == [
        BreakerState("host:1", "SOM", "open", 3, 4.2, 1700000000.0),
        BreakerState("host:2", "SOM", "closed", 0, 0.0, 1700000001.0),
    ]
    assert decode_breakers(None) == [] and decode_breakers(b"not json") == []
    assert summary(states) == "open" and summary(states[1:]) == "closed"
    assert summary([]) == "unknown"
