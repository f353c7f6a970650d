"""The chat's secure step against the per-source throttle (real assistant and records).

An address that keeps failing is told, in the form, to wait (slowed), then
that online verification is paused (stopped); a throttled attempt reaches
neither the password check nor Rasa, and counts against no account. An IPv6
visitor is one source per /64 network.
"""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import func, select

from bot.flows.voice import voice_flow
from bot.gateway.voice.sms import SmsSender
from bot.records.account_models import AuthFailure
from bot.records.clock import utc_now
from bot.records.db import session_scope
from bot.records.throttle import web_sources
from bot.records.seed import DEMO_BY_KEY
from bot.records.verification import verify_identity
from bot.settings import load_settings
from tests.bot.gateway.chat.conftest import start_session
from tests.bot.gateway.chat.test_api import ask_for_verification, error_of, post, tracker
from tests.bot.gateway.voice.test_sms import CREDENTIALS, RecordingTwilio

# Valid account numbers that no depositor has: failures lock nobody's account.
NOBODY = ["990000000001", "990000000002", "990000000003", "990000000004"]


def _client(app, address):  # type: ignore[no-untyped-def]
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _failures(stack) -> int:  # type: ignore[no-untyped-def]
    with session_scope(stack.database_url) as session:
        return session.scalar(select(func.count(AuthFailure.id)))


def _wrong(client, cid, identifier):  # type: ignore[no-untyped-def]
    return post(client, "verify",
                {"conversation_id": cid, "identifier": identifier, "password": "000000"})


def test_an_address_is_slowed_then_told_to_wait_and_rasa_hears_nothing(make_app, stack):
    app = make_app(chat_verify_attempts_per_session=10)
    client = _client(app, "203.0.113.61")
    cid = start_session(client)
    ask_for_verification(client, cid)
    for identifier in NOBODY[:2]:
        response = _wrong(client, cid, identifier)
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["secure_step"] is True
    events, failures = len(tracker(stack, cid)["events"]), _failures(stack)
    slowed = _wrong(client, cid, NOBODY[2])
    assert slowed.status_code == 429
    error = error_of(slowed)
    assert error["code"] == "verify_slowed"
    assert error["message"] == (
        "身份验证未通过的次数较多，为保护账户安全，请5分钟后再试；急事请拨打96319热线。"
    )
    assert 240 < int(slowed.headers["Retry-After"]) <= 300
    assert len(tracker(stack, cid)["events"]) == events  # Rasa heard nothing
    assert _failures(stack) == failures  # and no account was charged


def test_a_stopped_network_is_paused_for_hours_whatever_the_session(make_app, stack):
    app = make_app(chat_verify_attempts_per_session=10)
    settings = app.config["HOTLINE_SETTINGS"]
    # Three failures from this /64 earlier (other sessions, other gateway processes).
    earlier = utc_now() - timedelta(minutes=30)
    with session_scope(stack.database_url) as session:
        for minute, identifier in enumerate(NOBODY[:3]):
            verify_identity(session, identifier, "000000", channel="webchat",
                            conversation_id=f"earlier-{minute}", settings=settings,
                            now=earlier + timedelta(minutes=6 * minute),
                            sources=web_sources("2001:db8:61:1::1", f"earlier-{minute}"))
    client = _client(app, "2001:db8:61:1:abcd::99")  # same /64, new address, new session
    cid = start_session(client)
    ask_for_verification(client, cid)
    stopped = _wrong(client, cid, NOBODY[3])
    assert stopped.status_code == 429
    error = error_of(stopped)
    assert error["code"] == "verify_stopped"
    assert error["message"] == (
        "身份验证未通过的次数过多，为保护账户安全，已暂停在线验证，请24小时后再试；急事请拨打96319热线。"
    )
    # Another /64 is not stopped.
    other = _client(app, "2001:db8:61:2::1")
    cid = start_session(other)
    ask_for_verification(other, cid)
    assert _wrong(other, cid, NOBODY[3]).status_code == 200


def test_the_chat_attempt_that_locks_an_account_sends_the_owner_an_sms(make_app, stack):
    """Four wrong passwords from elsewhere, the fifth in this chat: the depositor's
    mobile gets the lock SMS through the gateway's sender (Twilio stand-in)."""
    demo = DEMO_BY_KEY["lockout"]
    stack.clear_auth_failures(demo.account_number)
    app = make_app(chat_verify_attempts_per_session=10)
    settings = app.config["HOTLINE_SETTINGS"]
    sent = RecordingTwilio()
    twilio_settings = load_settings({**stack.env, **CREDENTIALS})
    app.extensions["voice"].sms = SmsSender(twilio_settings, voice_flow().sms,
                                            client_factory=lambda: sent)
    try:
        with session_scope(stack.database_url) as session:
            for n in range(4):
                verify_identity(session, demo.account_number, "000000", channel="voice",
                                conversation_id=f"elsewhere-{n}", settings=settings)
        client = _client(app, "203.0.113.62")
        cid = start_session(client)
        ask_for_verification(client, cid)
        response = _wrong(client, cid, demo.account_number)
        assert response.status_code == 200 and response.get_json()["verified"] is False
        for _ in range(100):
            if sent.sent:
                break
            time.sleep(0.05)
        [message] = sent.sent
        assert message["to"] == "+86" + demo.phone
        assert demo.account_number not in message["body"] and "000000" not in message["body"]
        assert "****" in message["body"] and "96319" in message["body"]
    finally:
        stack.clear_auth_failures(demo.account_number)
