"""Base of the Rasa input channels that only the gateway talks to (``voice``, ``webchat``).

Rasa serves channel webhooks without its API token, so these channels check a
shared secret that only the gateway knows (header :data:`bot.contract.SECRET_HEADER`,
value of ``GATEWAY_CHANNEL_SECRET``). The gateway posts JSON:

    {"sender": "<conversation id>", "kind": "text", "text": "…", "metadata": {…}}
    {"sender": "<conversation id>", "kind": "intent", "intent": "authenticated",
     "entities": {"auth_token": "…"}, "metadata": {…}}

``kind: text`` is what a person said or typed: it is neutralised (no leading
"/") so that it can never pose as an intent. ``kind: intent`` is the gateway's
own message (secure-step outcome, a keypad menu choice). ``metadata`` is kept
with the user event in the tracker (a channel may keep less of it, see
:meth:`GatewayInput.tracker_metadata`). The reply is the list of
the assistant's messages, as Rasa's REST channel returns it. A turn in which an
action could not run (action server down) or a response would have shown an
empty slot is undone in the tracker and answered with the one failed-turn
marker instead (:mod:`bot.channels.turn_guard`), which the gateway turns into
its apology. Both ends of this wire (header, neutralising, intent messages, the
marker) come from :mod:`bot.contract`.
"""
from __future__ import annotations

import hmac
import logging
import os
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.preflight import refuse_unsafe_start
from bot.channels.turn_guard import rewind_turn, watched_turn
from bot.contract import (
    DEFAULT_CHANNEL_SECRET,
    SECRET_HEADER,
    intent_message,
    neutralize_user_text,
    turn_failed_reply,
)

logger = logging.getLogger(__name__)

MAX_TEXT = 10_000


def channel_secret() -> str:
    return os.environ.get("GATEWAY_CHANNEL_SECRET") or DEFAULT_CHANNEL_SECRET


class GatewayInput(InputChannel):
    """A channel fed by the gateway; subclasses only give their name."""

    @classmethod
    def name(cls) -> Text:  # pragma: no cover - subclasses name themselves
        raise NotImplementedError

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "GatewayInput":
        """Built by ``rasa run`` before it serves anything: a production Rasa with
        development secrets or an unauthenticated channel stops here
        (:mod:`bot.channels.preflight`)."""
        refuse_unsafe_start(credentials)
        return cls()

    def tracker_metadata(self, metadata: Optional[Dict[Text, Any]]) -> Optional[Dict[Text, Any]]:
        """What of the gateway's metadata the tracker keeps (all of it, unless a channel says)."""
        return metadata

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        hook = Blueprint(f"{self.name()}_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            given = request.headers.get(SECRET_HEADER, "")
            if not hmac.compare_digest(given.encode(), channel_secret().encode()):
                return response.json({"error": "forbidden"}, status=403)
            body = request.json if isinstance(request.json, dict) else None
            if body is None or not isinstance(body.get("sender"), str) or not body["sender"]:
                return response.json({"error": "sender and kind are required"}, status=400)
            try:
                text = self._message_text(body)
            except ValueError as exc:
                return response.json({"error": str(exc)}, status=400)
            metadata = self.tracker_metadata(
                body.get("metadata") if isinstance(body.get("metadata"), dict) else None
            )
            collector = CollectingOutputChannel()
            with watched_turn() as faults:
                await on_new_message(
                    UserMessage(
                        text,
                        collector,
                        body["sender"],
                        input_channel=self.name(),
                        metadata=metadata,
                    )
                )
            if faults:
                logger.warning("%s turn failed (%s): undone, apology marker sent",
                               self.name(), ",".join(faults.reasons))
                await rewind_turn(request.app.ctx.agent, body["sender"], faults)
                return response.json([turn_failed_reply(body["sender"], faults.reasons)])
            return response.json(collector.messages)

        return hook

    @staticmethod
    def _message_text(body: Dict[str, Any]) -> str:
        kind = body.get("kind")
        if kind == "text":
            text = body.get("text")
            if not isinstance(text, str):
                raise ValueError("text must be a string")
            return neutralize_user_text(text[:MAX_TEXT])
        if kind == "intent":
            entities = body.get("entities") or {}
            if not isinstance(entities, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in entities.items()
            ):
                raise ValueError("entities must map names to strings")
            return intent_message(str(body.get("intent") or ""), entities)
        raise ValueError("kind must be 'text' or 'intent'")
