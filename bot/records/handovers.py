"""Hand-overs to a person and callback requests: recorded by the assistant, worked on the desk.

The hand-over action and the phone line record a hand-over
(:func:`record_handover`, with what the assistant knew) or a request to be
called back (:func:`record_callback`, e.g. outside agent hours); staff list
them, take and finish hand-overs, reveal a callback's phone number and mark
callbacks done. What staff do is written to the audit log
(:func:`bot.records.audit.audit`) in the same transaction.

Functions take the session first and leave the transaction to the caller. Bad
arguments from the assistant raise
:class:`~bot.records.errors.RecordsValidationError`; a refused desk change
raises a :class:`~bot.records.errors.DeskError` and writes nothing.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.records.audit import audit, latest_audit
from bot.records.base import Channel
from bot.records.clock import utc_now
from bot.records.errors import (
    DeskConflictError,
    DeskNotFoundError,
    DeskPermissionError,
    RecordsValidationError,
)
from bot.records.identifiers import mask_account
from bot.records.knowledge import mark_handover
from bot.records.redaction import redact_values
from bot.records.service_models import CallbackRequest, CallbackStatus, Handover, HandoverStatus
from bot.records.staff_models import DeskAuditEvent, StaffRole, StaffUser
from bot.records.validation import (
    MAX_CONVERSATION_ID_LENGTH,
    checked_enum,
    checked_phone,
    checked_text,
    form_text,
)

MAX_REASON_CODE_LENGTH = 40
MAX_INTENT_PATH_LENGTH = 500
MAX_CONTEXT_JSON_LENGTH = 20_000
MAX_CALLBACK_REASON_LENGTH = 200
MAX_CALLBACK_RESULT_LENGTH = 200

_REASON_CODE_RE = re.compile(r"^[a-z][a-z0-9_.:-]*$")


def _reason_code(value: str, name: str) -> str:
    checked = checked_text(value, name, MAX_REASON_CODE_LENGTH, required=True)
    assert checked is not None
    if not _REASON_CODE_RE.fullmatch(checked):
        raise RecordsValidationError(f"{name} must be a lower-case code like 'no_match_twice'")
    return checked


def _json_size(value: Any, name: str, limit: int) -> None:
    try:
        encoded = json.dumps(value, ensure_ascii=False, default=None)
    except (TypeError, ValueError) as exc:
        raise RecordsValidationError(f"{name} must be JSON-serialisable: {exc}") from exc
    if len(encoded) > limit:
        raise RecordsValidationError(f"{name} is {len(encoded)} characters as JSON; limit {limit}")


# ------------------------------------------------------------- recording


def record_handover(
    session: Session,
    *,
    conversation_id: str,
    channel: Channel | str,
    reason: str,
    intent_path: str | None = None,
    masked_account: str | None = None,
    context: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> Handover:
    """Open a hand-over to a person with what the assistant knew.

    The policy answers given in the same conversation shortly before are
    marked as followed by a hand-over (:func:`bot.records.knowledge.mark_handover`).

    ``reason`` is a code (``user_request``, ``no_match_twice``, ``backend_error``…).
    An unmasked account number given as ``masked_account`` is masked here, and so
    are numbers and amounts in the texts of ``context``
    (:func:`bot.records.redaction.redact_text`).
    """
    conversation = checked_text(conversation_id, "conversation_id", MAX_CONVERSATION_ID_LENGTH,
                                required=True)
    masked = checked_text(masked_account, "masked_account", 24)
    if masked is not None and "*" not in masked:
        masked = mask_account(masked)
    # The caller's words are kept for staff with numbers and amounts masked.
    context_data = redact_values(context or {})
    _json_size(context_data, "context", MAX_CONTEXT_JSON_LENGTH)
    handover = Handover(
        conversation_id=conversation,
        channel=checked_enum(Channel, channel, "channel"),
        reason=_reason_code(reason, "reason"),
        intent_path=checked_text(intent_path, "intent_path", MAX_INTENT_PATH_LENGTH),
        masked_account=masked,
        context=context_data,
        status=HandoverStatus.open,
        created_at=utc_now(now),
    )
    session.add(handover)
    session.flush()
    # The policy answers just before did not suffice (the desk's per-topic figure).
    mark_handover(session, conversation, now=now)
    return handover


def record_callback(
    session: Session,
    *,
    conversation_id: str | None,
    channel: Channel | str,
    phone: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> CallbackRequest:
    """Ask staff to call a person back (marks the policy answers before it, like a hand-over)."""
    callback = CallbackRequest(
        conversation_id=checked_text(conversation_id, "conversation_id",
                                     MAX_CONVERSATION_ID_LENGTH),
        channel=checked_enum(Channel, channel, "channel"),
        phone=checked_phone(phone, "phone", required=True),
        reason=checked_text(reason, "reason", MAX_CALLBACK_REASON_LENGTH),
        status=CallbackStatus.open,
        created_at=utc_now(now),
        done_at=None,
    )
    session.add(callback)
    session.flush()
    if callback.conversation_id:
        mark_handover(session, callback.conversation_id, now=now)
    return callback


# ---------------------------------------------------------- on the desk


def list_handovers(
    session: Session, status: HandoverStatus | None, *, limit: int = 200
) -> list[tuple[Handover, DeskAuditEvent | None]]:
    """Hand-overs (newest first) with the event of who took each, if anyone."""
    query = select(Handover).order_by(Handover.created_at.desc(), Handover.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Handover.status == status)
    rows = list(session.scalars(query))
    taken = latest_audit(session, "handover", (row.id for row in rows), "handover_taken")
    return [(row, taken.get(row.id)) for row in rows]


def _handover(session: Session, handover_id: int) -> Handover:
    row = session.scalar(select(Handover).where(Handover.id == handover_id).with_for_update())
    if row is None:
        raise DeskNotFoundError("handover_not_found")
    return row


def take_handover(
    session: Session, actor: StaffUser, handover_id: int, *, now: datetime | None = None
) -> Handover:
    row = _handover(session, handover_id)
    if row.status is not HandoverStatus.open:
        raise DeskConflictError("transition_not_allowed")
    row.status = HandoverStatus.taken
    audit(session, actor, "handover_taken", target_type="handover", target_id=row.id, now=now)
    return row


def finish_handover(
    session: Session, actor: StaffUser, handover_id: int, *, now: datetime | None = None
) -> Handover:
    """Mark done: the taker or a supervisor; an untaken one may be closed by anyone."""
    row = _handover(session, handover_id)
    if row.status is HandoverStatus.done:
        raise DeskConflictError("transition_not_allowed")
    if row.status is HandoverStatus.taken and actor.role is not StaffRole.supervisor:
        taker = latest_audit(session, "handover", [row.id], "handover_taken").get(row.id)
        if taker is not None and taker.actor != actor.username:
            raise DeskPermissionError("not_owner")
    row.status = HandoverStatus.done
    audit(session, actor, "handover_done", target_type="handover", target_id=row.id, now=now)
    return row


def list_callbacks(
    session: Session, status: CallbackStatus | None, *, limit: int = 200
) -> list[tuple[CallbackRequest, DeskAuditEvent | None]]:
    """Callback requests (open: oldest first, the order to call back in)."""
    order = (
        (CallbackRequest.created_at, CallbackRequest.id)
        if status is CallbackStatus.open
        else (CallbackRequest.created_at.desc(), CallbackRequest.id.desc())
    )
    query = select(CallbackRequest).order_by(*order).limit(limit)
    if status is not None:
        query = query.where(CallbackRequest.status == status)
    rows = list(session.scalars(query))
    done = latest_audit(session, "callback", (row.id for row in rows), "callback_done")
    return [(row, done.get(row.id)) for row in rows]


def _callback(session: Session, callback_id: int, *, for_update: bool = False) -> CallbackRequest:
    query = select(CallbackRequest).where(CallbackRequest.id == callback_id)
    if for_update:
        query = query.with_for_update()
    row = session.scalar(query)
    if row is None:
        raise DeskNotFoundError("callback_not_found")
    return row


def reveal_callback_phone(
    session: Session, actor: StaffUser, callback_id: int, *, now: datetime | None = None
) -> CallbackRequest:
    row = _callback(session, callback_id)
    audit(session, actor, "callback_phone_revealed", target_type="callback", target_id=row.id,
          now=now)
    return row


def finish_callback(
    session: Session, actor: StaffUser, callback_id: int, result: object, *,
    now: datetime | None = None,
) -> CallbackRequest:
    text = form_text(result, max_length=MAX_CALLBACK_RESULT_LENGTH, code="callback_result",
                     required=False)
    row = _callback(session, callback_id, for_update=True)
    if row.status is not CallbackStatus.open:
        raise DeskConflictError("transition_not_allowed")
    now = utc_now(now)
    row.status = CallbackStatus.done
    row.done_at = now
    audit(session, actor, "callback_done", target_type="callback", target_id=row.id,
          detail=text or None, now=now)
    return row
