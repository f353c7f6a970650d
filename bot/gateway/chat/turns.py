"""A turn of the conversation: what the visitor says or picks, what the assistant answers.

``POST /chat/api/message`` takes ``{"text": …}`` or a choice: a menu item
``{"choice": {"menu": …, "key": …}}`` (menus from ``flows/``) or one of the
buttons the assistant offered ``{"choice": {"button": n}}``. The gateway builds
the message for Rasa itself (an intent, a text or a submenu), so a browser can
never write an intent. ``POST /chat/api/end`` ends the chat (the assistant asks
for a rating) and revokes what the secure step granted.

Every turn goes through :func:`converse` (Rasa's answer, or the 96319 apology)
and is answered with :func:`turn_json`: the messages, the offered buttons,
whether the secure step is open and the hand-over state.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, NoReturn

from flask import Response

from bot import metrics
from bot.contract import SYSTEM_INTENTS, parse_intent_payload
from bot.gateway.chat import bp
from bot.gateway.chat.api import (
    ApiError,
    conversation_state,
    count_turn,
    fail,
    read_body,
    respond,
)
from bot.gateway.chat.lifecycle import end_verification
from bot.gateway.chat.replies import Reply, clean_text, parse_reply
from bot.gateway.chat.service import current_service
from bot.gateway.chat.state import ChatState
from bot.gateway.rasa import AssistantUnavailable
from bot.secrets_guard import looks_like_secret

logger = logging.getLogger(__name__)

BACKEND_ERROR = "backend_error"
"""Hand-over mode after a failed turn: the callback form is offered (reason on the desk)."""


@bp.route("/chat/api/message", methods=["POST", "OPTIONS"])
def send_message() -> Response:
    """What the visitor typed, or a menu item / button they chose."""
    service = current_service()
    body = read_body()
    state = conversation_state(body)
    has_text, has_choice = "text" in body, "choice" in body
    if has_text == has_choice:
        fail(400, "bad_request")
    count_turn(state)
    if has_choice:
        return _choice(state, body["choice"])
    if not isinstance(body["text"], str):
        fail(400, "bad_request")
    text = clean_text(body["text"])
    if not text:
        fail(422, "empty")
    limit = service.settings.chat_max_message_chars
    if len(text) > limit:
        fail(422, "too_long", max_chars=limit)
    if looks_like_secret(text, secure_step_open=state.secure_step):
        fail(422, "secret_in_chat")
    cid = state.conversation_id
    reply = converse(state, lambda: service.rasa.send_text(cid, text))
    return respond(turn_json(state, reply), state)


@bp.route("/chat/api/end", methods=["POST", "OPTIONS"])
def end_conversation() -> Response:
    """The visitor ends the chat; the assistant asks for the rating, then says goodbye.

    What the secure step granted ends here: the auth session is revoked, so the
    next person at this browser sees no account answer in the history.
    """
    service = current_service()
    body = read_body()
    state = conversation_state(body)
    count_turn(state)
    end_verification(state.conversation_id, why="ended")
    cid, display = state.conversation_id, {"display": service.texts.get("end_label")}
    reply = converse(state, lambda: service.rasa.send_intent(cid, "goodbye", metadata=display))
    return respond(turn_json(state, reply), state)


def _choice(state: ChatState, choice: Any) -> Response:
    if not isinstance(choice, dict):
        fail(400, "bad_request")
    if "menu" in choice:
        return _menu_choice(state, choice)
    return _button_choice(state, choice)


def _menu_choice(state: ChatState, choice: dict[str, Any]) -> Response:
    """An item of a ``flows/`` menu: a submenu, a person, an intent or a text."""
    service = current_service()
    menu = service.menus.get(choice.get("menu")) if isinstance(choice.get("menu"), str) else None
    item = menu.item(choice.get("key")) if menu and isinstance(choice.get("key"), str) else None
    if item is None:
        fail(422, "unknown_choice")
    display = {"display": item.label}
    cid = state.conversation_id
    if item.submenu:
        state.buttons, state.secure_step = [], False
        submenu = menu_json(item.submenu)
        reply = Reply(
            messages=[{"role": "bot", "text": submenu["prompt"]}] if submenu["prompt"] else []
        )
        return respond(turn_json(state, reply, menu=submenu), state)
    if item.handover:
        reply = converse(
            state, lambda: service.rasa.send_intent(cid, "human_agent", metadata=display)
        )
    elif item.intent:
        if item.intent in SYSTEM_INTENTS:
            fail(422, "unknown_choice")
        reply = converse(
            state, lambda: service.rasa.send_intent(cid, item.intent, metadata=display)
        )
    else:
        reply = converse(state, lambda: service.rasa.send_text(cid, item.text, metadata=display))
    return respond(turn_json(state, reply), state)


def _button_choice(state: ChatState, choice: dict[str, Any]) -> Response:
    """One of the buttons the assistant offered (its payload never left the gateway)."""
    service = current_service()
    index = choice.get("button")
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(state.buttons):
        fail(422, "unknown_choice")
    title, payload = state.buttons[index]
    try:
        parsed = parse_intent_payload(payload)
    except ValueError:
        logger.warning("chat: refused a button payload that is not a plain intent")
        fail(422, "unknown_choice")
    cid, display = state.conversation_id, {"display": title}
    if parsed is None:
        reply = converse(state, lambda: service.rasa.send_text(cid, payload, metadata=display))
    else:
        intent, entities = parsed
        reply = converse(
            state, lambda: service.rasa.send_intent(cid, intent, entities, metadata=display)
        )
    return respond(turn_json(state, reply), state)


# ----------------------------------------------------------------- the turn


def converse(state: ChatState, send: Callable[[], list[dict[str, Any]]]) -> Reply:
    """Run one assistant turn, turning any failure into the apology path."""
    try:
        raw = send()
    except AssistantUnavailable as exc:
        logger.warning("webchat turn failed: %s", exc)
        _apologize(state)
    return _apply_reply(state, parse_reply(raw))


def _apologize(state: ChatState) -> NoReturn:
    """503: the apology (96319, supervision line 86279298) and a callback offer.

    Rasa undid the failed turn (:mod:`bot.channels.turn_guard`), so the visitor's
    message is marked "not delivered" and can be sent again later. Unless the
    chat is already handed over, the callback form is offered (``backend_error``,
    which the desk shows as 系统故障) until the assistant answers again.
    """
    service = current_service()
    if state.handover is None:
        state.handover, state.callback = BACKEND_ERROR, False
    # The conversation id too: a verified chat has just moved to a new one (verify.py).
    extra = {"handover": _handover_json(state), "conversation_id": state.conversation_id}
    raise ApiError(503, "turn_failed", service.texts.error("turn_failed"), extra=extra,
                   state=state)


def _apply_reply(state: ChatState, reply: Reply) -> Reply:
    """Update the session from the assistant's turn; hand-over per agent hours."""
    service = current_service()
    state.buttons = reply.buttons
    state.secure_step = reply.secure_step
    if state.handover == BACKEND_ERROR:  # the assistant answers again
        state.handover = None
    if reply.handover:
        state.handover = "in_hours" if service.agents_available() else "after_hours"
        state.callback = False
        hours = service.texts.agent_hours(service.agent_hours)
        for message in reply.messages:
            if message.get("handover") and state.handover == "after_hours":
                message["text"] = service.texts.get("handover.after_hours", hours=hours)
        if state.handover == "in_hours":
            metrics.transferred("webchat", "requested")
            reply.messages.append(
                {"role": "note", "text": service.texts.get("handover.in_hours"), "tone": "info"}
            )
    return reply


def turn_json(state: ChatState, reply: Reply | None = None, **extra: Any) -> dict[str, Any]:
    """The answer to a turn: messages, offered buttons, secure step, hand-over state."""
    payload: dict[str, Any] = {
        "conversation_id": state.conversation_id,
        "messages": reply.messages if reply else [],
        "buttons": [{"id": i, "title": title} for i, (title, _) in enumerate(state.buttons)],
        "secure_step": state.secure_step,
        "handover": _handover_json(state),
    }
    payload.update(extra)
    return payload


def _handover_json(state: ChatState) -> dict[str, Any] | None:
    if state.handover is None:
        return None
    service = current_service()
    return {
        "mode": state.handover,
        "callback_done": state.callback,
        "hours": service.texts.agent_hours(service.agent_hours),
    }


def menu_json(name: str) -> dict[str, Any]:
    """A ``flows/`` menu as the widget shows it (prompt and items, no payloads)."""
    menu = current_service().menus[name]
    return {
        "name": menu.name,
        "prompt": menu.prompt,
        "items": [{"key": item.key, "label": item.label} for item in menu.items],
    }
