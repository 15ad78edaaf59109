"""Failed sign-ins counted in Redis, per user name and per client address, for every process.

One script decides atomically whether an attempt may check a password: it refuses while
either wait is running and otherwise counts the attempt, starting the wait the count calls
for. Counting before the check, not after, is what holds against a burst of concurrent
guesses: they cannot all pass the gate before the first failure is recorded. A success
clears both counts, and an attempt that could not be decided (PostgreSQL away) is taken back,
so only the attempts that failed stay counted: an outage must not lock clients out after it.

Redis unreachable fails open: the throttle is a brake on guessing, and a Redis outage must
not lock every integration out; the password check still runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import cast

from arq.connections import ArqRedis
from redis.exceptions import NoScriptError, RedisError

from app import logs
from app.domain.errors import ApiError, ErrorKind
from app.domain.throttle import delay_schedule, retry_after_seconds
from app.settings import Settings

log = logs.get("orderhub.http")

# KEYS: user count, user wait, address count, address wait.
# ARGV: window ms, then the waits in ms for counts threshold, threshold + 1, ... (the last
# repeats), threshold = ARGV[2]'s count. Answers the ms still to wait, or 0 when counted.
_GATE = """
local waiting = math.max(redis.call('PTTL', KEYS[2]), redis.call('PTTL', KEYS[4]))
if waiting > 0 then return waiting end
local window = tonumber(ARGV[1])
local threshold = tonumber(ARGV[2])
local steps = #ARGV - 2
for i = 1, 3, 2 do
  local count = redis.call('INCR', KEYS[i])
  local wait = 0
  if count >= threshold then
    wait = tonumber(ARGV[2 + math.min(count - threshold + 1, steps)])
    redis.call('SET', KEYS[i + 1], '1', 'PX', wait)
  end
  redis.call('PEXPIRE', KEYS[i], window + wait)
end
return 0
"""
_GATE_SHA = hashlib.sha1(_GATE.encode()).hexdigest()

# KEYS as _GATE's; ARGV: threshold. One attempt taken back from each count; a count back under
# the threshold ends its wait, which only that count had started.
_UNCOUNT = """
local threshold = tonumber(ARGV[1])
for i = 1, 3, 2 do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then
    if redis.call('DECR', KEYS[i]) < threshold then redis.call('DEL', KEYS[i + 1]) end
  end
end
return 0
"""


@dataclass(frozen=True)
class SignInThrottle:
    redis: ArqRedis
    prefix: str
    window_ms: int
    threshold: int
    waits_ms: tuple[int, ...]

    @classmethod
    def from_settings(cls, redis: ArqRedis, settings: Settings) -> SignInThrottle:
        """Keys under the queue name, the installation's prefix in a shared Redis."""
        schedule = delay_schedule(
            settings.orderhub_signin_failures, settings.orderhub_signin_max_delay_seconds
        )
        return cls(
            redis=redis,
            prefix=f"{settings.orderhub_queue_name}:signin",
            window_ms=_ms(settings.orderhub_signin_window_seconds),
            threshold=settings.orderhub_signin_failures,
            waits_ms=tuple(_ms(wait) for wait in schedule),
        )

    def _keys(self, user: str, address: str) -> list[str]:
        return [
            f"{self.prefix}:user:{user}",
            f"{self.prefix}:user:{user}:wait",
            f"{self.prefix}:address:{address}",
            f"{self.prefix}:address:{address}:wait",
        ]

    async def admit(self, user: str, address: str) -> None:
        """Counts one attempt, or refuses with 429 while this user or address waits; that
        refusal comes before any password is checked."""
        try:
            waiting_ms = await self._gate(user, address)
        except (RedisError, OSError) as exc:
            log.warning("sign_in_throttle_unavailable", error=repr(exc))
            return
        if waiting_ms > 0:
            raise ApiError(
                ErrorKind.TOO_MANY_REQUESTS,
                "Too many failed sign-ins for this user or from this address; retry later.",
                retry_after=retry_after_seconds(waiting_ms / 1000),
            )

    async def _gate(self, user: str, address: str) -> int:
        """The script by its digest; sent whole only to a Redis that does not hold it yet."""
        keys = self._keys(user, address)
        args = [str(n) for n in (self.window_ms, self.threshold, *self.waits_ms)]
        try:
            answer = self.redis.evalsha(_GATE_SHA, len(keys), *keys, *args)
            return int(await cast(Awaitable[int], answer))
        except NoScriptError:
            answer = self.redis.eval(_GATE, len(keys), *keys, *args)
            return int(await cast(Awaitable[int], answer))

    async def uncount(self, user: str, address: str) -> None:
        """After an attempt that ended before its password could be judged."""
        try:
            keys = self._keys(user, address)
            await cast(
                Awaitable[int], self.redis.eval(_UNCOUNT, len(keys), *keys, str(self.threshold))
            )
        except (RedisError, OSError) as exc:
            log.warning("sign_in_throttle_unavailable", error=repr(exc))

    async def clear(self, user: str, address: str) -> None:
        """After a successful sign-in: the user's and the address's counts start again."""
        try:
            await self.redis.delete(*self._keys(user, address))
        except (RedisError, OSError) as exc:
            log.warning("sign_in_throttle_unavailable", error=repr(exc))


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))
