"""The gateway's metrics (bot/gateway/metrics.py, bot/metrics.py): /metrics and its token,
the request id, and each metric moving when its event happens.

Voice turns go through the phone line's fixtures (signed webhooks, real records,
Rasa unreachable or the stand-in of its voice channel); chat turns through the
chat API against the fake Rasa server (a real HTTP server on loopback). The
values are read from the process's default registry, before and after.
"""
from __future__ import annotations

import dataclasses
import secrets
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY

from bot.flows.voice import voice_flow
from bot.gateway import create_app
from bot.gateway.chat.ratelimit import MemoryRateLimiter
from bot.gateway.voice.sms import SmsSender
from bot.records.clock import utc_now
from bot.records.throttle import call_sources
from bot.records.verification import verify_identity
from bot.settings import Settings, load_settings
from tests.bot.gateway.conftest import FakeRasa
from tests.bot.gateway.voice.conftest import (  # noqa: F401 - fixtures
    AFTER_HOURS,
    CALLER,
    IN_HOURS,
    StandInRasa,
    Twilio,
    app,
    call_sid,
    clock,
    rasa,
    spoken,
    start,
    twilio,
    voice_settings,
)
from tests.bot.gateway.voice.test_dialogue import key_in
from tests.bot.gateway.voice.test_sms import CREDENTIALS, RecordingTwilio, _complaint, _queue


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Delta:
    """How much each named sample moved since it was made."""

    def __init__(self, *samples: tuple[str, dict[str, str]]) -> None:
        self.samples = samples
        self.before = [value(name, **labels) for name, labels in samples]

    def moved(self) -> list[float]:
        return [value(name, **labels) - before
                for (name, labels), before in zip(self.samples, self.before)]


def turns(channel: str, outcome: str) -> tuple[str, dict[str, str]]:
    return "hotline_turns_total", {"channel": channel, "outcome": outcome}


# ------------------------------------------------------------------ /metrics


def _production(**changes: Any) -> Settings:
    key = lambda: secrets.token_urlsafe(48)  # noqa: E731
    return dataclasses.replace(
        Settings(), env="production", database_url="sqlite:///unused-production.db",
        rasa_token=key(), secret_key=key(), gateway_channel_secret=key(),
        twilio_auth_token=key(), redis_url="redis://127.0.0.1:6379/15", **changes)


def _get_metrics(settings: Settings, **headers: str):  # type: ignore[no-untyped-def]
    gateway = create_app({"HOTLINE_SETTINGS": settings, "TESTING": True})
    return gateway.test_client().get("/metrics", headers=headers)


def test_development_serves_the_metrics_without_a_token() -> None:
    answer = _get_metrics(Settings(env="test"))
    assert answer.status_code == 200
    assert answer.mimetype == "text/plain" and b"# TYPE hotline_turns_total counter" in answer.data


def test_production_refuses_the_metrics_without_a_token_set() -> None:
    answer = _get_metrics(_production())
    assert answer.status_code == 403 and b"hotline_" not in answer.data


@pytest.mark.parametrize("env", ["test", "production"])
@pytest.mark.parametrize("header", ["", "Bearer", "Bearer wrong", "Basic {token}", "{token}",
                                    "Bearer {token}x", "bearer {token} "])
def test_with_a_token_set_only_its_bearer_reads_the_metrics(env: str, header: str) -> None:
    token = secrets.token_urlsafe(48)
    settings = (_production(metrics_token=token) if env == "production"
                else Settings(env=env, metrics_token=token))
    refused = _get_metrics(settings, Authorization=header.format(token=token))
    assert refused.status_code == 401 and b"hotline_" not in refused.data
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    answered = _get_metrics(settings, Authorization=f"Bearer {token}")
    assert answered.status_code == 200 and b"hotline_turns_total" in answered.data


def test_a_weak_metrics_token_is_refused_in_production() -> None:
    from bot.settings import SettingsError

    with pytest.raises(SettingsError, match="METRICS_TOKEN"):
        _production(metrics_token="metrics").validate()


@pytest.mark.parametrize(("given", "kept"), [
    ("lb-0123456789abcdef", True), ("short", False), ("x" * 65, False),
    ("bad id with spaces", False), ("13812345678;drop", False)])
def test_every_answer_carries_a_request_id(given: str, kept: bool) -> None:
    gateway = create_app({"HOTLINE_SETTINGS": Settings(env="test"), "TESTING": True})
    answer = gateway.test_client().get("/metrics", headers={"X-Request-ID": given})
    request_id = answer.headers["X-Request-ID"]
    assert (request_id == given) is kept and 8 <= len(request_id) <= 64


# ------------------------------------------------------------------ phone


def test_an_answered_phone_turn_is_counted_with_rasas_time(
        twilio: Twilio, rasa: StandInRasa) -> None:
    moved = Delta(turns("voice", "answered"),
                  ("hotline_turn_duration_seconds_count", {"channel": "voice"}),
                  ("hotline_rasa_request_duration_seconds_count", {"channel": "voice"}))
    start(twilio)
    rasa.answer({"text": "您的问题我来解答。"})
    twilio.twiml("/voice/turn?t=1", CallSid=call_sid(), SpeechResult="怎么提取公积金")
    assert moved.moved() == [2, 2, 1]  # the greeting and the turn; one of them asked Rasa


def test_rasa_unreachable_is_an_apology_a_rasa_error_and_a_transfer(twilio: Twilio) -> None:
    moved = Delta(turns("voice", "apology"),
                  ("hotline_rasa_errors_total", {"channel": "voice", "reason": "unreachable"}),
                  ("hotline_transfers_total", {"channel": "voice", "reason": "backend_error"}))
    start(twilio)
    doc = twilio.twiml("/voice/turn?t=1", CallSid=call_sid(), SpeechResult="我要投诉")
    assert doc.xpath("//Dial")  # transferred in agent hours
    assert moved.moved() == [1, 1, 1]


def test_rasa_past_the_turn_deadline_is_a_timeout_and_a_deadline_miss(
        twilio: Twilio, fake_rasa: FakeRasa, app) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from bot.gateway.rasa import RasaClient

    app.extensions["voice"].dialogue.rasa = RasaClient(
        fake_rasa.url, channel="voice", channel_secret="test-secret")
    fake_rasa.delay = 2.0  # the test deadline is 1.5 s
    moved = Delta(("hotline_rasa_errors_total", {"channel": "voice", "reason": "timeout"}),
                  ("hotline_voice_deadline_misses_total", {"stage": "rasa"}),
                  turns("voice", "apology"))
    start(twilio)
    twilio.twiml("/voice/turn?t=1", CallSid=call_sid(), SpeechResult="我要投诉")
    assert moved.moved() == [1, 1, 1]


def test_a_webhook_answered_past_the_deadline_is_a_miss(twilio: Twilio, app) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    moved = Delta(("hotline_voice_deadline_misses_total", {"stage": "webhook"}))
    start(twilio)
    assert moved.moved() == [0]
    app.extensions["voice"].deadline_s = 0.0  # every webhook is now late
    twilio.twiml("/voice/turn?t=1", CallSid=call_sid(), Digits="9")
    assert moved.moved() == [1]


def test_a_callback_after_hours_is_counted(twilio: Twilio, clock) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    clock.now = AFTER_HOURS
    moved = Delta(("hotline_callbacks_total", {"channel": "voice", "outcome": "recorded"}))
    start(twilio)
    doc = twilio.twiml("/voice/turn?t=1", CallSid=call_sid(), Digits="0")  # the person key
    assert "回电" in spoken(doc) or "回复" in spoken(doc)
    assert moved.moved() == [1]


def test_phone_verification_outcomes_and_the_throttle_are_counted(
        twilio: Twilio, rasa: StandInRasa, db_url: str) -> None:
    moved = Delta(("hotline_verifications_total", {"channel": "voice", "outcome": "mismatch"}))
    key_in(twilio, rasa, password="000000")  # no such depositor: a mismatch, from the records
    assert moved.moved() == [1]

    from bot.records.db import session_scope

    now = utc_now()
    with session_scope(db_url) as session:
        for n, account in enumerate(("990000000001", "990000000002", "990000000003")):
            verify_identity(session, account, "000000", channel="voice",
                            conversation_id=call_sid(50 + n), settings=twilio.settings,
                            now=now - timedelta(minutes=40 - 6 * n),
                            sources=call_sources(CALLER, call_sid(50 + n)))
    moved = Delta(("hotline_verifications_total", {"channel": "voice", "outcome": "throttled"}),
                  ("hotline_rate_limit_refusals_total",
                   {"channel": "voice", "limit": "verify_source"}))
    twilio.twiml("/voice/status", CallSid=call_sid(), CallStatus="completed")
    _key_in_again(twilio, rasa)
    assert moved.moved() == [1, 1]


def _key_in_again(twilio: Twilio, rasa: StandInRasa) -> None:
    """The secure step of a second call from the same number."""
    twilio.twiml("/voice/incoming", CallSid=call_sid(2), From=CALLER, To="+862896319")
    rasa.answer({"text": "请先核验身份", "custom": {"secure_input": "identity"}})
    twilio.twiml("/voice/turn?t=1", CallSid=call_sid(2), Digits="1")
    twilio.twiml("/voice/secure?t=2", CallSid=call_sid(2), Digits="510104198503150017")
    twilio.twiml("/voice/secure?t=3", CallSid=call_sid(2), Digits="000000")


def test_sms_sent_and_failed_are_counted(db_url: str) -> None:
    settings = load_settings({"HOTLINE_ENV": "test", "DATABASE_URL": db_url, **CREDENTIALS})
    moved = Delta(("hotline_sms_total", {"purpose": "complaint_ticket", "outcome": "sent"}),
                  ("hotline_sms_total", {"purpose": "complaint_ticket", "outcome": "failed"}))
    sender = SmsSender(settings, voice_flow().sms, client_factory=lambda: RecordingTwilio())
    sender.deliver(_queue(sender, db_url, _complaint(db_url, "13812345678")).id)
    failing = SmsSender(settings, voice_flow().sms,
                        client_factory=lambda: RecordingTwilio(fail=True))
    failing.deliver(_queue(failing, db_url, _complaint(db_url, "13912345678")).id)
    assert moved.moved() == [1, 1]


# ------------------------------------------------------------------ web chat


@pytest.fixture
def chat(db_url: str, fake_rasa: FakeRasa):  # type: ignore[no-untyped-def]
    settings = load_settings({"HOTLINE_ENV": "test", "DATABASE_URL": db_url,
                              "RASA_URL": fake_rasa.url, "CHAT_RATE_PER_SESSION": "3",
                              "CHAT_RASA_TIMEOUT_SECONDS": "2"})
    gateway = create_app({"HOTLINE_SETTINGS": settings, "TESTING": True,
                          "CHAT_RATE_LIMITER": MemoryRateLimiter(), "CHAT_CLOCK": lambda: IN_HOURS})
    client = gateway.test_client()
    started = client.post("/chat/api/session", json={})
    assert started.status_code == 200
    return client, started.get_json()["conversation_id"]


def _say(chat, text: str = "怎么提取公积金"):  # type: ignore[no-untyped-def]
    client, cid = chat
    return client.post("/chat/api/message", json={"conversation_id": cid, "text": text})


@pytest.mark.parametrize(("status", "body", "reason"), [
    (500, [{"text": "x"}], "http_error"), (200, [], "no_reply"), (200, {"a": 1}, "bad_reply")])
def test_a_chat_turn_rasa_failed_is_an_apology_with_the_reason(
        chat, fake_rasa: FakeRasa, status: int, body: Any, reason: str) -> None:  # type: ignore[no-untyped-def]
    fake_rasa.reply_with(body, status)
    moved = Delta(turns("webchat", "apology"),
                  ("hotline_rasa_errors_total", {"channel": "webchat", "reason": reason}))
    assert _say(chat).status_code == 503
    assert moved.moved() == [1, 1]


def test_chat_turns_and_the_session_rate_limit_are_counted(chat) -> None:  # type: ignore[no-untyped-def]
    moved = Delta(turns("webchat", "answered"), turns("webchat", "refused"),
                  ("hotline_rate_limit_refusals_total", {"channel": "webchat", "limit": "session"}),
                  ("hotline_rasa_request_duration_seconds_count", {"channel": "webchat"}))
    answers = [_say(chat).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    client, _ = chat
    assert client.options("/chat/api/message").status_code == 204  # a preflight: no turn
    assert moved.moved() == [3, 1, 1, 3]


def test_a_chat_hand_over_in_hours_then_a_callback_are_counted(
        chat, fake_rasa: FakeRasa) -> None:  # type: ignore[no-untyped-def]
    fake_rasa.reply_with([{"text": "正在为您转接人工客服。", "custom": {"handover": True}}])
    moved = Delta(("hotline_transfers_total", {"channel": "webchat", "reason": "requested"}),
                  ("hotline_callbacks_total", {"channel": "webchat", "outcome": "recorded"}))
    assert _say(chat, "转人工").status_code == 200
    client, cid = chat
    answer = client.post("/chat/api/callback", json={"conversation_id": cid, "phone": "13812345678"})
    assert answer.status_code == 200
    assert moved.moved() == [1, 1]


def test_a_chat_verification_is_counted_by_outcome(chat, fake_rasa: FakeRasa) -> None:  # type: ignore[no-untyped-def]
    fake_rasa.reply_with([{"text": "请先核验身份。", "custom": {"secure_input": "identity"}}])
    assert _say(chat, "我的余额").get_json()["secure_step"] is True
    fake_rasa.reply_with([{"text": "核验未通过。"}])
    moved = Delta(("hotline_verifications_total", {"channel": "webchat", "outcome": "mismatch"}),
                  turns("webchat", "answered"))
    client, cid = chat
    answer = client.post("/chat/api/verify", json={
        "conversation_id": cid, "identifier": "510104198503150017", "password": "000000"})
    assert answer.status_code == 200
    assert moved.moved() == [1, 1]
