"""Fixed-window rate limits for the chat API: in-process, or shared through Redis.

The embedded default (one gateway process) counts in memory. With ``REDIS_URL``
set, every gateway process counts in the same Redis keys, so the limits hold
across gunicorn workers and replicas. If Redis stops answering, the limiter
logs it and counts in memory until Redis is back: depositors keep being served,
and each process still enforces the limit on its own share (fail-open to local
limits; README "When a store restarts" says why). After a failure Redis is
tried again only every ``retry_seconds``, so a Redis that hangs instead of
refusing costs one socket timeout per interval, not one per request. Production
(``HOTLINE_ENV=production``) refuses to start without ``REDIS_URL``
(:mod:`bot.settings`); the in-process counters are bounded and forget the
least recently hit keys first, never every count at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Protocol

logger = logging.getLogger(__name__)

KEY_PREFIX = "hotline:chat:rl:"
MAX_MEMORY_KEYS = 100_000
REDIS_RETRY_SECONDS = 2.0  # after a Redis failure, count in memory this long before trying again


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0  # seconds until the window ends (when refused)


class RateLimiter(Protocol):
    def hit(self, key: str, limit: int, window_seconds: int) -> Verdict:
        """Count one event for ``key``; refuse it past ``limit`` per window."""


def _window(now: float, window_seconds: int) -> tuple[int, int]:
    """The current window's number and the seconds left in it (at least 1)."""
    number = int(now // window_seconds)
    left = max(1, int((number + 1) * window_seconds - now + 0.999))
    return number, left


class MemoryRateLimiter:
    """Counts in this process, in at most ``MAX_MEMORY_KEYS`` counters.

    One counter per key and window length, in least-recently-hit order per window
    length, so the counters of ended windows are always at the front and are
    dropped first. When every counter is live (a flood of distinct keys), the one
    hit least recently goes: a key that keeps hitting — an address or session
    being refused — keeps its count, and a live count is never reset wholesale.
    """

    def __init__(self, clock: Callable[[], float] = time.time):
        self._clock = clock
        # window length -> key -> [window number, count, time of the last hit]
        self._counts: dict[int, OrderedDict[str, list]] = {}
        self._lock = threading.Lock()

    def size(self) -> int:
        """Counters held (not ``__len__``: an empty limiter must not be falsy)."""
        return sum(len(counters) for counters in self._counts.values())

    def hit(self, key: str, limit: int, window_seconds: int) -> Verdict:
        now = self._clock()
        number, left = _window(now, window_seconds)
        with self._lock:
            counters = self._counts.setdefault(window_seconds, OrderedDict())
            counter = counters.get(key)
            if counter is None:
                self._make_room(now)
                counter = counters[key] = [number, 0, now]
            elif counter[0] != number:
                counter[0], counter[1] = number, 0
            counter[1] += 1
            counter[2] = now
            counters.move_to_end(key)
            count = counter[1]
        return Verdict(True) if count <= limit else Verdict(False, left)

    def _make_room(self, now: float) -> None:
        """Drop ended windows' counters, then the least recently hit, below the bound."""
        size = self.size()
        if size < MAX_MEMORY_KEYS:
            return
        for window_seconds, counters in self._counts.items():
            current = int(now // window_seconds)
            while counters and next(iter(counters.values()))[0] < current:
                counters.popitem(last=False)
                size -= 1
        while size >= MAX_MEMORY_KEYS:
            oldest = min((c for c in self._counts.values() if c),
                         key=lambda c: next(iter(c.values()))[2])
            oldest.popitem(last=False)
            size -= 1


class RedisRateLimiter:
    """Counts in Redis (``INCR`` + ``EXPIRE`` in one transaction per hit)."""

    def __init__(self, url: str, clock: Callable[[], float] = time.time, prefix: str = KEY_PREFIX,
                 retry_seconds: float = REDIS_RETRY_SECONDS):
        import redis

        self._redis = redis.Redis.from_url(
            url, socket_connect_timeout=0.5, socket_timeout=0.5, health_check_interval=30
        )
        self._clock = clock
        self._prefix = prefix
        self._fallback = MemoryRateLimiter(clock)
        self._failing = False
        self._retry_seconds = retry_seconds
        self._retry_at = 0.0  # time.monotonic() from which Redis is tried again

    def hit(self, key: str, limit: int, window_seconds: int) -> Verdict:
        import redis

        if self._failing and time.monotonic() < self._retry_at:
            return self._fallback.hit(key, limit, window_seconds)
        number, left = _window(self._clock(), window_seconds)
        redis_key = f"{self._prefix}{key}:{window_seconds}:{number}"
        try:
            with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(redis_key)
                pipe.expire(redis_key, window_seconds + 1)
                count = int(pipe.execute()[0])
        except redis.RedisError as exc:
            if not self._failing:
                logger.error("rate limits: Redis unavailable (%s); counting in memory", exc)
                self._failing = True
            self._retry_at = time.monotonic() + self._retry_seconds
            return self._fallback.hit(key, limit, window_seconds)
        if self._failing:
            logger.warning("rate limits: Redis is back")
            self._failing = False
        return Verdict(True) if count <= limit else Verdict(False, left)


def make_limiter(redis_url: str) -> RateLimiter:
    """Redis-backed when ``redis_url`` is set, in-process otherwise."""
    return RedisRateLimiter(redis_url) if redis_url else MemoryRateLimiter()
