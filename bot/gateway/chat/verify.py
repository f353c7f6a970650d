"""The secure step of the web chat: ``POST /chat/api/verify``.

When the assistant asks for verification (a reply with
``custom: {secure_input: identity}``) the widget shows its own form and posts
the identifier (ID, fund account or joint-card number) and the 6-digit query
password here, never into the chat. The gateway checks the format (errors stay
in the form, Rasa hears nothing), limits attempts per conversation and address,
passes the address (IPv6: its /64) and the conversation as the attempt's sources
(a throttled source is told how long to wait, 429, and Rasa hears nothing),
verifies against the records (:func:`bot.records.verification.verify_identity`, which
locks an account after 5 failures in 24 h) and tells Rasa only the outcome,
worded by :func:`bot.contract.secure_step_outcome` as on every channel. A
successful verification moves the chat to a new conversation id and cookie
(:func:`bot.gateway.chat.lifecycle.rotate`); the answer names the new id.
"""

from __future__ import annotations

import logging
from typing import NoReturn

from flask import Response, current_app

from bot import metrics
from bot.contract import secure_step_outcome
from bot.gateway.chat import bp
from bot.gateway.chat.api import (
    ApiError,
    client_address,
    conversation_state,
    fail,
    field_error,
    rate_limited,
    read_body,
    respond,
)
from bot.gateway.chat.lifecycle import end_verification, rotate
from bot.gateway.chat.service import CHANNEL, current_service
from bot.gateway.chat.state import ChatState, new_conversation_id
from bot.gateway.chat.turns import converse, turn_json
from bot.gateway.db import db
from bot.gateway.rasa import AssistantUnavailable
from bot.records.throttle import wait_span, web_sources
from bot.records.verification import verify_identity
from bot.records.identifiers import classify_identifier, normalize_digits
from bot.records.passwords import is_valid_password_format

logger = logging.getLogger(__name__)

MAX_IDENTIFIER_CHARS = 40
VERIFY_ADDRESS_FACTOR = 5  # verification attempts per address = 5 × per session


@bp.route("/chat/api/verify", methods=["POST", "OPTIONS"])
def verify() -> Response:
    """The secure step: check identifier + password here and tell Rasa only the outcome."""
    service = current_service()
    settings = service.settings
    body = read_body()
    state = conversation_state(body)
    identifier, password = body.get("identifier"), body.get("password")
    if not isinstance(identifier, str) or not isinstance(password, str):
        fail(400, "bad_request")
    if not state.secure_step:
        fail(409, "verify_not_requested")
    _count_attempt(state)
    if len(identifier) > MAX_IDENTIFIER_CHARS or classify_identifier(identifier)[0] is None:
        field_error("identifier", "verify_invalid_identifier")
    password = normalize_digits(password.strip())
    if not is_valid_password_format(password):
        field_error("password", "verify_invalid_password")
    cid = state.conversation_id
    fresh = new_conversation_id()  # a verified chat continues under a new id (rotate)
    try:
        result = verify_identity(
            db(), identifier, password, channel=CHANNEL, conversation_id=fresh, settings=settings,
            sources=web_sources(client_address(), cid),
        )
        db().commit()  # a failed attempt is recorded in it: it counts towards the lock-out
        metrics.verified(CHANNEL, result.ok, result.reason)
    except Exception:  # noqa: BLE001 - the visitor gets the apology, the log the cause
        logger.exception("chat verification could not run")
        fail(503, "verify_unavailable")
    finally:
        del password
    if result.locked_account_id is not None:  # this attempt locked it: tell the owner
        current_app.extensions["voice"].sms.send_account_locked(result.locked_account_id)
    if result.reason == "throttled":  # too many failures from here: Rasa hears nothing
        _throttled(result.retry_after_seconds or 60)
    outcome = secure_step_outcome(result)
    if outcome.ok:
        note = {"role": "note", "text": service.texts.get("verified_note"), "tone": "ok"}
    else:
        note = {"role": "note", "text": service.texts.get("verify_failed_note"), "tone": "warn"}
    logger.info("chat verification for %s…: %s", cid[:6], "ok" if outcome.ok else outcome.reason)
    state.secure_step = False
    if outcome.ok:
        try:
            rotate(state, fresh)
        except AssistantUnavailable:
            fail(503, "assistant_unavailable")
        cid = state.conversation_id
    try:
        reply = converse(state, lambda: service.rasa.send_outcome(cid, outcome))
    except ApiError:
        if outcome.ok:  # the browser keeps its old cookie: the new grant is of no use
            end_verification(cid, why="outcome not delivered")
        raise
    reply.messages.insert(0, note)
    return respond(turn_json(state, reply, verified=outcome.ok), state)


def _throttled(retry_after: int) -> NoReturn:
    """429 with how long to wait, in minutes or hours (the form stays open)."""
    unit, amount = wait_span(retry_after)
    code = "verify_slowed" if unit == "minutes" else "verify_stopped"
    raise ApiError(429, code, current_service().texts.error(code, **{unit: amount}),
                   {"Retry-After": str(retry_after)})


def _count_attempt(state: ChatState) -> None:
    """Attempts per conversation and per address and hour (429 past either limit)."""
    service = current_service()
    per_session = service.settings.chat_verify_attempts_per_session
    for key, limit in (
        (f"v:{state.conversation_id}", per_session),
        (f"va:{client_address()}", per_session * VERIFY_ADDRESS_FACTOR),
    ):
        verdict = service.limiter.hit(key, limit, 3600)
        if not verdict.allowed:
            rate_limited(verdict.retry_after, "verify")
