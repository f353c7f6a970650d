"""Telling a complaint's status to the person who filed it, not to whoever guesses a ticket.

Ticket numbers are ``TS`` + the filing date + a daily sequence: anyone can
guess one. :func:`check_status` grants a ticket's status only with the last
four digits of the contact phone filed with it; an unknown ticket, wrong digits
and a complaint filed without a phone are refused alike, so a refusal tells
nothing about a ticket.

Each wrong pair of a filed ticket is noted in its audit trail
(``status_check_failed``, without the digits). After
:data:`MAX_FAILED_CHECKS_PER_TICKET` of them within
:data:`FAILED_CHECKS_WINDOW`, whatever conversations they came from, even the
right digits no longer tell the status: the caller is asked to go to a person
(``held``). Guessing the digits from many conversations thus stops, and the
depositor can still learn the status from staff. (Each conversation is also
limited by the complaint-status action itself.)

Functions take the session first and leave the transaction to the caller.
"""
from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.records.clock import utc_now
from bot.records.complaints import find_complaint
from bot.records.service_models import Complaint, ComplaintEvent

PHONE_TAIL_LENGTH = 4
MAX_FAILED_CHECKS_PER_TICKET = 10
FAILED_CHECKS_WINDOW = timedelta(hours=24)
FAILED_CHECK = "status_check_failed"
ASSISTANT = "assistant"


@dataclass(frozen=True)
class StatusCheck:
    """The outcome: the complaint when its status may be told, or why not."""

    complaint: Complaint | None = None
    held: bool = False  # the right digits, but too many wrong ones lately: a person tells

    @property
    def granted(self) -> bool:
        return self.complaint is not None


def _tail_matches(complaint: Complaint, said: str) -> bool:
    stored = complaint.contact_phone or ""
    expected = stored[-PHONE_TAIL_LENGTH:] if len(stored) >= PHONE_TAIL_LENGTH else ""
    matches = hmac.compare_digest(said.encode(), expected.encode())
    return bool(expected) and len(said) == PHONE_TAIL_LENGTH and matches


def failed_checks(session: Session, complaint: Complaint, *, now: datetime | None = None) -> int:
    """Wrong digits given for this complaint within the window before ``now``."""
    since = utc_now(now) - FAILED_CHECKS_WINDOW
    return session.scalar(
        select(func.count(ComplaintEvent.id)).where(
            ComplaintEvent.complaint_id == complaint.id,
            ComplaintEvent.action == FAILED_CHECK,
            ComplaintEvent.at >= since,
        )
    ) or 0


def check_status(session: Session, ticket_id: str, phone_tail: str, *,
                 now: datetime | None = None) -> StatusCheck:
    """Whether the status of ``ticket_id`` may be told to someone who says ``phone_tail``."""
    complaint = find_complaint(session, ticket_id)
    if complaint is None:
        return StatusCheck()
    said = phone_tail if isinstance(phone_tail, str) else ""
    if not _tail_matches(complaint, said):
        session.add(ComplaintEvent(complaint_id=complaint.id, at=utc_now(now), actor=ASSISTANT,
                                   action=FAILED_CHECK, detail=None))
        session.flush()
        return StatusCheck()
    if failed_checks(session, complaint, now=now) >= MAX_FAILED_CHECKS_PER_TICKET:
        return StatusCheck(held=True)
    return StatusCheck(complaint=complaint)
