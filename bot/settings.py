"""Every setting of the application processes, read from the environment in one place.

The defaults are the embedded local setup (SQLite under ``var/``); production
(``HOTLINE_ENV=production``) refuses to start without its secrets.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

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
    )
    if settings.is_production:
        missing = [
            name
            for name, value, default in (
                ("DATABASE_URL", settings.database_url, defaults.database_url),
                ("RASA_TOKEN", settings.rasa_token, defaults.rasa_token),
                ("SECRET_KEY", settings.secret_key, defaults.secret_key),
            )
            if value == default
        ]
        if missing:
            raise SettingsError(
                "production needs these environment variables set: " + ", ".join(missing)
            )
    return settings
