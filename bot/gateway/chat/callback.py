"""After a hand-over: ``POST /chat/api/callback`` records a phone number to be called back.

Offered in and outside agent hours once the assistant handed the conversation
over; once per hand-over. The staff desk works the ``callback_requests``.
"""

from __future__ import annotations

import logging

from flask import Response

from bot import metrics
from bot.gateway.chat import bp
from bot.gateway.chat.api import (
    conversation_state,
    count_turn,
    fail,
    field_error,
    read_body,
    respond,
)
from bot.gateway.chat.replies import Reply
from bot.gateway.chat.service import CHANNEL, current_service
from bot.gateway.chat.turns import turn_json
from bot.gateway.db import db
from bot.records.handovers import record_callback
from bot.records.errors import RecordsValidationError
from bot.records.identifiers import mask_phone, normalize_phone

logger = logging.getLogger(__name__)

MAX_PHONE_CHARS = 30


@bp.route("/chat/api/callback", methods=["POST", "OPTIONS"])
def request_callback() -> Response:
    """After a hand-over: the visitor leaves a phone number to be called back."""
    service = current_service()
    body = read_body()
    state = conversation_state(body)
    count_turn(state)
    phone = body.get("phone")
    if not isinstance(phone, str):
        fail(400, "bad_request")
    if state.handover is None:
        fail(409, "callback_not_available")
    if state.callback:
        fail(409, "callback_already")
    normalized = normalize_phone(phone) if len(phone) <= MAX_PHONE_CHARS else None
    if normalized is None:
        field_error("phone", "callback_invalid_phone")
    try:
        record_callback(
            db(),
            conversation_id=state.conversation_id,
            channel=CHANNEL,
            phone=normalized,
            reason=state.handover,
            now=service.clock(),
        )
        db().commit()
    except RecordsValidationError:
        field_error("phone", "callback_invalid_phone")
    except Exception:  # noqa: BLE001
        logger.exception("chat callback request could not be recorded")
        metrics.callback_requested(CHANNEL, recorded=False)
        fail(503, "callback_unavailable")
    metrics.callback_requested(CHANNEL, recorded=True)
    state.callback = True
    logger.info(
        "chat callback requested for %s… (%s)", state.conversation_id[:6], mask_phone(normalized)
    )
    note = {
        "role": "note",
        "text": service.texts.get("handover.callback_recorded", phone_tail=normalized[-4:]),
        "tone": "ok",
    }
    return respond(turn_json(state, Reply(messages=[note])), state)
