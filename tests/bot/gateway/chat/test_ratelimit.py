"""Rate limits: in-process, and shared through the real Redis (127.0.0.1:6379 here and in CI)."""

from __future__ import annotations

import logging
import os
import uuid

import pytest

from bot.gateway.chat.ratelimit import MemoryRateLimiter, RedisRateLimiter, make_limiter

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


class FakeClock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def _limiters(clock):
    prefix = f"test:chat:{uuid.uuid4().hex}:"
    return {
        "memory": MemoryRateLimiter(clock),
        "redis": RedisRateLimiter(REDIS_URL, clock=clock, prefix=prefix),
    }


@pytest.fixture(params=["memory", "redis"])
def limiter_and_clock(request):
    clock = FakeClock()
    limiter = _limiters(clock)[request.param]
    if request.param == "redis":
        import redis

        try:
            redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
        except redis.RedisError as exc:
            pytest.fail(f"Redis is required for this test ({REDIS_URL}): {exc}", pytrace=False)
    return limiter, clock


def test_allows_up_to_the_limit_then_refuses_with_retry_after(limiter_and_clock):
    limiter, clock = limiter_and_clock
    clock.now = 6_000_000.0 + 10  # 10 s into a 60 s window
    verdicts = [limiter.hit("s:abc", 3, 60) for _ in range(5)]
    assert [v.allowed for v in verdicts] == [True, True, True, False, False]
    assert verdicts[3].retry_after == 50


def test_a_new_window_starts_afresh(limiter_and_clock):
    limiter, clock = limiter_and_clock
    clock.now = 6_000_000.0
    assert all(limiter.hit("a:1.2.3.4", 2, 60).allowed for _ in range(2))
    assert not limiter.hit("a:1.2.3.4", 2, 60).allowed
    clock.now += 60
    assert limiter.hit("a:1.2.3.4", 2, 60).allowed


def test_keys_are_counted_apart(limiter_and_clock):
    limiter, _ = limiter_and_clock
    assert limiter.hit("s:one", 1, 60).allowed
    assert not limiter.hit("s:one", 1, 60).allowed
    assert limiter.hit("s:two", 1, 60).allowed


def test_redis_counts_are_shared_between_processes():
    clock = FakeClock()
    prefix = f"test:chat:{uuid.uuid4().hex}:"
    first = RedisRateLimiter(REDIS_URL, clock=clock, prefix=prefix)
    second = RedisRateLimiter(REDIS_URL, clock=clock, prefix=prefix)
    assert first.hit("a:9.9.9.9", 2, 60).allowed
    assert second.hit("a:9.9.9.9", 2, 60).allowed
    assert not first.hit("a:9.9.9.9", 2, 60).allowed


def test_redis_down_falls_back_to_memory_and_says_so(caplog):
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0")
    with caplog.at_level(logging.ERROR, logger="bot.gateway.chat.ratelimit"):
        verdicts = [limiter.hit("s:x", 2, 60) for _ in range(3)]
    assert [v.allowed for v in verdicts] == [True, True, False]
    assert sum("Redis unavailable" in r.message for r in caplog.records) == 1


def test_make_limiter_chooses_by_redis_url():
    assert isinstance(make_limiter(""), MemoryRateLimiter)
    assert isinstance(make_limiter(REDIS_URL), RedisRateLimiter)


@pytest.fixture
def small_memory(monkeypatch):
    """The in-process limiter with room for 50 counters instead of 100,000."""
    import bot.gateway.chat.ratelimit as module

    monkeypatch.setattr(module, "MAX_MEMORY_KEYS", 50)
    clock = FakeClock(6_000_000.0)
    return MemoryRateLimiter(clock), clock


def test_memory_limiter_stays_bounded(small_memory):
    limiter, _ = small_memory
    for i in range(500):
        limiter.hit(f"a:{i}", 5, 60)
    assert limiter.size() <= 50


def test_a_flood_of_new_keys_does_not_free_a_refused_source(small_memory):
    """The old limiter cleared every count at the bound: 50 fresh keys freed the attacker."""
    limiter, clock = small_memory
    assert all(limiter.hit("a:6.6.6.6", 3, 60).allowed for _ in range(3))
    for i in range(500):
        clock.now += 0.01
        limiter.hit(f"s:{i}", 3, 60)
        if i % 10 == 0:
            assert not limiter.hit("a:6.6.6.6", 3, 60).allowed, f"freed after {i} new keys"
    assert limiter.size() <= 50


def test_live_counts_survive_and_the_least_recently_hit_go_first(small_memory):
    limiter, clock = small_memory
    for i in range(50):
        clock.now += 0.01
        assert all(limiter.hit(f"s:{i}", 2, 60).allowed for _ in range(2))
    for i in range(10):
        clock.now += 0.01
        assert limiter.hit(f"s:new{i}", 2, 60).allowed
    # The ten hit longest ago were forgotten and count afresh; the other forty keep
    # their counts and stay refused until their window ends.
    assert not any(limiter.hit(f"s:{i}", 2, 60).allowed for i in range(10, 50))
    assert all(limiter.hit(f"s:{i}", 2, 60).allowed for i in range(10))
    assert limiter.size() <= 50


def test_ended_windows_are_dropped_before_live_counts(small_memory):
    limiter, clock = small_memory
    # An hour-long verification limit, refused, then not hit again for a while ...
    assert limiter.hit("v:session", 1, 3600).allowed
    assert not limiter.hit("v:session", 1, 3600).allowed
    # ... while minute-long counters fill the memory and their window ends.
    for i in range(49):
        limiter.hit(f"s:{i}", 5, 60)
    clock.now += 120
    for i in range(49):
        limiter.hit(f"s:later{i}", 5, 60)
    # The ended minute windows made room; the hour's count, hit least recently, stays.
    assert not limiter.hit("v:session", 1, 3600).allowed
    assert limiter.size() <= 50


def test_memory_counts_are_exact_under_threads():
    import threading

    limiter = MemoryRateLimiter(FakeClock(6_000_000.0))
    barrier = threading.Barrier(8)
    allowed = []

    def worker():
        barrier.wait()
        allowed.append(sum(limiter.hit("a:1.1.1.1", 500, 60).allowed for _ in range(100)))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(allowed) == 500


def test_an_empty_limiter_handed_to_the_app_is_the_one_used():
    """The chat service picks ``CHAT_RATE_LIMITER or make_limiter(...)``: never falsy."""
    assert MemoryRateLimiter() and RedisRateLimiter(REDIS_URL)
