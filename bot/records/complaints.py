"""Complaints (投诉工单): filing, finding, listing and export, for every caller.

The complaint action files a complaint with :func:`create_complaint` (exactly
once per idempotency key, with a ticket number ``TS`` + yymmdd + sequence and
a reply deadline in working days); its status is told only with the contact
phone's last four digits (:mod:`bot.records.complaint_status`); the phone line
reads it for the SMS; the desk lists (:func:`list_complaints`), opens (:func:`get_complaint`) and exports
(:func:`complaints_for_export`) them. What staff do to a complaint (take,
assign, start, close, reopen, notes) is :mod:`bot.records.complaint_lifecycle`.

Every function takes the session first and leaves the transaction to the
caller. Bad arguments from the actions raise
:class:`~bot.records.errors.RecordsValidationError`; a ticket the desk asks for
that does not exist raises :class:`~bot.records.errors.DeskNotFoundError`.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.records.base import Channel
from bot.records.clock import local_day_bounds, shanghai_date, utc_now
from bot.records.errors import DeskNotFoundError, RecordsValidationError, TicketAllocationError
from bot.records.identifiers import normalize_ticket_id
from bot.records.redaction import redact_text
from bot.records.service_models import (
    Complaint,
    ComplaintCategory,
    ComplaintEvent,
    ComplaintStatus,
)
from bot.records.staff import list_staff
from bot.records.validation import (
    MAX_CONVERSATION_ID_LENGTH,
    checked_enum,
    checked_phone,
    checked_text,
)
from bot.records.workdays import add_working_days

logger = logging.getLogger(__name__)

COMPLAINT_REPLY_WORKING_DAYS = 5
MAX_DESCRIPTION_LENGTH = 2000
MAX_LOCATION_LENGTH = 200
MAX_STAFF_NUMBER_LENGTH = 20
MAX_IDEMPOTENCY_KEY_LENGTH = 128
MAX_TRANSCRIPT_TURNS = 500
MAX_TRANSCRIPT_TEXT_LENGTH = 4000
MAX_TRANSCRIPT_ROLE_LENGTH = 20
TICKET_ALLOCATION_ATTEMPTS = 30
PAGE_SIZE = 50
MAX_EXPORT_DAYS = 366

# Who the complaint is about, as the caller knows it: a staff number ("A1024",
# "工号1024") or a name ("张师傅"); letters (Latin or Chinese), digits, "-" and "·".
_STAFF_NUMBER_RE = re.compile(r"^[A-Za-z0-9\-·\u3400-\u9fff]+$")


# ------------------------------------------------------------------- filing


def _transcript(turns: Sequence[Mapping[str, Any]] | None) -> list[dict[str, str]]:
    if turns is None:
        return []
    if isinstance(turns, (str, bytes)) or not isinstance(turns, Sequence):
        raise RecordsValidationError("transcript must be a list of {role, text, at} mappings")
    if len(turns) > MAX_TRANSCRIPT_TURNS:
        raise RecordsValidationError(
            f"transcript has {len(turns)} turns; the limit is {MAX_TRANSCRIPT_TURNS}"
        )
    cleaned: list[dict[str, str]] = []
    for index, turn in enumerate(turns):
        if not isinstance(turn, Mapping):
            raise RecordsValidationError(f"transcript[{index}] must be a mapping")
        role = checked_text(turn.get("role"), f"transcript[{index}].role",
                            MAX_TRANSCRIPT_ROLE_LENGTH, required=True)
        text = turn.get("text")
        if not isinstance(text, str):
            raise RecordsValidationError(f"transcript[{index}].text must be a string")
        if len(text) > MAX_TRANSCRIPT_TEXT_LENGTH:
            raise RecordsValidationError(
                f"transcript[{index}].text is longer than {MAX_TRANSCRIPT_TEXT_LENGTH} characters"
            )
        at = turn.get("at")
        if isinstance(at, datetime):
            at_text = utc_now(at).isoformat()
        elif isinstance(at, str):
            try:
                # Python 3.10's fromisoformat does not read a "Z" suffix.
                iso = at[:-1] + "+00:00" if at.endswith(("Z", "z")) else at
                at_text = utc_now(datetime.fromisoformat(iso)).isoformat()
            except (ValueError, RecordsValidationError) as exc:
                raise RecordsValidationError(
                    f"transcript[{index}].at must be an aware ISO 8601 timestamp"
                ) from exc
        else:
            raise RecordsValidationError(f"transcript[{index}].at must be a datetime or string")
        # Kept for staff: masked now, so no page or export can show what was masked.
        cleaned.append({"role": role or "", "text": redact_text(text), "at": at_text})
    return cleaned


def _find_by_key(session: Session, idempotency_key: str) -> Complaint | None:
    return session.scalar(select(Complaint).where(Complaint.idempotency_key == idempotency_key))


def _next_ticket_id(session: Session, day: date) -> str:
    prefix = "TS" + day.strftime("%y%m%d")
    highest = session.scalar(
        select(func.max(Complaint.ticket_id)).where(Complaint.ticket_id.like(prefix + "%"))
    )
    sequence = int(highest[len(prefix):]) + 1 if highest else 1
    if sequence > 9999:
        raise TicketAllocationError(f"all 9999 ticket numbers of {day.isoformat()} are used")
    return f"{prefix}{sequence:04d}"


def create_complaint(
    session: Session,
    *,
    idempotency_key: str,
    category: ComplaintCategory | str,
    channel: Channel | str,
    description: str,
    location: str | None = None,
    staff_number: str | None = None,
    contact_phone: str | None = None,
    conversation_id: str | None = None,
    transcript: Sequence[Mapping[str, Any]] | None = None,
    now: datetime | None = None,
) -> tuple[Complaint, bool]:
    """File a complaint exactly once per ``idempotency_key``.

    Returns ``(complaint, True)`` for a new ticket and ``(existing, False)``
    when the key was seen before, also when another transaction files it at
    the same moment: the insert runs in a SAVEPOINT, a unique violation rolls
    back only that, and the row is read again. A ticket number taken by a
    concurrent filing is retried with the next sequence. The due date is
    ``COMPLAINT_REPLY_WORKING_DAYS`` working days after the filing date in
    Chengdu; a "created" event starts the audit trail.
    """
    key = checked_text(idempotency_key, "idempotency_key", MAX_IDEMPOTENCY_KEY_LENGTH,
                       required=True)
    assert key is not None
    category_code = checked_enum(ComplaintCategory, category, "category")
    channel_code = checked_enum(Channel, channel, "channel")
    description_text = checked_text(description, "description", MAX_DESCRIPTION_LENGTH,
                                    required=True)
    location_text = checked_text(location, "location", MAX_LOCATION_LENGTH)
    staff = checked_text(staff_number, "staff_number", MAX_STAFF_NUMBER_LENGTH)
    if staff is not None and not _STAFF_NUMBER_RE.fullmatch(staff):
        raise RecordsValidationError(
            "staff_number may hold only letters (Latin or Chinese), digits, '-' and '·'"
        )
    phone = checked_phone(contact_phone, "contact_phone", required=False)
    conversation = checked_text(conversation_id, "conversation_id", MAX_CONVERSATION_ID_LENGTH)
    turns = _transcript(transcript)
    now = utc_now(now)

    existing = _find_by_key(session, key)
    if existing is not None:
        return existing, False

    filed_on = shanghai_date(now)
    due = add_working_days(filed_on, COMPLAINT_REPLY_WORKING_DAYS)
    for _attempt in range(TICKET_ALLOCATION_ATTEMPTS):
        ticket_id = _next_ticket_id(session, filed_on)
        complaint = Complaint(
            ticket_id=ticket_id,
            category=category_code,
            channel=channel_code,
            description=description_text,
            location=location_text,
            staff_number=staff,
            contact_phone=phone,
            status=ComplaintStatus.accepted,
            owner=None,
            due_date=due,
            reply=None,
            transcript=turns,
            conversation_id=conversation,
            idempotency_key=key,
            created_at=now,
            updated_at=now,
        )
        try:
            with session.begin_nested():
                session.add(complaint)
                session.flush()
                session.add(
                    ComplaintEvent(
                        complaint_id=complaint.id,
                        at=now,
                        actor="assistant",
                        action="created",
                        detail=f"channel={channel_code.value} category={category_code.value}",
                    )
                )
                session.flush()
        except IntegrityError:
            existing = _find_by_key(session, key)
            if existing is not None:
                logger.info("complaint %s already filed for this key", existing.ticket_id)
                return existing, False
            logger.info("ticket %s taken concurrently; allocating the next one", ticket_id)
            continue
        logger.info("complaint %s filed (channel=%s)", ticket_id, channel_code.value)
        return complaint, True
    raise TicketAllocationError(
        f"no free ticket number after {TICKET_ALLOCATION_ATTEMPTS} attempts "
        f"on {filed_on.isoformat()}"
    )


def find_complaint(session: Session, ticket_id: str) -> Complaint | None:
    """The complaint with this ticket (``TS…`` or just its 10 digits), or None."""
    normalized = normalize_ticket_id(ticket_id) if isinstance(ticket_id, str) else None
    if normalized is None:
        return None
    return session.scalar(select(Complaint).where(Complaint.ticket_id == normalized))


# ----------------------------------------------------------- desk listing

OPEN_STATUSES = (ComplaintStatus.accepted, ComplaintStatus.in_progress)


def is_overdue(complaint: Complaint, today: date) -> bool:
    """Past its reply deadline and not yet 已办结 (due today is still on time)."""
    return complaint.status is not ComplaintStatus.closed and complaint.due_date < today


@dataclass(frozen=True)
class ComplaintFilters:
    status: ComplaintStatus | None = None
    category: ComplaintCategory | None = None
    channel: Channel | None = None
    owner: str | None = None  # a user name, or "" for "no owner yet"
    overdue: bool = False
    ticket: str | None = None


def list_complaints(
    session: Session,
    filters: ComplaintFilters,
    *,
    today: date | None = None,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> tuple[list[Complaint], int]:
    """Complaints matching ``filters``: open ones first by deadline, then closed, newest first."""
    today = today or shanghai_date()
    query = select(Complaint)
    if filters.status is not None:
        query = query.where(Complaint.status == filters.status)
    if filters.category is not None:
        query = query.where(Complaint.category == filters.category)
    if filters.channel is not None:
        query = query.where(Complaint.channel == filters.channel)
    if filters.owner is not None:
        query = query.where(
            Complaint.owner.is_(None) if filters.owner == "" else Complaint.owner == filters.owner
        )
    if filters.overdue:
        query = query.where(
            Complaint.status != ComplaintStatus.closed, Complaint.due_date < today
        )
    if filters.ticket:
        query = query.where(Complaint.ticket_id == filters.ticket)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    closed_last = (Complaint.status == ComplaintStatus.closed)
    rows = session.scalars(
        query.order_by(
            closed_last,
            Complaint.due_date,
            Complaint.created_at.desc(),
            Complaint.id.desc(),
        )
        .limit(page_size)
        .offset(max(page - 1, 0) * page_size)
    ).all()
    return list(rows), int(total)


def get_complaint(session: Session, ticket_id: str, *, for_update: bool = False) -> Complaint:
    """The complaint a staff member opened; DeskNotFoundError (``complaint_not_found``) if none."""
    normalized = normalize_ticket_id(ticket_id) if isinstance(ticket_id, str) else None
    if normalized is None:
        raise DeskNotFoundError("complaint_not_found")
    query = select(Complaint).where(Complaint.ticket_id == normalized)
    if for_update:
        query = query.with_for_update()
    complaint = session.scalar(query)
    if complaint is None:
        raise DeskNotFoundError("complaint_not_found")
    return complaint


def complaint_events(session: Session, complaint: Complaint) -> list[ComplaintEvent]:
    """The complaint's audit trail, oldest first."""
    return list(
        session.scalars(
            select(ComplaintEvent)
            .where(ComplaintEvent.complaint_id == complaint.id)
            .order_by(ComplaintEvent.at, ComplaintEvent.id)
        )
    )


# -------------------------------------------------------------------- export


def complaints_for_export(session: Session, start: date, end: date) -> list[Complaint]:
    """Complaints filed between ``start`` and ``end`` (Beijing dates, inclusive), oldest first."""
    begin, finish = local_day_bounds(start, end)
    return list(
        session.scalars(
            select(Complaint)
            .where(Complaint.created_at >= begin, Complaint.created_at < finish)
            .order_by(Complaint.created_at, Complaint.id)
        )
    )


def owners_in_use(session: Session) -> list[str]:
    """Every user name that owns a complaint, plus active staff (for the owner filter)."""
    names = set(
        session.scalars(select(Complaint.owner).where(Complaint.owner.is_not(None)).distinct())
    )
    names.update(staff.username for staff in list_staff(session, active_only=True))
    return sorted(name for name in names if name)
