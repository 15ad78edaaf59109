"""Which callback URLs a subscription may name (server-side request forgery)."""

from __future__ import annotations

import pytest

from app.domain.callback_urls import CallbackRefused, callback_host, check_addresses


def test_http_and_https_urls_name_their_host() -> None:
    assert callback_host("https://listener.example.com/events") == "listener.example.com"
    assert callback_host("http://203.0.113.9:8080/x") == "203.0.113.9"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "file:///etc/passwd",
        "gopher://example.com",
        "example.com/x",
        "http:///path",
        "http://user:pw@example.com/",
        "http://example.com:99999/",
        "http://exa mple.com/",
        "https://" + "a" * 2001 + ".com",
    ],
)
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(CallbackRefused):
        callback_host(url)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "::1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "fe80::1",
        "fc00::1",
        "100.64.0.1",
        "0.0.0.0",
        "::ffff:127.0.0.1",
        "224.0.0.1",
    ],
)
def test_private_addresses_are_refused_unless_allowed(address: str) -> None:
    with pytest.raises(CallbackRefused):
        check_addresses("h", [address], allow_private=False)
    check_addresses("h", [address], allow_private=True)


def test_one_private_address_among_public_ones_is_enough_to_refuse() -> None:
    check_addresses("h", ["93.184.216.34", "2606:2800:220:1::"], allow_private=False)
    with pytest.raises(CallbackRefused):
        check_addresses("h", ["93.184.216.34", "10.0.0.1"], allow_private=False)


def test_a_host_that_resolves_to_nothing_is_refused() -> None:
    with pytest.raises(CallbackRefused):
        check_addresses("nowhere.invalid", [], allow_private=True)
