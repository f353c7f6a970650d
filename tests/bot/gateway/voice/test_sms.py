"""SMS to callers (complaint ticket, policy answer): outbox without Twilio credentials,
Twilio REST with them.

No test touches the network: with credentials, the Twilio client is replaced
by a stand-in that records what would have been sent.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from bot.flows.voice import voice_flow
from bot.gateway.voice.security import sign
from bot.gateway.voice.sms import SmsSender, date_text, mobile_number, policy_reference
from bot.knowledge.content import Content, SeedTopic, SeedVersion
from bot.records.complaints import create_complaint
from bot.records.db import session_scope
from bot.records.knowledge import find_topic
from bot.records.knowledge_editing import load_seed
from bot.records.voice_models import SmsMessage, SmsStatus
from bot.settings import load_settings


def _complaint(db_url: str, phone: str = "13812345678") -> str:
    with session_scope(db_url) as session:
        complaint, _ = create_complaint(
            session, idempotency_key=f"k-{phone}", category="attitude", channel="voice",
            description="窗口工作人员态度很差", location="后子门大厅", contact_phone=phone,
            conversation_id="CA" + "1" * 32,
        )
        return complaint.ticket_id


def _sender(db_url: str, **env: str) -> SmsSender:
    settings = load_settings({"HOTLINE_ENV": "test", "DATABASE_URL": db_url, **env})
    return SmsSender(settings, voice_flow().sms)


def _queue(sender: SmsSender, db_url: str, ticket: str,
           caller: str | None = "13800000009") -> SmsMessage | None:
    with session_scope(db_url) as session:
        return sender.queue_complaint_ticket(session, ticket_id=ticket, caller_number=caller,
                                             call_sid="CA" + "1" * 32)


def test_without_credentials_the_sms_waits_in_the_outbox(db_url: str) -> None:
    ticket = _complaint(db_url)
    sender = _sender(db_url)
    assert not sender.enabled
    message = _queue(sender, db_url, ticket)
    assert message is not None
    assert sender.deliver(message.id) is SmsStatus.pending
    with session_scope(db_url) as session:
        stored = session.scalar(select(SmsMessage))
        assert stored.status is SmsStatus.pending
        assert stored.to_number == "13812345678"
        assert ticket in stored.body
        assert stored.body.startswith("【成都住房公积金】")
        assert "年" in stored.body and "前答复您" in stored.body


def test_one_sms_per_ticket_even_if_asked_twice(db_url: str) -> None:
    ticket = _complaint(db_url)
    sender = _sender(db_url)
    first, second = _queue(sender, db_url, ticket), _queue(sender, db_url, ticket)
    assert first is not None and second is not None and first.id == second.id
    with session_scope(db_url) as session:
        assert session.scalar(select(func.count(SmsMessage.id))) == 1


def test_a_landline_contact_gets_the_sms_on_the_callers_mobile(db_url: str) -> None:
    ticket = _complaint(db_url, phone="02886279298")
    message = _queue(_sender(db_url), db_url, ticket, caller="13800000009")
    assert message is not None and message.to_number == "13800000009"


def test_no_mobile_anywhere_means_no_sms(db_url: str) -> None:
    ticket = _complaint(db_url, phone="02886279298")
    assert _queue(_sender(db_url), db_url, ticket, caller=None) is None


def test_an_unknown_ticket_sends_nothing(db_url: str) -> None:
    assert _queue(_sender(db_url), db_url, "TS2611279999") is None


SID = "CA" + "1" * 32


def _versions(db_url: str) -> list[int]:
    """A topic with two approved versions; their ids."""
    versions = tuple(
        SeedVersion(Content(full_text=f"第{n}版。", spoken_text=f"第{n}版。",
                            sms_text=f"【成都住房公积金】第{n}版全文。"), date(2026, n, 1), None)
        for n in (1, 2))
    with session_scope(db_url) as session:
        load_seed(session, [SeedTopic(key="withdraw_rent", category="提取", title="租房提取",
                                      ask="租房可以提取公积金吗", scope="租房", versions=versions)])
    with session_scope(db_url) as session:
        topic = find_topic(session, "withdraw_rent")
        assert topic is not None
        return [version.id for version in topic.versions]


def _queue_answer(sender: SmsSender, db_url: str, version: int, to: str = "13800000009",
                  topic: str = "withdraw_rent", call_sid: str = SID) -> SmsMessage | None:
    with session_scope(db_url) as session:
        return sender.queue_policy_answer(session, call_sid=call_sid, topic=topic,
                                          version_id=version, to_number=to)


def test_a_policy_answer_is_queued_once_per_call_and_version(db_url: str) -> None:
    first_version, second_version = _versions(db_url)
    sender = _sender(db_url)
    first = _queue_answer(sender, db_url, first_version)
    again = _queue_answer(sender, db_url, first_version, to="13912345678")
    other = _queue_answer(sender, db_url, second_version)
    later_call = _queue_answer(sender, db_url, first_version, call_sid="CA" + "2" * 32)
    assert first is not None and again is not None and first.id == again.id
    assert other is not None and later_call is not None
    with session_scope(db_url) as session:
        rows = list(session.scalars(select(SmsMessage).order_by(SmsMessage.id)))
        assert [(r.body, r.to_number) for r in rows] == [
            ("【成都住房公积金】第1版全文。", "13800000009"),
            ("【成都住房公积金】第2版全文。", "13800000009"),
            ("【成都住房公积金】第1版全文。", "13800000009")]
        assert rows[0].reference == policy_reference(SID, first_version)
        assert all(len(r.reference) <= 40 and r.purpose == "policy_answer" for r in rows)


@pytest.mark.parametrize("topic", ["withdraw_purchase", ""])
def test_a_version_of_another_topic_or_unknown_is_not_sent(db_url: str, topic: str) -> None:
    first_version, _ = _versions(db_url)
    sender = _sender(db_url)
    assert _queue_answer(sender, db_url, first_version, topic=topic) is None
    assert _queue_answer(sender, db_url, 999_999) is None
    with session_scope(db_url) as session:
        assert session.scalar(select(func.count(SmsMessage.id))) == 0


class RecordingTwilio:
    """Stands in for twilio.rest.Client: keeps the messages instead of sending them."""

    def __init__(self, fail: bool = False) -> None:
        self.sent: list[dict[str, str]] = []
        self.fail = fail
        self.messages = self

    def create(self, **kwargs: str) -> SimpleNamespace:
        if self.fail:
            raise RuntimeError("Twilio said no")
        self.sent.append(kwargs)
        return SimpleNamespace(sid="SM" + "0" * 32)


CREDENTIALS = {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "real-token",
               "TWILIO_FROM_NUMBER": "+12025550123"}


def test_with_credentials_the_sms_goes_through_twilio(db_url: str) -> None:
    ticket = _complaint(db_url)
    twilio = RecordingTwilio()
    settings = load_settings({"HOTLINE_ENV": "test", "DATABASE_URL": db_url, **CREDENTIALS})
    sender = SmsSender(settings, voice_flow().sms, client_factory=lambda: twilio)
    assert sender.enabled
    message = _queue(sender, db_url, ticket)
    assert message is not None
    assert sender.deliver(message.id) is SmsStatus.sent
    assert twilio.sent == [{"to": "+8613812345678", "from_": "+12025550123", "body": message.body}]
    with session_scope(db_url) as session:
        stored = session.get(SmsMessage, message.id)
        assert stored.status is SmsStatus.sent and stored.provider_sid and stored.sent_at
    # Delivered once: a second delivery does not send again.
    assert sender.deliver(message.id) is SmsStatus.sent
    assert len(twilio.sent) == 1


def test_an_unexpected_twilio_failure_is_recorded_as_unknown_not_raised(db_url: str) -> None:
    """An error that does not say whether the message went out: ``unknown``, never
    re-sent on its own; the error kept names the class, not the text."""
    ticket = _complaint(db_url)
    settings = load_settings({"HOTLINE_ENV": "test", "DATABASE_URL": db_url, **CREDENTIALS})
    twilio = RecordingTwilio(fail=True)
    sender = SmsSender(settings, voice_flow().sms, client_factory=lambda: twilio)
    message = _queue(sender, db_url, ticket)
    assert message is not None
    assert sender.deliver(message.id) is SmsStatus.unknown
    twilio.fail = False
    assert sender.deliver(message.id) is SmsStatus.unknown and twilio.sent == []
    with session_scope(db_url) as session:
        assert session.get(SmsMessage, message.id).error == "RuntimeError"


@pytest.mark.parametrize("env", [
    {"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_FROM_NUMBER": "+1202"},  # development token
    {"TWILIO_AUTH_TOKEN": "t", "TWILIO_FROM_NUMBER": "+1202"},
    {"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t"},
])
def test_partial_credentials_keep_the_outbox(env: dict[str, str]) -> None:
    settings = load_settings({"HOTLINE_ENV": "test", **env})
    assert not SmsSender(settings, voice_flow().sms).enabled


@pytest.mark.parametrize(("value", "mobile"), [
    ("13812345678", "13812345678"), ("+8613812345678", "13812345678"),
    ("02886279298", None), ("", None), (None, None), ("12345", None)])
def test_mobile_number(value, mobile) -> None:  # type: ignore[no-untyped-def]
    assert mobile_number(value) == mobile


def test_date_text() -> None:
    from datetime import date

    assert date_text(date(2026, 12, 4)) == "2026年12月4日"


def test_the_lock_notice_names_the_masked_account_once_per_lock(db_url: str) -> None:
    from tests.bot.records.conftest import ACCOUNT, ID_NUMBER, add_account

    settings = load_settings({"HOTLINE_ENV": "test", "DATABASE_URL": db_url})
    sender = SmsSender(settings, voice_flow().sms)
    with session_scope(db_url) as session:
        account = add_account(session)
        other = add_account(session, account_number="102030405099",
                            id_number="11010519491231002X", phone="02887654321")
        account_id, landline_id = account.id, other.id
    at = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)
    with session_scope(db_url) as session:
        message = sender.queue_account_locked(session, account_id=account_id, now=at)
        assert message is not None and message.to_number == "13800001234"
        assert message.body == (
            "【成都住房公积金】您的公积金账户1020****5060的查询密码已连续输错5次，为保护账户安全，"
            "已暂停自助查询24小时。如非本人操作，请拨打96319。")
        assert ACCOUNT not in message.body + message.reference
        assert ID_NUMBER not in message.body + message.reference
        # The same lock twice: one SMS. A landline only: none.
        assert sender.queue_account_locked(session, account_id=account_id, now=at) is None
        assert sender.queue_account_locked(session, account_id=landline_id, now=at) is None
        assert len(session.scalars(select(SmsMessage)).all()) == 1


# ----------------------------------------------------------- delivery reports

SMS_SID = "SM" + "a" * 32


def _sent_row(db_url: str) -> int:
    """An SMS Twilio accepted (SID known), without a delivery report yet."""
    with session_scope(db_url) as session:
        message = SmsMessage(to_number="13812345678", body="【成都住房公积金】测试", purpose="policy_answer",
                             reference="r-1", status=SmsStatus.sent, provider_sid=SMS_SID,
                             created_at=datetime.now(timezone.utc), attempts=1)
        session.add(message)
        session.flush()
        return message.id


def _report(twilio, message_id: int, status: str, **extra: str):  # type: ignore[no-untyped-def]
    return twilio.post(f"/voice/sms-status?outbox={message_id}", MessageSid=SMS_SID,
                       MessageStatus=status, AccountSid="AC" + "1" * 32, **extra)


def test_a_signed_delivery_report_is_recorded(twilio, db_url: str) -> None:  # type: ignore[no-untyped-def]
    message_id = _sent_row(db_url)
    assert _report(twilio, message_id, "undelivered", ErrorCode="30003").status_code == 204
    with session_scope(db_url) as session:
        row = session.get(SmsMessage, message_id)
        assert (row.delivery_status, row.delivery_error) == ("undelivered", "30003")
        assert row.delivery_at is not None


@pytest.mark.parametrize("signature", ["", "bm90IGEgc2lnbmF0dXJl", None])
def test_a_delivery_report_without_a_valid_signature_is_refused(
        twilio, db_url: str, signature: str | None) -> None:  # type: ignore[no-untyped-def]
    message_id = _sent_row(db_url)
    if signature is None:  # signed for another row: the query string is signed too
        signature = sign(f"{twilio.base}/voice/sms-status?outbox={message_id + 1}",
                         {"MessageSid": SMS_SID, "MessageStatus": "failed"},
                         twilio.settings.twilio_auth_token)
    response = twilio.post(f"/voice/sms-status?outbox={message_id}", signature=signature,
                           MessageSid=SMS_SID, MessageStatus="failed")
    assert response.status_code == 403
    with session_scope(db_url) as session:
        assert session.get(SmsMessage, message_id).delivery_status is None


def test_a_late_sent_does_not_overwrite_delivered_and_repeats_change_nothing(
        twilio, db_url: str) -> None:  # type: ignore[no-untyped-def]
    message_id = _sent_row(db_url)
    for status in ("queued", "delivered", "sent", "queued", "delivered", "undelivered"):
        assert _report(twilio, message_id, status).status_code == 204
    with session_scope(db_url) as session:
        row = session.get(SmsMessage, message_id)
        assert (row.status, row.delivery_status) == (SmsStatus.sent, "delivered")


@pytest.mark.parametrize("form", [
    {"MessageSid": "SMnothex", "MessageStatus": "delivered"},
    {"MessageSid": SMS_SID},
    {"MessageSid": SMS_SID, "MessageStatus": "teleported"},
    {"MessageSid": "SM" + "b" * 32, "MessageStatus": "delivered"},  # another message
])
def test_a_malformed_or_foreign_report_changes_nothing(
        twilio, db_url: str, form: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    message_id = _sent_row(db_url)
    assert twilio.post(f"/voice/sms-status?outbox={message_id}", **form).status_code == 204
    with session_scope(db_url) as session:
        row = session.get(SmsMessage, message_id)
        assert (row.provider_sid, row.delivery_status) == (SMS_SID, None)
