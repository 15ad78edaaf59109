"""REDIS_URL naming a Sentinel service: what is read from it, and what stops the process."""

from __future__ import annotations

import pytest

from app.redis_address import Sentinel, is_sentinel, parse_sentinel
from app.settings import Settings, SettingsError
from workers.settings import redis_settings


def test_sentinels_service_database_and_password() -> None:
    url = "redis+sentinel://:s%40cret@10.0.0.1:26380,sentinel-b,[::1]:26381/orderhub/2"
    assert parse_sentinel(url) == Sentinel(
        sentinels=(("10.0.0.1", 26380), ("sentinel-b", 26379), ("::1", 26381)),
        service="orderhub",
        db=2,
        username=None,
        password="s@cret",
    )


def test_user_and_default_database() -> None:
    address = parse_sentinel("redis+sentinel://app:pw@s1:26379/mymaster")
    assert (address.username, address.password, address.db) == ("app", "pw", 0)


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("redis+sentinel://s1:26379", "must name the service"),
        ("redis+sentinel://s1:26379/", "must name the service"),
        ("redis+sentinel://s1:26379/svc/0/extra", "must name the service"),
        ("redis+sentinel://s1:26379/svc/zero", "must be a whole number"),
        ("redis+sentinel://s1:port/svc", "no valid port"),
        ("redis+sentinel://s1:70000/svc", "no valid port"),
        ("redis+sentinel://s1:26379,/svc", "HOST:PORT"),
        ("redis+sentinel:///svc", "HOST:PORT"),
    ],
)
def test_malformed_sentinel_urls_stop_the_process(url: str, complaint: str) -> None:
    with pytest.raises(SettingsError, match="REDIS_URL") as raised:
        Settings.from_env({"REDIS_URL": url})
    assert complaint in str(raised.value)


def test_settings_take_both_kinds() -> None:
    for url in ("redis://:pw@r:6379/0", "redis+sentinel://:pw@s1:26379,s2:26379/orderhub/0"):
        assert Settings.from_env({"REDIS_URL": url}).redis_url == url
    with pytest.raises(SettingsError, match="redis\\+sentinel://"):
        Settings.from_env({"REDIS_URL": "http://r:6379"})


def test_the_worker_asks_the_sentinels() -> None:
    settings = redis_settings("redis+sentinel://:pw@s1:26379,s2:26380/orderhub/3")
    assert settings.sentinel is True
    assert settings.host == [("s1", 26379), ("s2", 26380)]
    assert (settings.sentinel_master, settings.database, settings.password) == (
        "orderhub",
        3,
        "pw",
    )
    assert not is_sentinel("redis://r:6379/0")
    assert redis_settings("redis://:pw@r:6380/1").port == 6380
