"""Fixed-window rate limits for the chat API: in-process, or shared through Redis.

The embedded default (one gateway process) counts in memory. With ``REDIS_URL``
set, every gateway process counts in the same Redis keys, so the limits hold
across gunicorn workers and replicas. If Redis stops answering, the limiter
logs it and counts in memory until Redis is back: depositors keep being served,
and each process still enforces the limit on its own share.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable, Protocol

logger = logging.getLogger(__name__)

KEY_PREFIX = "hotline:chat:rl:"
MAX_MEMORY_KEYS = 100_000


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
    """Counts in this process; old windows are dropped as new ones begin."""

    def __init__(self, clock: Callable[[], float] = time.time):
        self._clock = clock
        self._counts: dict[tuple[str, int, int], int] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int, window_seconds: int) -> Verdict:
        number, left = _window(self._clock(), window_seconds)
        slot = (key, window_seconds, number)
        with self._lock:
            if len(self._counts) >= MAX_MEMORY_KEYS:
                self._purge()
            count = self._counts.get(slot, 0) + 1
            self._counts[slot] = count
        return Verdict(True) if count <= limit else Verdict(False, left)

    def _purge(self) -> None:
        now = self._clock()
        for stale in [s for s in self._counts if s[2] < int(now // s[1])]:
            del self._counts[stale]
        if len(self._counts) >= MAX_MEMORY_KEYS:  # a flood of distinct keys: start over
            self._counts.clear()


class RedisRateLimiter:
    """Counts in Redis (``INCR`` + ``EXPIRE`` in one transaction per hit)."""

    def __init__(self, url: str, clock: Callable[[], float] = time.time, prefix: str = KEY_PREFIX):
        import redis

        self._redis = redis.Redis.from_url(
            url, socket_connect_timeout=0.5, socket_timeout=0.5, health_check_interval=30
        )
        self._clock = clock
        self._prefix = prefix
        self._fallback = MemoryRateLimiter(clock)
        self._failing = False

    def hit(self, key: str, limit: int, window_seconds: int) -> Verdict:
        import redis

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
            return self._fallback.hit(key, limit, window_seconds)
        if self._failing:
            logger.warning("rate limits: Redis is back")
            self._failing = False
        return Verdict(True) if count <= limit else Verdict(False, left)


def make_limiter(redis_url: str) -> RateLimiter:
    """Redis-backed when ``redis_url`` is set, in-process otherwise."""
    return RedisRateLimiter(redis_url) if redis_url else MemoryRateLimiter()
