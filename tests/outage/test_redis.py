"""Redis restarted under the running stack: Rasa's lock store and the gateway's rate limits.

Rasa takes each turn under a lock in Redis (``lock_store: type: redis``): with
Redis gone it cannot take the lock and fails the turn (HTTP 500), which the
gateway turns into the designed apology — the web chat's 503 JSON message, the
phone's TwiML apology and transfer. The chat API's rate limits count in the
same Redis; with it gone they count in each gateway process's memory
(fail-open to local limits, README "When a store restarts"): the visitor gets
the assistant's apology, not a refusal and never a 500. When Redis is back
(empty, as a restarted cache is), turns answer normally without restarting any
process, and the limits are shared again.
"""
from __future__ import annotations

import logging
import signal
import time

import pytest
import redis

from bot.gateway.chat.ratelimit import RedisRateLimiter
from tests.outage.clients import (
    Visitor,
    assert_chat_apology,
    assert_voice_apology,
    bot_text,
    call,
    until_chat_answers,
    until_normal,
)
from tests.outage.conftest import RECOVERY
from tests.outage.stack import Gateway, OutageStack
from tests.services import RedisServer

ASKS_CATEGORY = "请问您要投诉哪一类问题"
ASKS_DETAILS = "请您具体说说发生了什么"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_chat(sig: int, outage_stack: OutageStack, gateway: Gateway) -> None:
    visitor = Visitor(gateway)
    assert ASKS_CATEGORY in bot_text(visitor.say("我要投诉"))

    outage_stack.redis.stop(sig)
    assert_chat_apology(visitor.say("服务态度"))
    assert_chat_apology(visitor.say("服务态度"))  # again: the limits still count, in memory

    outage_stack.redis.start()
    recovery, resumed = until_chat_answers(visitor, "服务态度")
    RECOVERY[f"Redis {signal.Signals(sig).name}: chat"] = recovery
    assert recovery[1] == 0, "the first turn after the restart failed"
    assert ASKS_DETAILS in resumed


def test_voice(outage_stack: OutageStack, gateway: Gateway) -> None:
    caller = call(gateway)
    assert ASKS_CATEGORY in caller.say("我要投诉").text
    waiting = call(gateway, "+8613800000008")
    assert ASKS_CATEGORY in waiting.say("我要投诉").text

    outage_stack.redis.stop()
    assert_voice_apology(caller.say("服务态度"))

    outage_stack.redis.start()
    heard: list[str] = []

    def form_goes_on() -> bool:
        try:
            heard.append(waiting.say("服务态度").text)
        except RuntimeError:
            return False
        return ASKS_DETAILS in heard[-1]

    RECOVERY["Redis SIGTERM: voice"] = recovery = until_normal(form_goes_on)
    assert recovery[1] == 0, "the first turn after the restart failed"


def test_rate_limits_count_in_memory_while_redis_is_away(caplog: pytest.LogCaptureFixture) -> None:
    """Fail-open to each process's own counts: the limit still holds, and Redis is used again."""
    caplog.set_level(logging.WARNING, logger="bot.gateway.chat.ratelimit")
    with RedisServer() as server:
        now = [1_800_000_000.0 + 5]
        limiter = RedisRateLimiter(server.url, clock=lambda: now[0], retry_seconds=0.3)
        assert [limiter.hit("a:1", 3, 60).allowed for _ in range(2)] == [True, True]

        server.stop(signal.SIGKILL)
        verdicts = [limiter.hit("a:1", 3, 60) for _ in range(4)]
        assert [v.allowed for v in verdicts] == [True, True, True, False]  # memory: 3 a window
        assert verdicts[-1].retry_after == 55
        assert "Redis unavailable" in caplog.text

        server.start()
        time.sleep(0.3)  # Redis is tried again after retry_seconds
        assert limiter.hit("a:1", 3, 60).allowed  # the restarted Redis is empty: counts anew
        assert "Redis is back" in caplog.text
        assert int(redis.Redis.from_url(server.url).get(
            f"hotline:chat:rl:a:1:60:{int(now[0] // 60)}")) == 1


def test_a_hung_redis_costs_one_timeout_per_retry_interval_not_per_request() -> None:
    with RedisServer() as server:
        limiter = RedisRateLimiter(server.url)  # 0.5 s socket timeouts, retried every 2 s
        assert limiter.hit("a:2", 100, 60).allowed
        server.pause()
        try:
            started = time.monotonic()
            assert all(limiter.hit("a:2", 100, 60).allowed for _ in range(20))
            assert time.monotonic() - started < 1.5  # not 20 × 0.5 s
        finally:
            server.resume()
