"""Employers' requests for on-site service (上门服务), as the on-site form files them.

The function takes the session first and leaves the transaction to the caller;
a malformed argument raises :class:`~bot.records.errors.RecordsValidationError`
naming it.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.records.base import Channel
from bot.records.clock import utc_now
from bot.records.errors import RecordsValidationError
from bot.records.service_models import OnsiteRequest, OnsiteStatus
from bot.records.validation import (
    MAX_CONVERSATION_ID_LENGTH,
    checked_enum,
    checked_phone,
    checked_text,
)

MAX_EMPLOYER_NAME_LENGTH = 100
MAX_CONTACT_NAME_LENGTH = 50
MAX_PREFERRED_TIME_LENGTH = 100
MAX_NOTE_LENGTH = 1000
MAX_HEADCOUNT = 100_000


def record_onsite_request(
    session: Session,
    *,
    employer_name: str,
    contact_name: str,
    phone: str,
    headcount: int,
    preferred_time: str | None = None,
    note: str | None = None,
    conversation_id: str | None = None,
    channel: Channel | str | None = None,
    now: datetime | None = None,
) -> OnsiteRequest:
    """Record an employer's request for on-site service (上门服务)."""
    if isinstance(headcount, bool) or not isinstance(headcount, int) or not (
        1 <= headcount <= MAX_HEADCOUNT
    ):
        raise RecordsValidationError(
            f"headcount must be an integer from 1 to {MAX_HEADCOUNT}, got {headcount!r}"
        )
    request = OnsiteRequest(
        employer_name=checked_text(employer_name, "employer_name", MAX_EMPLOYER_NAME_LENGTH,
                                   required=True),
        contact_name=checked_text(contact_name, "contact_name", MAX_CONTACT_NAME_LENGTH,
                                  required=True),
        phone=checked_phone(phone, "phone", required=True),
        headcount=headcount,
        preferred_time=checked_text(preferred_time, "preferred_time", MAX_PREFERRED_TIME_LENGTH),
        note=checked_text(note, "note", MAX_NOTE_LENGTH),
        status=OnsiteStatus.open,
        conversation_id=checked_text(conversation_id, "conversation_id",
                                     MAX_CONVERSATION_ID_LENGTH),
        channel=checked_enum(Channel, channel, "channel") if channel is not None else None,
        created_at=utc_now(now),
    )
    session.add(request)
    session.flush()
    return request
