"""The SMS sender against a local fake of Twilio's Messages API (real HTTP, Twilio's
own client), on SQLite and PostgreSQL: back-off on a temporary error, no retry
on a permanent one, a lost answer left unknown, two senders racing, and the
SQLite race of issue 11."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from bot.flows.voice import voice_flow
from bot.gateway.voice.sms import SmsSender
from bot.records.clock import utc_now
from bot.records.db import make_engine, session_scope
from bot.records.sms_outbox import record_delivery
from bot.records.voice_models import SmsMessage, SmsStatus
from bot.settings import Settings, load_settings
from bot.sms.sender import OutboxSender, twilio_client
from tests.bot.sms.fake_twilio import FakeTwilio, accepted, during, fake_twilio, refused, slow

ACCOUNT_SID = "AC" + "5" * 32
TOKEN = "sms-test-auth-token"
PHONE = "13812345678"


def settings_for(db_url: str, **env: str) -> Settings:
    return load_settings({"HOTLINE_ENV": "test", "DATABASE_URL": db_url,
                          "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": TOKEN,
                          "TWILIO_FROM_NUMBER": "+12025550123", **env})


def queue(db_url: str, count: int = 1) -> list[int]:
    """``count`` pending SMS (complaint tickets), their ids."""
    with session_scope(db_url) as session:
        rows = [SmsMessage(to_number=f"138{n:08d}" if count > 1 else PHONE,
                           body=f"【成都住房公积金】您的投诉已受理，工单号TS{n:010d}。",
                           purpose="complaint_ticket", reference=f"TS{n:010d}",
                           status=SmsStatus.pending, created_at=utc_now())
                for n in range(count)]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def row(db_url: str, message_id: int) -> SmsMessage:
    with session_scope(db_url) as session:
        found = session.get(SmsMessage, message_id)
        assert found is not None
        session.expunge(found)
        return found


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with fake_twilio(ACCOUNT_SID, TOKEN) as fake:
        yield fake


def sender(db_url: str, twilio: FakeTwilio, **env: str) -> OutboxSender:
    return OutboxSender(settings_for(db_url, **env), api_base=twilio.url)


def test_a_temporary_error_is_retried_after_a_back_off_then_sent(
        db_url: str, twilio: FakeTwilio) -> None:
    [message_id] = queue(db_url)
    twilio.script = [refused(429, 20429), accepted()]
    smss = sender(db_url, twilio, SMS_RETRY_BASE_SECONDS="60")
    before = utc_now()
    assert smss.send_one(message_id) is SmsStatus.pending
    waiting = row(db_url, message_id)
    assert waiting.attempts == 1 and waiting.error == "Twilio 20429 (HTTP 429)"
    assert waiting.next_attempt_at is not None
    assert before + timedelta(seconds=30) <= waiting.next_attempt_at
    assert waiting.next_attempt_at <= utc_now() + timedelta(seconds=60)
    # Not due yet: the sender leaves it; once due, the second attempt goes out.
    assert smss.run_once().sent == 0 and twilio.requests == 1
    assert smss.run_once(now=utc_now() + timedelta(seconds=61)).sent == 1
    sent = row(db_url, message_id)
    assert sent.status is SmsStatus.sent and sent.attempts == 2 and sent.error is None
    assert sent.provider_sid == twilio.created[0]["Sid"]
    assert [(m["To"], m["From"]) for m in twilio.created] == [("+86" + PHONE, "+12025550123")]


def test_server_errors_stop_after_the_last_attempt(db_url: str, twilio: FakeTwilio) -> None:
    [message_id] = queue(db_url)
    twilio.script = [refused(503, 0), refused(500, 0)]
    smss = sender(db_url, twilio, SMS_MAX_ATTEMPTS="2")
    assert smss.send_one(message_id) is SmsStatus.pending
    assert smss.run_once(now=utc_now() + timedelta(hours=2)).failed == 1
    failed = row(db_url, message_id)
    assert (failed.status, failed.attempts, failed.error) == (
        SmsStatus.failed, 2, "Twilio (HTTP 500)")
    assert smss.run_once(now=utc_now() + timedelta(days=1)).sent == 0
    assert twilio.requests == 2 and twilio.created == []


@pytest.mark.parametrize("code", [21610, 21211, 21614])
def test_a_permanent_error_fails_at_once_and_is_not_retried(
        db_url: str, twilio: FakeTwilio, code: int) -> None:
    [message_id] = queue(db_url)
    twilio.script = [refused(400, code)]
    smss = sender(db_url, twilio)
    assert smss.send_one(message_id) is SmsStatus.failed
    assert smss.run_once(now=utc_now() + timedelta(days=1)).sent == 0
    failed = row(db_url, message_id)
    assert failed.status is SmsStatus.failed and failed.attempts == 1
    assert failed.error == f"Twilio {code} (HTTP 400)" and PHONE not in failed.error
    assert twilio.requests == 1


def test_twilio_unreachable_is_retried(db_url: str) -> None:
    with fake_twilio(ACCOUNT_SID, TOKEN) as gone:
        url = gone.url
    [message_id] = queue(db_url)
    smss = OutboxSender(settings_for(db_url), api_base=url)  # nothing listens there now
    assert smss.send_one(message_id) is SmsStatus.pending
    assert row(db_url, message_id).error == "ConnectionError"


def test_a_lost_answer_is_unknown_never_resent_and_reconciled_by_the_status_callback(
        db_url: str, twilio: FakeTwilio) -> None:
    """Twilio took the message but the answer did not come in time: not sent again
    by the sender; Twilio's status report for the row makes it sent."""
    [message_id] = queue(db_url)
    twilio.script = [slow(3)]
    smss = sender(db_url, twilio, SMS_TWILIO_TIMEOUT_SECONDS="1",
                  PUBLIC_BASE_URL="https://hotline.example.cn")
    assert smss.send_one(message_id) is SmsStatus.unknown
    assert row(db_url, message_id).error == "ReadTimeout"
    assert smss.run_once(now=utc_now() + timedelta(days=1)).sent == 0
    [created] = twilio.created
    assert twilio.requests == 1
    assert created["StatusCallback"] == (
        f"https://hotline.example.cn/voice/sms-status?outbox={message_id}")
    with session_scope(db_url) as session:
        assert record_delivery(session, provider_sid=created["Sid"], delivery_status="delivered",
                               message_id=message_id)
    reconciled = row(db_url, message_id)
    assert (reconciled.status, reconciled.provider_sid, reconciled.delivery_status) == (
        SmsStatus.sent, created["Sid"], "delivered")


def test_a_sender_that_died_mid_attempt_leaves_the_row_unknown(
        db_url: str, twilio: FakeTwilio) -> None:
    [message_id] = queue(db_url)
    with session_scope(db_url) as session:
        session.execute(text("UPDATE sms_outbox SET status = 'sending', attempts = 1, "
                             "claimed_until = :at WHERE id = :id"),
                        {"at": utc_now() - timedelta(seconds=1), "id": message_id})
    done = sender(db_url, twilio).run_once()
    assert (done.expired, done.sent) == (1, 0)
    assert row(db_url, message_id).status is SmsStatus.unknown and twilio.requests == 0


def test_two_senders_racing_send_each_sms_once(db_url: str, twilio: FakeTwilio) -> None:
    """Four sender threads start together on the same due rows (behind a barrier):
    every SMS reaches Twilio exactly once."""
    ids = queue(db_url, 24)
    senders = [sender(db_url, twilio) for _ in range(4)]
    barrier = threading.Barrier(len(senders))
    errors: list[BaseException] = []

    def work(one: OutboxSender) -> None:
        try:
            barrier.wait(timeout=10)
            one.run_once()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(one,)) for one in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    bodies = [m["Body"] for m in twilio.created]
    assert len(bodies) == len(set(bodies)) == len(ids) == twilio.requests
    with session_scope(db_url) as session:
        rows = session.scalars(select(SmsMessage)).all()
        assert {(r.status, r.attempts) for r in rows} == {(SmsStatus.sent, 1)}
        assert len({r.provider_sid for r in rows}) == len(ids)


def test_a_write_while_the_sms_is_in_flight_does_not_lose_it(
        db_url: str, twilio: FakeTwilio) -> None:
    """Issue 11: on SQLite, another connection committing while Twilio was being
    called made the old ``deliver`` fail to record a sent SMS (left pending)."""
    first, other = queue(db_url, 2)
    engine = make_engine(db_url)

    def another_write() -> None:
        with engine.begin() as connection:
            connection.execute(text("UPDATE sms_outbox SET error = 'touched' WHERE id = :id"),
                               {"id": other})

    twilio.script = [during(another_write)]
    settings = settings_for(db_url)
    try:
        smss = SmsSender(settings, voice_flow().sms,
                         client_factory=lambda: twilio_client(settings, twilio.url))
        assert smss.deliver(first) is SmsStatus.sent
    finally:
        engine.dispose()
    assert row(db_url, first).status is SmsStatus.sent
    assert row(db_url, other).error == "touched"
    assert len(twilio.created) == 1


def test_an_sms_waiting_too_long_is_given_up_not_sent(db_url: str, twilio: FakeTwilio) -> None:
    old, fresh = queue(db_url, 2)
    with session_scope(db_url) as session:
        session.execute(text("UPDATE sms_outbox SET created_at = :at WHERE id = :id"),
                        {"at": utc_now() - timedelta(hours=25), "id": old})
    done = sender(db_url, twilio, SMS_MAX_AGE_HOURS="24").run_once()
    assert (done.failed, done.sent) == (1, 1)
    assert (row(db_url, old).status, row(db_url, old).error) == (SmsStatus.failed,
                                                                 "too old to send")
    assert row(db_url, fresh).status is SmsStatus.sent and len(twilio.created) == 1
