"""What REDIS_URL names: one Redis server, or a Redis Sentinel service.

A `redis+sentinel://` URL lists the sentinels and the service (master) name; every process
asks the sentinels for the current master and asks again after a failover, so the API and the
workers follow a promoted replica without a restart. The URL's password is the Redis servers'
(`requirepass`); the sentinels themselves are asked without one.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

SENTINEL_SCHEME = "redis+sentinel"
SENTINEL_PORT = 26379
SENTINEL_FORM = "redis+sentinel://[[USER]:PASSWORD@]HOST[:PORT][,HOST[:PORT]...]/SERVICE[/DB]"


@dataclass(frozen=True)
class Sentinel:
    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int
    username: str | None
    password: str | None


def is_sentinel(url: str) -> bool:
    return urlsplit(url).scheme == SENTINEL_SCHEME


def parse_sentinel(url: str) -> Sentinel:
    """Raises ValueError naming what is wrong, for the setting's one-line message."""
    parts = urlsplit(url)
    if parts.scheme != SENTINEL_SCHEME:
        raise ValueError(f"must start with {SENTINEL_SCHEME}://")
    userinfo, _, hosts = parts.netloc.rpartition("@")
    username, password = _credentials(userinfo)
    sentinels = tuple(_host_port(item) for item in hosts.split(","))
    path = [segment for segment in parts.path.split("/") if segment]
    if not path or len(path) > 2:
        raise ValueError(f"must name the service: {SENTINEL_FORM}")
    db = 0
    if len(path) == 2:
        if not path[1].isdigit():
            raise ValueError("the database after the service name must be a whole number")
        db = int(path[1])
    return Sentinel(sentinels, unquote(path[0]), db, username, password)


def _credentials(userinfo: str) -> tuple[str | None, str | None]:
    if not userinfo:
        return None, None
    user, colon, password = userinfo.partition(":")
    return (unquote(user) or None), (unquote(password) if colon else None)


def _host_port(item: str) -> tuple[str, int]:
    host, port = item, ""
    if item.startswith("["):
        host, _, rest = item[1:].partition("]")
        port = rest.removeprefix(":")
    elif ":" in item:
        host, _, port = item.rpartition(":")
    if not host:
        raise ValueError(
            f"must list the sentinels as HOST:PORT separated by commas: {SENTINEL_FORM}"
        )
    if not port:
        return host, SENTINEL_PORT
    if not port.isdigit() or not 0 < int(port) <= 65535:
        raise ValueError(f"sentinel {item!r} has no valid port")
    return host, int(port)
