"""Who sent a request: its address, whether it came over TLS and from which site's page, as the
connection tells it, or as the proxy in front tells it when ORDERHUB_TRUSTED_PROXY says that
proxy is the only way in (docs/settings.md)."""

from __future__ import annotations

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


def from_this_site(request: web.Request) -> bool:
    """No Origin (curl, SOM/TOM, an older browser) or a page of this host. The host alone:
    a proxy in front may have ended TLS, so the scheme seen here says nothing of the page's."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return urlsplit(origin.strip()).netloc.lower() == _host(request)
