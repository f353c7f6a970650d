"""Every setting of the application processes, read from the environment in one place.

The defaults are the embedded local setup (SQLite under ``var/``); production
(``HOTLINE_ENV=production``) refuses to start without its secrets.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from bot.contract import DEFAULT_CHANNEL_SECRET

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / "var"


class SettingsError(RuntimeError):
    """A setting is missing or malformed; the message names the variable."""


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc


def _origins(env: dict[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated ``scheme://host[:port]`` origins (no path, no wildcard)."""
    from urllib.parse import urlsplit

    origins = []
    for raw in (env.get(name) or "").split(","):
        origin = raw.strip().rstrip("/")
        if not origin:
            continue
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or "*" in origin:
            raise SettingsError(
                f"{name} must list origins like https://www.example.gov.cn, got {raw.strip()!r}"
            )
        origins.append(f"{parts.scheme}://{parts.netloc.lower()}")
    return tuple(origins)


def _samesite(env: dict[str, str], name: str, default: str) -> str:
    raw = (env.get(name) or default).strip().capitalize()
    if raw not in ("Lax", "Strict", "None"):
        raise SettingsError(f"{name} must be Lax, Strict or None, got {env.get(name)!r}")
    return raw


def _base_url(env: dict[str, str], name: str) -> str:
    """An absolute ``http(s)://host[:port][/path]`` URL without query, no trailing slash."""
    from urllib.parse import urlsplit

    raw = (env.get(name) or "").strip().rstrip("/")
    if not raw:
        return ""
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise SettingsError(f"{name} must be like https://hotline.example.gov.cn, got {raw!r}")
    return raw


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    database_url: str = f"sqlite:///{VAR_DIR / 'hotline.db'}"
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str = "local-dev-rasa-token"
    action_server_port: int = 5055
    auth_ttl_minutes: int = 15
    auth_max_failures: int = 5
    auth_failure_window_hours: int = 24
    secret_key: str = "local-dev-secret-key-not-for-production"
    redis_url: str = ""
    # desk (issue 5): Rasa tracker store read for the service overview, staff sessions
    tracker_db_url: str = "sqlite:///var/rasa_tracker.db"
    desk_idle_minutes: int = 30
    desk_max_login_failures: int = 5
    desk_lockout_minutes: int = 15
    # Shared secret of the gateway-only Rasa channels (bot/channels/gateway.py).
    gateway_channel_secret: str = DEFAULT_CHANNEL_SECRET
    # web chat (issue 4, bot/gateway/chat): origins allowed to embed the widget
    # (CORS), limits, and how long the gateway waits for Rasa before apologising.
    chat_allowed_origins: tuple[str, ...] = ()
    chat_max_message_chars: int = 500
    chat_rate_per_session: int = 20
    chat_rate_per_address: int = 120
    chat_new_sessions_per_address: int = 30
    chat_verify_attempts_per_session: int = 6
    chat_rasa_timeout_seconds: int = 8
    chat_trusted_proxies: int = 0
    chat_cookie_samesite: str = "Lax"
    chat_session_hours: int = 12
    # phone line (issue 3, bot/gateway/voice): Twilio credentials (webhook
    # signatures, SMS), the URL Twilio calls, the gateway's own per-turn deadline.
    twilio_account_sid: str = ""
    twilio_auth_token: str = "local-dev-twilio-auth-token"
    twilio_from_number: str = ""
    public_base_url: str = ""
    voice_trusted_proxies: int = 0
    voice_turn_deadline_ms: int = 4000
    agent_transfer_target: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.env == "production"


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build and validate the settings from ``environ`` (default: ``os.environ``)."""
    env = dict(os.environ if environ is None else environ)
    mode = env.get("HOTLINE_ENV", "development").strip() or "development"
    if mode not in {"development", "test", "production"}:
        raise SettingsError(
            f"HOTLINE_ENV must be development, test or production, got {mode!r}"
        )
    defaults = Settings()
    settings = Settings(
        env=mode,
        database_url=env.get("DATABASE_URL") or defaults.database_url,
        rasa_url=(env.get("RASA_URL") or defaults.rasa_url).rstrip("/"),
        rasa_token=env.get("RASA_TOKEN") or defaults.rasa_token,
        action_server_port=_int(env, "ACTION_SERVER_PORT", defaults.action_server_port),
        auth_ttl_minutes=_int(env, "AUTH_TTL_MINUTES", defaults.auth_ttl_minutes),
        auth_max_failures=_int(env, "AUTH_MAX_FAILURES", defaults.auth_max_failures),
        auth_failure_window_hours=_int(
            env, "AUTH_FAILURE_WINDOW_HOURS", defaults.auth_failure_window_hours
        ),
        secret_key=env.get("SECRET_KEY") or defaults.secret_key,
        redis_url=env.get("REDIS_URL", ""),
        tracker_db_url=env.get("TRACKER_DB_URL") or defaults.tracker_db_url,
        desk_idle_minutes=_int(env, "DESK_IDLE_MINUTES", defaults.desk_idle_minutes),
        desk_max_login_failures=_int(
            env, "DESK_MAX_LOGIN_FAILURES", defaults.desk_max_login_failures
        ),
        desk_lockout_minutes=_int(env, "DESK_LOCKOUT_MINUTES", defaults.desk_lockout_minutes),
        gateway_channel_secret=env.get("GATEWAY_CHANNEL_SECRET")
        or defaults.gateway_channel_secret,
        chat_allowed_origins=_origins(env, "CHAT_ALLOWED_ORIGINS"),
        chat_max_message_chars=_int(env, "CHAT_MAX_MESSAGE_CHARS", defaults.chat_max_message_chars),
        chat_rate_per_session=_int(env, "CHAT_RATE_PER_SESSION", defaults.chat_rate_per_session),
        chat_rate_per_address=_int(env, "CHAT_RATE_PER_ADDRESS", defaults.chat_rate_per_address),
        chat_new_sessions_per_address=_int(
            env, "CHAT_NEW_SESSIONS_PER_ADDRESS", defaults.chat_new_sessions_per_address
        ),
        chat_verify_attempts_per_session=_int(
            env, "CHAT_VERIFY_ATTEMPTS_PER_SESSION", defaults.chat_verify_attempts_per_session
        ),
        chat_rasa_timeout_seconds=_int(
            env, "CHAT_RASA_TIMEOUT_SECONDS", defaults.chat_rasa_timeout_seconds
        ),
        chat_trusted_proxies=_int(env, "CHAT_TRUSTED_PROXIES", defaults.chat_trusted_proxies),
        chat_cookie_samesite=_samesite(env, "CHAT_COOKIE_SAMESITE", defaults.chat_cookie_samesite),
        chat_session_hours=_int(env, "CHAT_SESSION_HOURS", defaults.chat_session_hours),
        twilio_account_sid=(env.get("TWILIO_ACCOUNT_SID") or "").strip(),
        twilio_auth_token=env.get("TWILIO_AUTH_TOKEN") or defaults.twilio_auth_token,
        twilio_from_number=(env.get("TWILIO_FROM_NUMBER") or "").strip(),
        public_base_url=_base_url(env, "PUBLIC_BASE_URL"),
        voice_trusted_proxies=_int(env, "VOICE_TRUSTED_PROXIES", defaults.voice_trusted_proxies),
        voice_turn_deadline_ms=_int(
            env, "VOICE_TURN_DEADLINE_MS", defaults.voice_turn_deadline_ms
        ),
        agent_transfer_target=(env.get("AGENT_TRANSFER_TARGET") or "").strip(),
    )
    if not 1000 <= settings.voice_turn_deadline_ms <= 12000:
        raise SettingsError(
            "VOICE_TURN_DEADLINE_MS must be 1000-12000 (Twilio gives up after 15 s), "
            f"got {settings.voice_turn_deadline_ms}"
        )
    if settings.is_production:
        missing = [
            name
            for name, value, default in (
                ("DATABASE_URL", settings.database_url, defaults.database_url),
                ("RASA_TOKEN", settings.rasa_token, defaults.rasa_token),
                ("SECRET_KEY", settings.secret_key, defaults.secret_key),
                (
                    "GATEWAY_CHANNEL_SECRET",
                    settings.gateway_channel_secret,
                    defaults.gateway_channel_secret,
                ),
                ("TWILIO_AUTH_TOKEN", settings.twilio_auth_token, defaults.twilio_auth_token),
            )
            if value == default
        ]
        if missing:
            raise SettingsError(
                "production needs these environment variables set: " + ", ".join(missing)
            )
        if settings.public_base_url and not settings.public_base_url.startswith("https://"):
            raise SettingsError("PUBLIC_BASE_URL must be an https:// URL in production")
    return settings
