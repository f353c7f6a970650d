"""What the chat blueprint needs at run time, built once per app by :func:`init_app`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from flask import Flask

from bot.flows import AgentHours, Menu, agent_hours, menus
from bot.gateway.chat.ratelimit import RateLimiter, make_limiter
from bot.gateway.chat.state import StateCodec
from bot.gateway.chat.texts import ChatTexts, load_texts
from bot.gateway.rasa import RasaClient
from bot.settings import Settings, SettingsError

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
    menus: dict[str, Menu]
    agent_hours: AgentHours
    clock: Callable[[], datetime] = _utc_now

    def agents_available(self) -> bool:
        return self.agent_hours.is_open(self.clock())


def _check(settings: Settings) -> None:
    positive = {
        "CHAT_MAX_MESSAGE_CHARS": settings.chat_max_message_chars,
        "CHAT_RATE_PER_SESSION": settings.chat_rate_per_session,
        "CHAT_RATE_PER_ADDRESS": settings.chat_rate_per_address,
        "CHAT_NEW_SESSIONS_PER_ADDRESS": settings.chat_new_sessions_per_address,
        "CHAT_VERIFY_ATTEMPTS_PER_SESSION": settings.chat_verify_attempts_per_session,
        "CHAT_RASA_TIMEOUT_SECONDS": settings.chat_rasa_timeout_seconds,
        "CHAT_SESSION_HOURS": settings.chat_session_hours,
    }
    for name, value in positive.items():
        if value < 1:
            raise SettingsError(f"{name} must be at least 1, got {value}")
    if settings.chat_max_message_chars > 2000:
        raise SettingsError(
            "CHAT_MAX_MESSAGE_CHARS must be at most 2000 (the assistant's own input limit)"
        )
    if settings.chat_trusted_proxies < 0:
        raise SettingsError("CHAT_TRUSTED_PROXIES must be 0 or more")
    if settings.chat_cookie_samesite == "None" and not settings.is_production:
        raise SettingsError(
            "CHAT_COOKIE_SAMESITE=None needs HTTPS (Secure cookies): use it only in production"
        )


def build_service(app: Flask) -> ChatService:
    """Read the settings and ``flows/``, check them, and build the runtime objects."""
    settings: Settings = app.config["HOTLINE_SETTINGS"]
    _check(settings)
    service = ChatService(
        settings=settings,
        texts=load_texts(),
        rasa=RasaClient(
            settings.rasa_url,
            channel=CHANNEL,
            channel_secret=settings.gateway_channel_secret,
            api_token=settings.rasa_token,
            timeout=settings.chat_rasa_timeout_seconds,
        ),
        limiter=app.config.get("CHAT_RATE_LIMITER") or make_limiter(settings.redis_url),
        codec=StateCodec(settings.secret_key, settings.chat_session_hours * 3600),
        menus=menus(),
        agent_hours=agent_hours(),
    )
    if app.config.get("CHAT_CLOCK"):
        service.clock = app.config["CHAT_CLOCK"]
    return service
