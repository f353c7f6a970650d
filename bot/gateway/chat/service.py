"""What the chat blueprint needs at run time, built once per app by :func:`init_app`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from flask import Flask, current_app

from bot.flows import AgentHours, Menu, agent_hours, menus
from bot.gateway.chat.ratelimit import RateLimiter, make_limiter
from bot.gateway.chat.state import CookiePolicy, StateCodec, cookie_policy
from bot.gateway.chat.texts import ChatTexts, load_texts
from bot.gateway.rasa import RasaClient
from bot.settings import Settings

EXTENSION = "hotline_chat"
CHANNEL = "webchat"


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class ChatService:
    settings: Settings
    texts: ChatTexts
    rasa: RasaClient
    limiter: RateLimiter
    codec: StateCodec
    cookie: CookiePolicy
    menus: dict[str, Menu]
    agent_hours: AgentHours
    clock: Callable[[], datetime] = _utc_now

    def agents_available(self) -> bool:
        return self.agent_hours.is_open(self.clock())


def current_service() -> ChatService:
    """The chat service of the app handling the current request."""
    return current_app.extensions[EXTENSION]


def build_service(app: Flask) -> ChatService:
    """Build the runtime objects from the (validated) settings and ``flows/``."""
    settings: Settings = app.config["HOTLINE_SETTINGS"]
    service = ChatService(
        settings=settings,
        texts=load_texts(),
        rasa=RasaClient(
            settings.replica_urls,
            channel=CHANNEL,
            channel_secret=settings.gateway_channel_secret,
            api_token=settings.rasa_token,
            timeout=settings.chat_rasa_timeout_seconds,
        ),
        limiter=app.config.get("CHAT_RATE_LIMITER") or make_limiter(settings.redis_url),
        codec=StateCodec(settings.secret_key, settings.chat_session_hours * 3600),
        cookie=cookie_policy(
            production=settings.is_production, samesite=settings.chat_cookie_samesite
        ),
        menus=menus(),
        agent_hours=agent_hours(),
    )
    if app.config.get("CHAT_CLOCK"):
        service.clock = app.config["CHAT_CLOCK"]
    return service
