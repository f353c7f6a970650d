"""Every setting of the application processes, read from the environment in one place.

The defaults are the embedded local setup (SQLite under ``var/``); production
(``HOTLINE_ENV=production``) refuses to start without its secrets. Every rule
about a setting's value is :meth:`Settings.validate`, run by :func:`load_settings`
and by the gateway for settings handed to it; its errors name the variable.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.contract import DEFAULT_CHANNEL_SECRET, DEFAULT_RASA_TOKEN
from bot.key_strength import GENERATED_KEYS, MAKE_KEY_COMMAND, secret_weakness

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / "var"

# Read only when TRUSTED_PROXIES is unset; each part once had its own.
DEPRECATED_PROXY_SETTINGS = ("CHAT_TRUSTED_PROXIES", "VOICE_TRUSTED_PROXIES")


class SettingsError(RuntimeError):
    """A setting is missing or malformed; the message names the variable."""


def _number(env: dict[str, str], name: str, default: Any, kind: type, what: str) -> Any:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return kind(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be {what}, got {raw!r}") from exc


def _int(env: dict[str, str], name: str, default: int) -> int:
    return _number(env, name, default, int, "an integer")


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


def _float(env: dict[str, str], name: str, default: float) -> float:
    return _number(env, name, default, float, "a number")


def _urls(env: dict[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated ``http(s)://`` base URLs (no trailing slash)."""
    return tuple(url for url in (_base_url({name: raw}, name) for raw in
                                 (env.get(name) or "").split(",")) if url)


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


def _trusted_proxies(env: dict[str, str]) -> int:
    """``TRUSTED_PROXIES``, or else the deprecated per-part names if they agree."""
    if env.get("TRUSTED_PROXIES", "") != "":
        return _int(env, "TRUSTED_PROXIES", 0)
    old = {name: _int(env, name, 0) for name in DEPRECATED_PROXY_SETTINGS if env.get(name, "") != ""}
    if len(set(old.values())) > 1:
        raise SettingsError(
            f"{' and '.join(old)} differ; set TRUSTED_PROXIES, the gateway's one proxy setting"
        )
    for name in old:
        logger.warning("%s is deprecated: set TRUSTED_PROXIES instead", name)
    return next(iter(old.values()), 0)


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    database_url: str = f"sqlite:///{VAR_DIR / 'hotline.db'}"
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str = DEFAULT_RASA_TOKEN
    action_server_port: int = 5055
    auth_ttl_minutes: int = 15
    auth_max_failures: int = 5
    auth_failure_window_hours: int = 24
    # Soft per-source throttle of the secure step (bot/records/throttle.py): a
    # source (web address or IPv6 /64, chat session or call, calling number)
    # with AUTH_SOURCE_SLOW_AFTER failures waits AUTH_SOURCE_SLOW_MINUTES after
    # its last one; with AUTH_SOURCE_STOP_AFTER failures, or failures on
    # AUTH_SOURCE_STOP_ACCOUNTS accounts, it is stopped until they leave
    # AUTH_SOURCE_WINDOW_HOURS. Stop below AUTH_MAX_FAILURES, so that no source
    # alone can lock an account.
    auth_source_slow_after: int = 2
    auth_source_slow_minutes: int = 5
    auth_source_stop_after: int = 3
    auth_source_stop_accounts: int = 3
    auth_source_window_hours: int = 24
    # More failed verifications than this within AUTH_SPIKE_WINDOW_MINUTES,
    # across all accounts, is a spike: a log warning and a figure on the desk.
    auth_spike_failures: int = 50
    auth_spike_window_minutes: int = 15
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
    chat_cookie_samesite: str = "Lax"
    chat_session_hours: int = 12
    # phone line (issue 3, bot/gateway/voice): Twilio credentials (webhook
    # signatures, SMS), the URL Twilio calls, the gateway's own per-turn deadline.
    twilio_account_sid: str = ""
    twilio_auth_token: str = "local-dev-twilio-auth-token"
    twilio_from_number: str = ""
    public_base_url: str = ""
    voice_turn_deadline_ms: int = 4000
    agent_transfer_target: str = ""
    # Reverse proxies in front of the gateway (client address, scheme and host
    # are taken from their X-Forwarded-* headers, ProxyFix in bot/gateway).
    trusted_proxies: int = 0
    # model releases (issue 9, bot/knowledge/release.py): every Rasa replica to
    # load a published model (default: RASA_URL alone), the Rasa environment and
    # config that train it, the drop in held-out accuracy tolerated, where
    # published models are kept (readable by every replica at that path), and the
    # folder Rasa loads its first model from (``rasa run --model``).
    rasa_urls: tuple[str, ...] = ()
    release_rasa: str = str(PROJECT_ROOT / ".venv" / "rasa" / "bin" / "rasa")
    release_config: str = str(PROJECT_ROOT / "config.yml")
    release_tolerance: float = 0.005
    # The directory `rasa run --model var/models` starts from: a restarted
    # replica picks the newest model there, which is the one last published
    # or rolled back to (both make their file the newest).
    release_models_dir: str = str(VAR_DIR / "models")
    rasa_model_dir: str = str(VAR_DIR / "models")
    # production topology (issue 10, gunicorn.conf.py): where the gateway listens
    # (GATEWAY_BIND, else 127.0.0.1:GATEWAY_PORT), its gunicorn worker processes
    # and the threads of each. More than one worker needs REDIS_URL: the chat
    # rate limits must be shared by every process.
    gateway_bind: str = "127.0.0.1:8000"
    gateway_workers: int = 1
    gateway_threads: int = 8
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def replica_urls(self) -> tuple[str, ...]:
        """Every Rasa replica (``RASA_URLS``), or ``RASA_URL`` alone."""
        return self.rasa_urls or (self.rasa_url,)

    def validate(self) -> "Settings":
        """Check every value and combination; return the settings, or raise SettingsError."""
        _at_least(1, {
            "CHAT_MAX_MESSAGE_CHARS": self.chat_max_message_chars,
            "CHAT_RATE_PER_SESSION": self.chat_rate_per_session,
            "CHAT_RATE_PER_ADDRESS": self.chat_rate_per_address,
            "CHAT_NEW_SESSIONS_PER_ADDRESS": self.chat_new_sessions_per_address,
            "CHAT_VERIFY_ATTEMPTS_PER_SESSION": self.chat_verify_attempts_per_session,
            "CHAT_RASA_TIMEOUT_SECONDS": self.chat_rasa_timeout_seconds,
            "CHAT_SESSION_HOURS": self.chat_session_hours,
            "DESK_IDLE_MINUTES": self.desk_idle_minutes,
            "DESK_MAX_LOGIN_FAILURES": self.desk_max_login_failures,
            "DESK_LOCKOUT_MINUTES": self.desk_lockout_minutes,
            "AUTH_SOURCE_SLOW_AFTER": self.auth_source_slow_after,
            "AUTH_SOURCE_SLOW_MINUTES": self.auth_source_slow_minutes,
            "AUTH_SOURCE_STOP_AFTER": self.auth_source_stop_after,
            "AUTH_SOURCE_STOP_ACCOUNTS": self.auth_source_stop_accounts,
            "AUTH_SPIKE_FAILURES": self.auth_spike_failures,
            "AUTH_SPIKE_WINDOW_MINUTES": self.auth_spike_window_minutes,
        })
        if self.auth_source_stop_after >= self.auth_max_failures:
            raise SettingsError(
                "AUTH_SOURCE_STOP_AFTER must be below AUTH_MAX_FAILURES "
                f"({self.auth_max_failures}): a source must never lock an account alone"
            )
        if self.auth_source_window_hours < self.auth_failure_window_hours:
            raise SettingsError(
                "AUTH_SOURCE_WINDOW_HOURS must be at least AUTH_FAILURE_WINDOW_HOURS "
                f"({self.auth_failure_window_hours})"
            )
        _at_least(0, {"TRUSTED_PROXIES": self.trusted_proxies})
        _at_least(1, {"GATEWAY_WORKERS": self.gateway_workers,
                      "GATEWAY_THREADS": self.gateway_threads})
        if self.gateway_workers > 1 and not self.redis_url:
            raise SettingsError("GATEWAY_WORKERS above 1 needs REDIS_URL: the chat rate limits "
                                "must be shared by every gateway process")
        if self.chat_max_message_chars > 2000:
            raise SettingsError(
                "CHAT_MAX_MESSAGE_CHARS must be at most 2000 (the assistant's own input limit)"
            )
        if self.chat_cookie_samesite == "None" and not self.is_production:
            raise SettingsError(
                "CHAT_COOKIE_SAMESITE=None needs HTTPS (Secure cookies): use it only in production"
            )
        if not self.tracker_db_url:
            raise SettingsError("TRACKER_DB_URL must not be empty")
        if not 1000 <= self.voice_turn_deadline_ms <= 12000:
            raise SettingsError(
                "VOICE_TURN_DEADLINE_MS must be 1000-12000 (Twilio gives up after 15 s), "
                f"got {self.voice_turn_deadline_ms}"
            )
        if not 0 <= self.release_tolerance < 1:
            raise SettingsError(
                f"RELEASE_TOLERANCE must be at least 0 and below 1, got {self.release_tolerance}"
            )
        if self.redis_url and not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            # not echoed: the URL may hold Redis's password
            raise SettingsError("REDIS_URL must be a redis://, rediss:// or unix:// URL")
        if self.is_production:
            self._validate_production()
        return self

    def _validate_production(self) -> None:
        defaults = Settings()
        missing = [
            name
            for name, value, default in (
                ("DATABASE_URL", self.database_url, defaults.database_url),
                ("RASA_TOKEN", self.rasa_token, defaults.rasa_token),
                ("SECRET_KEY", self.secret_key, defaults.secret_key),
                (
                    "GATEWAY_CHANNEL_SECRET",
                    self.gateway_channel_secret,
                    defaults.gateway_channel_secret,
                ),
                ("TWILIO_AUTH_TOKEN", self.twilio_auth_token, defaults.twilio_auth_token),
                # the chat rate limits, shared by every gateway process and replica
                ("REDIS_URL", self.redis_url, defaults.redis_url),
            )
            if value == default
        ]
        if missing:
            hint = (f" (make each key with: {MAKE_KEY_COMMAND})"
                    if set(missing) & set(GENERATED_KEYS) else "")
            raise SettingsError(
                "production needs these environment variables set: " + ", ".join(missing) + hint
            )
        keys = {"SECRET_KEY": self.secret_key, "GATEWAY_CHANNEL_SECRET": self.gateway_channel_secret,
                "RASA_TOKEN": self.rasa_token}
        weak = [(name, secret_weakness(keys[name])) for name in GENERATED_KEYS]
        problems = [f"{name} {problem}" for name, problem in weak if problem]
        if problems:
            raise SettingsError(
                "production needs strong random keys: " + "; ".join(problems)
                + f". Make each one with: {MAKE_KEY_COMMAND}"
            )
        if self.public_base_url and not self.public_base_url.startswith("https://"):
            raise SettingsError("PUBLIC_BASE_URL must be an https:// URL in production")


def _at_least(minimum: int, values: dict[str, int]) -> None:
    for name, value in values.items():
        if value < minimum:
            raise SettingsError(f"{name} must be at least {minimum}, got {value}")


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
        auth_source_slow_after=_int(env, "AUTH_SOURCE_SLOW_AFTER",
                                    defaults.auth_source_slow_after),
        auth_source_slow_minutes=_int(env, "AUTH_SOURCE_SLOW_MINUTES",
                                      defaults.auth_source_slow_minutes),
        auth_source_stop_after=_int(env, "AUTH_SOURCE_STOP_AFTER",
                                    defaults.auth_source_stop_after),
        auth_source_stop_accounts=_int(env, "AUTH_SOURCE_STOP_ACCOUNTS",
                                       defaults.auth_source_stop_accounts),
        auth_source_window_hours=_int(env, "AUTH_SOURCE_WINDOW_HOURS",
                                      defaults.auth_source_window_hours),
        auth_spike_failures=_int(env, "AUTH_SPIKE_FAILURES", defaults.auth_spike_failures),
        auth_spike_window_minutes=_int(env, "AUTH_SPIKE_WINDOW_MINUTES",
                                       defaults.auth_spike_window_minutes),
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
        chat_cookie_samesite=_samesite(env, "CHAT_COOKIE_SAMESITE", defaults.chat_cookie_samesite),
        chat_session_hours=_int(env, "CHAT_SESSION_HOURS", defaults.chat_session_hours),
        twilio_account_sid=(env.get("TWILIO_ACCOUNT_SID") or "").strip(),
        twilio_auth_token=env.get("TWILIO_AUTH_TOKEN") or defaults.twilio_auth_token,
        twilio_from_number=(env.get("TWILIO_FROM_NUMBER") or "").strip(),
        public_base_url=_base_url(env, "PUBLIC_BASE_URL"),
        voice_turn_deadline_ms=_int(
            env, "VOICE_TURN_DEADLINE_MS", defaults.voice_turn_deadline_ms
        ),
        agent_transfer_target=(env.get("AGENT_TRANSFER_TARGET") or "").strip(),
        trusted_proxies=_trusted_proxies(env),
        rasa_urls=_urls(env, "RASA_URLS"),
        release_rasa=env.get("RELEASE_RASA") or defaults.release_rasa,
        release_config=env.get("RELEASE_CONFIG") or defaults.release_config,
        release_tolerance=_float(env, "RELEASE_TOLERANCE", defaults.release_tolerance),
        release_models_dir=env.get("RELEASE_MODELS_DIR") or defaults.release_models_dir,
        rasa_model_dir=env.get("RASA_MODEL_DIR") or defaults.rasa_model_dir,
        gateway_bind=(env.get("GATEWAY_BIND") or "").strip()
        or f"127.0.0.1:{env.get('GATEWAY_PORT') or 8000}",
        gateway_workers=_int(env, "GATEWAY_WORKERS", defaults.gateway_workers),
        gateway_threads=_int(env, "GATEWAY_THREADS", defaults.gateway_threads),
    )
    return settings.validate()
