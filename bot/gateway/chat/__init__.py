"""The web chat: demo page, embeddable widget and the chat API (blueprint ``chat``).

The browser talks only to the gateway; the gateway talks to Rasa through the
``webchat`` input channel (:mod:`bot.channels.webchat`) and performs the secure
step itself, so the query password never reaches Rasa.

Pages and assets (:mod:`.pages`)
    ``GET /``                   demo fund-centre home page with the widget (labelled 演示)
    ``GET /chat/widget.js``     the widget: one ``<script src=…/chat/widget.js>`` embeds it
    ``GET /chat/widget.css``    its style sheet (loaded by the widget into its shadow root)

JSON API (``POST``, ``Content-Type: application/json``, signed chat cookie)
    ``/chat/api/session``   start or resume: conversation id, history, menu, state (:mod:`.start`)
    ``/chat/api/message``   ``{"text": …}`` or ``{"choice": {"menu": …, "key": …}}`` /
                            ``{"choice": {"button": n}}`` (:mod:`.turns`)
    ``/chat/api/verify``    the secure step: identifier + query password, never to Rasa
                            (:mod:`.verify`)
    ``/chat/api/end``       end the conversation; the assistant asks for a rating (:mod:`.turns`)
    ``/chat/api/callback``  leave a phone number after a hand-over (:mod:`.callback`)

Every call but ``session`` names its ``conversation_id``, which must be the
cookie's; the rules every API call passes (origin, limits, errors) are in
:mod:`.api`. A successful verification moves the chat to a new conversation id
and cookie; ending, restarting or letting the cookie expire revokes what the
secure step granted (:mod:`.lifecycle`). The rest: :mod:`.service` (what the
views need, built once), :mod:`.replies` (Rasa's messages ↔ widget JSON),
:mod:`.state` (the signed cookie), :mod:`.texts` (the gateway's Chinese texts),
:mod:`.ratelimit`.
"""

from __future__ import annotations

from flask import Blueprint, Flask

from bot.gateway.chat.service import EXTENSION, build_service

bp = Blueprint("chat", __name__)

__all__ = ["bp", "init_app"]


def init_app(app: Flask) -> None:
    """Build the chat service (texts, Rasa client, limiter) into ``app.extensions``; register ``bp``."""
    app.extensions[EXTENSION] = build_service(app)
    app.register_blueprint(bp)


# The views register themselves on ``bp``.
from bot.gateway.chat import api, callback, pages, start, turns, verify  # noqa: E402,F401
