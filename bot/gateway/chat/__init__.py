"""The web chat: demo page, embeddable widget and the chat API (blueprint ``chat``).

The browser talks only to the gateway; the gateway talks to Rasa through the
``webchat`` input channel (:mod:`bot.channels.webchat`) and performs the secure
step itself (:func:`bot.records.auth.verify_identity`), so the query password
never reaches Rasa. See :mod:`bot.gateway.chat.views` for the routes.
"""

from __future__ import annotations

from flask import Flask

from bot.gateway.chat.service import EXTENSION, build_service
from bot.gateway.chat.views import bp

__all__ = ["bp", "init_app"]


def init_app(app: Flask) -> None:
    """Build the chat service (texts, Rasa client, limiter) into ``app.extensions``; register ``bp``."""
    app.extensions[EXTENSION] = build_service(app)
    app.register_blueprint(bp)
