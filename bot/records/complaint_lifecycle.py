"""What staff do to a complaint on the desk: take, assign, start, close, reopen, notes.

The lifecycle is 已受理 (accepted) → 处理中 (in progress) → 已办结 (closed),
and a supervisor may reopen a closed case. The first person to take a case
owns it (首问负责制); the owner works it and a supervisor may step in on any
case or move it to someone else (改派). Every change, and every look at the
full contact phone, is a :class:`~bot.records.service_models.ComplaintEvent`
in the case's audit trail, written in the same transaction.

Functions take the session first and the acting
:class:`~bot.records.staff_models.StaffUser`, and leave the transaction to the
caller. A refused change raises a :class:`~bot.records.errors.DeskError` whose
``code`` the desk shows in Chinese; nothing is written then. Filing, finding
and listing complaints is :mod:`bot.records.complaints`.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.records.clock import utc_now
from bot.records.complaints import get_complaint
from bot.records.errors import DeskConflictError, DeskPermissionError, DeskValidationError
from bot.records.service_models import Complaint, ComplaintEvent, ComplaintStatus
from bot.records.staff import get_staff
from bot.records.staff_models import StaffRole, StaffUser
from bot.records.validation import form_text

MAX_REPLY_LENGTH = 2000
MAX_NOTE_LENGTH = 1000
MAX_REOPEN_REASON_LENGTH = 500


def _event(
    session: Session, complaint: Complaint, actor: StaffUser, action: str, detail: str | None,
    now: datetime,
) -> None:
    session.add(
        ComplaintEvent(complaint_id=complaint.id, at=now, actor=actor.username, action=action,
                       detail=detail)
    )


def _changed(session: Session, complaint: Complaint, now: datetime) -> None:
    complaint.updated_at = now
    session.flush()


def _may_work(actor: StaffUser, complaint: Complaint) -> None:
    """The owner works the case; a supervisor may step in on any case."""
    if actor.role is StaffRole.supervisor:
        return
    if complaint.owner != actor.username:
        raise DeskPermissionError("not_owner")


def take_complaint(
    session: Session, actor: StaffUser, ticket_id: str, *, now: datetime | None = None
) -> Complaint:
    """Take an open case that has no owner yet (首问负责: the taker owns it)."""
    complaint = get_complaint(session, ticket_id, for_update=True)
    if complaint.status is ComplaintStatus.closed:
        raise DeskConflictError("complaint_closed")
    if complaint.owner == actor.username:
        raise DeskConflictError("already_yours")
    if complaint.owner is not None:
        raise DeskConflictError("already_owned", owner=complaint.owner)
    now = utc_now(now)
    complaint.owner = actor.username
    _event(session, complaint, actor, "taken", None, now)
    _changed(session, complaint, now)
    return complaint


def assign_complaint(
    session: Session, actor: StaffUser, ticket_id: str, assignee: str, *,
    now: datetime | None = None,
) -> Complaint:
    """Give a case to a colleague.

    Anyone may assign a case that has no owner; moving a case from its owner
    to someone else (改派) is for supervisors.
    """
    complaint = get_complaint(session, ticket_id, for_update=True)
    target = get_staff(session, assignee)
    if target is None or not target.active:
        raise DeskValidationError("assignee_invalid")
    if complaint.status is ComplaintStatus.closed:
        raise DeskConflictError("complaint_closed")
    if complaint.owner == target.username:
        raise DeskConflictError("no_change")
    now = utc_now(now)
    if complaint.owner is None:
        action, detail = "assigned", target.username
    else:
        if actor.role is not StaffRole.supervisor:
            raise DeskPermissionError("supervisor_only")
        action, detail = "reassigned", f"{complaint.owner} -> {target.username}"
    complaint.owner = target.username
    _event(session, complaint, actor, action, detail, now)
    _changed(session, complaint, now)
    return complaint


def start_complaint(
    session: Session, actor: StaffUser, ticket_id: str, *, now: datetime | None = None
) -> Complaint:
    """已受理 → 处理中. An unowned case becomes the actor's."""
    complaint = get_complaint(session, ticket_id, for_update=True)
    if complaint.status is not ComplaintStatus.accepted:
        raise DeskConflictError("transition_not_allowed")
    now = utc_now(now)
    if complaint.owner is None:
        complaint.owner = actor.username
        _event(session, complaint, actor, "taken", None, now)
    else:
        _may_work(actor, complaint)
    complaint.status = ComplaintStatus.in_progress
    _event(session, complaint, actor, "started", "accepted -> in_progress", now)
    _changed(session, complaint, now)
    return complaint


def close_complaint(
    session: Session, actor: StaffUser, ticket_id: str, reply: object, *,
    now: datetime | None = None,
) -> Complaint:
    """处理中 → 已办结 with the reply given to the depositor (1–2000 characters)."""
    text = form_text(reply, max_length=MAX_REPLY_LENGTH, code="reply")
    complaint = get_complaint(session, ticket_id, for_update=True)
    if complaint.status is not ComplaintStatus.in_progress:
        raise DeskConflictError("transition_not_allowed")
    _may_work(actor, complaint)
    now = utc_now(now)
    complaint.status = ComplaintStatus.closed
    complaint.reply = text
    _event(session, complaint, actor, "closed", text, now)
    _changed(session, complaint, now)
    return complaint


def reopen_complaint(
    session: Session, actor: StaffUser, ticket_id: str, reason: object, *,
    now: datetime | None = None,
) -> Complaint:
    """已办结 → 处理中, supervisors only, with the reason."""
    if actor.role is not StaffRole.supervisor:
        raise DeskPermissionError("supervisor_only")
    text = form_text(reason, max_length=MAX_REOPEN_REASON_LENGTH, code="reopen_reason")
    complaint = get_complaint(session, ticket_id, for_update=True)
    if complaint.status is not ComplaintStatus.closed:
        raise DeskConflictError("transition_not_allowed")
    now = utc_now(now)
    complaint.status = ComplaintStatus.in_progress
    _event(session, complaint, actor, "reopened", text, now)
    _changed(session, complaint, now)
    return complaint


def add_complaint_note(
    session: Session, actor: StaffUser, ticket_id: str, note: object, *,
    now: datetime | None = None,
) -> Complaint:
    """An internal working note (处理记录) on the case; any staff member."""
    text = form_text(note, max_length=MAX_NOTE_LENGTH, code="note")
    complaint = get_complaint(session, ticket_id, for_update=True)
    now = utc_now(now)
    _event(session, complaint, actor, "note", text, now)
    _changed(session, complaint, now)
    return complaint


def reveal_complaint_contact(
    session: Session, actor: StaffUser, ticket_id: str, *, now: datetime | None = None
) -> str | None:
    """The full contact phone; the look is written into the complaint's audit trail."""
    complaint = get_complaint(session, ticket_id)
    _event(session, complaint, actor, "contact_revealed", None, utc_now(now))
    session.flush()
    return complaint.contact_phone
