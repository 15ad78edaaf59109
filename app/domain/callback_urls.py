"""Which callback URLs a hub subscription may name: OrderHub must not be made to post into
the network it runs in (server-side request forgery).

http and https only, a host, no credentials in the URL; and, unless the installation allows it
(ORDERHUB_HUB_ALLOW_PRIVATE_CALLBACKS, for tests and `orderhub dev`), none of the addresses the
host stands for may be loopback, link-local, private, shared, multicast, reserved or
unspecified. The addresses are looked up by the caller; this module does no I/O.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2000
SCHEMES = ("http", "https")


class CallbackRefused(ValueError):
    """The callback may not be used; the message says why."""


def callback_host(url: str) -> str:
    """The host the URL names, once its form is acceptable; CallbackRefused otherwise."""
    if len(url) > MAX_URL_LENGTH:
        raise CallbackRefused(f"The callback URL is over {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port out of range raises here
    except ValueError:
        raise CallbackRefused("The callback is not a URL.") from None
    if parts.scheme not in SCHEMES:
        raise CallbackRefused("The callback URL must start with http:// or https://.")
    if not parts.hostname:
        raise CallbackRefused("The callback URL names no host.")
    if parts.username is not None or parts.password is not None:
        raise CallbackRefused("The callback URL must not hold credentials.")
    if any(c.isspace() for c in url):
        raise CallbackRefused("The callback URL must not hold white space.")
    return parts.hostname


def literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_public(address.ipv4_mapped)
    return not (
        address.is_loopback
        or address.is_link_local
        or address.is_private
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or (isinstance(address, ipaddress.IPv4Address) and address in _SHARED)
    )


_SHARED = ipaddress.ip_network("100.64.0.0/10")


def check_addresses(host: str, addresses: Iterable[str], *, allow_private: bool) -> None:
    """CallbackRefused when the host stands for no address, or, unless allowed, for one that
    is not public."""
    found = [ipaddress.ip_address(a.split("%")[0]) for a in addresses]
    if not found:
        raise CallbackRefused(f"The callback host {host} cannot be resolved.")
    if allow_private:
        return
    for address in found:
        if not is_public(address):
            raise CallbackRefused(
                f"The callback host {host} is a loopback, link-local or private address "
                f"({address}); such callbacks are not allowed."
            )
