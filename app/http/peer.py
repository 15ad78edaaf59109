"""Who sent a request: its address, whether it came over TLS, from which site's page and by which
URL it reached the API, as the connection tells it, or as the proxy in front tells it when
ORDERHUB_TRUSTED_PROXY says that proxy is the only way in (docs/settings.md)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from aiohttp import web

from app.http import keys


def _trusted(request: web.Request) -> bool:
    return request.app[keys.SETTINGS].orderhub_trusted_proxy


def _last(request: web.Request, header: str) -> str:
    """The entry the proxy appended last: those before it are whatever the client sent."""
    joined = ",".join(request.headers.getall(header, ()))
    return joined.rsplit(",", 1)[-1].strip()


def client_address(request: web.Request) -> str:
    """The peer, or behind a trusted proxy the address it appended to X-Forwarded-For."""
    if _trusted(request):
        forwarded = _last(request, "X-Forwarded-For")
        if forwarded:
            return forwarded
    return request.remote or "unknown"


def served_over_tls(request: web.Request) -> bool:
    """TLS here, or at the trusted proxy in front (X-Forwarded-Proto: https)."""
    if request.secure:
        return True
    if _trusted(request):
        return _last(request, "X-Forwarded-Proto").lower() == "https"
    return False


def _host(request: web.Request) -> str:
    if _trusted(request):
        forwarded = _last(request, "X-Forwarded-Host")
        if forwarded:
            return forwarded.lower()
    return request.host.lower()


# A Host header that is a host name or address and an optional port, nothing else.
_AUTHORITY = re.compile(r"(\[[0-9a-f:.]+\]|[a-z0-9._~%-]+)(:[0-9]{1,5})?")


def _local_authority(request: web.Request) -> str:
    """The address this connection reached, for a Host header that names no host."""
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    if not isinstance(sockname, tuple) or len(sockname) < 2:
        return "localhost"  # a Unix socket
    host, port = sockname[0], sockname[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def public_base_url(request: web.Request) -> str:
    """What the standard flavour's hrefs start with: ORDERHUB_PUBLIC_URL, else the scheme and
    host this request came by."""
    public_url: str = request.app[keys.SETTINGS].orderhub_public_url
    if public_url:
        return public_url
    host = _host(request)
    if not _AUTHORITY.fullmatch(host):
        host = _local_authority(request)
    return f"{'https' if served_over_tls(request) else 'http'}://{host}"


def from_this_site(request: web.Request) -> bool:
    """No Origin (curl, SOM/TOM, an older browser) or a page of this host. The host alone:
    a proxy in front may have ended TLS, so the scheme seen here says nothing of the page's."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return urlsplit(origin.strip()).netloc.lower() == _host(request)
