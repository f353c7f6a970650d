"""Hand-overs to a person and callback requests, as the assistant records them.

The hand-over action, the phone line and the web chat record a hand-over
(:func:`record_handover`, with what the assistant knew) or a request to be
called back (:func:`record_callback`, e.g. outside agent hours). The desk's
work on them is still in :mod:`bot.records.desk_queries`.

Functions take the session first and leave the transaction to the caller. Bad
arguments raise :class:`~bot.records.errors.RecordsValidationError`.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.records.base import Channel
from bot.records.clock import utc_now
from bot.records.errors import RecordsValidationError
from bot.records.identifiers import mask_account
from bot.records.service_models import CallbackRequest, CallbackStatus, Handover, HandoverStatus
from bot.records.validation import (
    MAX_CONVERSATION_ID_LENGTH,
    checked_enum,
    checked_phone,
    checked_text,
)

MAX_REASON_CODE_LENGTH = 40
MAX_INTENT_PATH_LENGTH = 500
MAX_CONTEXT_JSON_LENGTH = 20_000
MAX_CALLBACK_REASON_LENGTH = 200

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

    ``reason`` is a code (``user_request``, ``no_match_twice``, ``backend_error``…).
    An unmasked account number given as ``masked_account`` is masked here.
    """
    conversation = checked_text(conversation_id, "conversation_id", MAX_CONVERSATION_ID_LENGTH,
                                required=True)
    masked = checked_text(masked_account, "masked_account", 24)
    if masked is not None and "*" not in masked:
        masked = mask_account(masked)
    context_data = dict(context or {})
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
    """Ask staff to call a person back."""
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
    return callback
