"""Start or resume a chat, with its history: ``POST /chat/api/session``.

A browser with a valid chat cookie resumes its conversation: the history is
rebuilt from Rasa's tracker (gateway messages shown as what the visitor did,
the secure step only as a note, never the token; account answers only while
the conversation's auth session is valid, a neutral note once it has expired
or was revoked). Without one, or with
``{"restart": true}``, a new conversation id is drawn (limited per address
and hour). Either way the answer carries the welcome text, the main menu and
the message length limit.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Response

from bot.gateway.chat import bp
from bot.gateway.chat.api import client_address, cookie_state, rate_limited, read_body, respond
from bot.gateway.chat.lifecycle import account_answers_visible, end_verification
from bot.gateway.chat.replies import history
from bot.gateway.chat.service import current_service
from bot.gateway.chat.state import ChatState, new_conversation_id
from bot.gateway.chat.turns import menu_json, turn_json
from bot.gateway.rasa import AssistantUnavailable

logger = logging.getLogger(__name__)


@bp.route("/chat/api/session", methods=["POST", "OPTIONS"])
def start_session() -> Response:
    """Resume the browser's conversation (with its history) or start a new one."""
    service = current_service()
    body = read_body()
    state = cookie_state()
    resumed = state is not None and body.get("restart") is not True
    payload: dict[str, Any] = {}
    if resumed:
        assert state is not None
        try:
            payload["history"] = conversation_history(state)
        except AssistantUnavailable:
            payload["history"] = []
            payload["notice"] = service.texts.error("assistant_unavailable")
    else:
        if state is not None:  # restarted: what the old conversation was granted ends
            end_verification(state.conversation_id, why="restarted")
        verdict = service.limiter.hit(
            f"n:{client_address()}", service.settings.chat_new_sessions_per_address, 3600
        )
        if not verdict.allowed:
            rate_limited(verdict.retry_after, "new_session")
        state = ChatState(conversation_id=new_conversation_id())
        payload["history"] = []
        logger.info("chat session started: %s…", state.conversation_id[:6])
    payload.update(
        resumed=resumed,
        welcome=service.texts.get("welcome"),
        main_menu=menu_json("main"),
        max_chars=service.settings.chat_max_message_chars,
    )
    return respond(turn_json(state, **payload), state)


def conversation_history(state: ChatState) -> list[dict[str, Any]]:
    """The visible conversation so far, with the hand-over as the session knows it."""
    service = current_service()
    texts = service.texts
    after_hours = (
        texts.get("handover.after_hours", hours=texts.agent_hours(service.agent_hours))
        if state.handover == "after_hours"
        else None
    )
    items = history(
        service.rasa.events(state.conversation_id),
        verified_note=texts.get("verified_note"),
        failed_note=texts.get("verify_failed_note"),
        handover_text=after_hours,
        hidden_note=(
            None
            if account_answers_visible(state.conversation_id)
            else texts.get("account_hidden_note")
        ),
    )
    if state.handover == "in_hours":
        last = max((i for i, item in enumerate(items) if item.get("handover")), default=None)
        if last is not None:
            items.insert(
                last + 1, {"role": "note", "text": texts.get("handover.in_hours"), "tone": "info"}
            )
    return items
