"""A complaint's status only with the contact phone's last digits; a ticket guessed at too often is held."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.records.complaint_status import (
    FAILED_CHECK,
    MAX_FAILED_CHECKS_PER_TICKET,
    check_status,
    failed_checks,
)
from bot.records.complaints import create_complaint
from bot.records.service_models import Complaint, ComplaintEvent

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=timezone.utc)


def _file(session: Session, key: str = "k-1", phone: str | None = "13812345678") -> Complaint:
    complaint, _ = create_complaint(
        session, idempotency_key=key, category="attitude", channel="webchat",
        description="窗口工作人员态度生硬，不解释提取材料。", contact_phone=phone, now=NOW)
    return complaint


def _failures(session: Session) -> list[tuple[int, str, str | None]]:
    return [(e.complaint_id, e.actor, e.detail) for e in session.scalars(
        select(ComplaintEvent).where(ComplaintEvent.action == FAILED_CHECK))]


def test_the_right_digits_tell_the_status(db_session: Session) -> None:
    complaint = _file(db_session)
    for ticket in (complaint.ticket_id, complaint.ticket_id[2:], complaint.ticket_id.lower()):
        check = check_status(db_session, ticket, "5678", now=NOW)
        assert check.granted and check.complaint is complaint and not check.held
    assert _failures(db_session) == []


def test_unknown_ticket_wrong_digits_and_no_phone_are_refused_alike(db_session: Session) -> None:
    complaint = _file(db_session)
    no_phone = _file(db_session, key="k-2", phone=None)
    refusals = [check_status(db_session, ticket, tail, now=NOW) for ticket, tail in (
        (complaint.ticket_id, "5679"), (complaint.ticket_id, "678"), (complaint.ticket_id, "45678"),
        (complaint.ticket_id, ""), ("TS2611279999", "5678"), ("garbage", "5678"),
        (no_phone.ticket_id, "0000"), (no_phone.ticket_id, ""))]
    assert all(check == refusals[0] for check in refusals)
    assert not refusals[0].granted and not refusals[0].held
    # Each wrong pair of a filed ticket is in its trail, without the digits; unknown ones nowhere.
    assert _failures(db_session) == [(complaint.id, "assistant", None)] * 4 + [(no_phone.id, "assistant", None)] * 2


def test_a_ticket_guessed_at_too_often_is_held_even_with_the_right_digits(db_session: Session) -> None:
    complaint = _file(db_session)
    for guess in range(MAX_FAILED_CHECKS_PER_TICKET - 1):
        assert not check_status(db_session, complaint.ticket_id, f"{guess:04d}", now=NOW).granted
    assert check_status(db_session, complaint.ticket_id, "5678", now=NOW).granted  # still below
    assert not check_status(db_session, complaint.ticket_id, "9999", now=NOW).granted
    assert failed_checks(db_session, complaint, now=NOW) == MAX_FAILED_CHECKS_PER_TICKET
    held = check_status(db_session, complaint.ticket_id, "5678", now=NOW)
    assert held.held and not held.granted
    # Wrong digits still get the plain refusal: being held tells a guesser nothing.
    assert not check_status(db_session, complaint.ticket_id, "1111", now=NOW).held
    # A day later the old failures no longer count.
    later = NOW + timedelta(hours=24, seconds=1)
    assert check_status(db_session, complaint.ticket_id, "5678", now=later).granted
