"""The outbox's claim, outcomes, delivery reports and the supervisor's retry, on
SQLite and PostgreSQL (the sender's behaviour end to end: tests/bot/sms)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from bot.records.clock import utc_now
from bot.records.db import session_scope
from bot.records.errors import DeskConflictError, DeskPermissionError
from bot.records.sms_outbox import (
    claim,
    due_ids,
    outbox_counts,
    record_delivery,
    record_failed,
    record_sent,
    retry_by_supervisor,
)
from bot.records.staff_models import StaffRole
from bot.records.voice_models import SmsMessage, SmsStatus
from tests.bot.records.conftest import add_staff

SID = "SM" + "c" * 32


def _row(db_url: str, **values: object) -> int:
    with session_scope(db_url) as session:
        message = SmsMessage(to_number="13812345678", body="b", purpose="complaint_ticket",
                             reference=str(values.pop("reference", "TS1")),
                             status=values.pop("status", SmsStatus.pending),
                             created_at=utc_now(), **values)
        session.add(message)
        session.flush()
        return message.id


def _get(db_url: str, message_id: int) -> SmsMessage:
    with session_scope(db_url) as session:
        message = session.get(SmsMessage, message_id)
        session.expunge(message)
        return message


def test_a_row_is_claimed_once_and_only_when_due(db_url: str) -> None:
    now = utc_now()
    due = _row(db_url)
    later = _row(db_url, reference="TS2", next_attempt_at=now + timedelta(minutes=5))
    with session_scope(db_url) as session:
        assert due_ids(session, now=now) == [due]
        assert claim(session, later, lease_seconds=60, now=now) is None
        assert claim(session, due, lease_seconds=60, now=now) == 1
        assert claim(session, due, lease_seconds=60, now=now) is None  # already sending
    claimed = _get(db_url, due)
    assert claimed.status is SmsStatus.sending and claimed.claimed_until == now + timedelta(
        seconds=60)


def test_an_outcome_counts_only_for_the_current_attempt(db_url: str) -> None:
    message_id = _row(db_url)
    with session_scope(db_url) as session:
        attempt = claim(session, message_id, lease_seconds=60)
    with session_scope(db_url) as session:
        assert not record_failed(session, message_id, attempt + 1, "stale")
        assert record_sent(session, message_id, attempt, SID)
        assert not record_failed(session, message_id, attempt, "too late")  # sent stays sent
    sent = _get(db_url, message_id)
    assert (sent.status, sent.provider_sid, sent.claimed_until) == (SmsStatus.sent, SID, None)


@pytest.mark.parametrize(("status", "reconciled"), [
    (SmsStatus.unknown, True), (SmsStatus.sending, True), (SmsStatus.pending, False),
    (SmsStatus.failed, False)])
def test_a_report_names_its_row_and_settles_only_an_open_question(
        db_url: str, status: SmsStatus, reconciled: bool) -> None:
    """The callback URL's row id gives a row without a SID its message, but only a row
    whose attempt had no answer: a row queued again ignores the old message's reports."""
    message_id = _row(db_url, status=status, attempts=1)
    with session_scope(db_url) as session:
        assert record_delivery(session, provider_sid=SID, delivery_status="sent",
                               message_id=message_id) is reconciled
    row = _get(db_url, message_id)
    assert (row.provider_sid == SID) is reconciled
    assert row.status is (SmsStatus.sent if reconciled else status)


def test_unknown_report_statuses_are_ignored(db_url: str) -> None:
    message_id = _row(db_url, status=SmsStatus.sent, provider_sid=SID)
    with session_scope(db_url) as session:
        assert not record_delivery(session, provider_sid=SID, delivery_status="exploded")
        assert record_delivery(session, provider_sid=SID, delivery_status="failed",
                               error_code="30007")
        assert not record_delivery(session, provider_sid=SID, delivery_status="delivered")
    row = _get(db_url, message_id)
    assert (row.delivery_status, row.delivery_error) == ("failed", "30007")


def test_only_a_supervisor_retries_and_only_what_did_not_arrive(db_url: str) -> None:
    failed = _row(db_url, status=SmsStatus.failed, attempts=6, error="Twilio (HTTP 500)")
    pending = _row(db_url, reference="TS2")
    with session_scope(db_url) as session:
        agent = add_staff(session, "lihua")
        supervisor = add_staff(session, "wangfang", StaffRole.supervisor)
        with pytest.raises(DeskPermissionError):
            retry_by_supervisor(session, agent, failed)
        with pytest.raises(DeskConflictError):
            retry_by_supervisor(session, supervisor, pending)
        retry_by_supervisor(session, supervisor, failed)
    row = _get(db_url, failed)
    assert (row.status, row.attempts, row.error) == (SmsStatus.pending, 0, None)
    with session_scope(db_url) as session:
        counts = outbox_counts(session, utc_now() - timedelta(days=1))
        assert counts.by_status["pending"] == 2 and counts.total == 2
