"""Settings: one proxy setting, and every value rule in Settings.validate, naming the variable."""
from __future__ import annotations

import dataclasses
import logging

import pytest

from bot.gateway import create_app
from bot.settings import Settings, SettingsError, load_settings


@pytest.mark.parametrize(
    ("env", "hops"),
    [
        ({}, 0),
        ({"TRUSTED_PROXIES": "2"}, 2),
        ({"TRUSTED_PROXIES": ""}, 0),
        # the old per-part names, read only when TRUSTED_PROXIES is unset
        ({"CHAT_TRUSTED_PROXIES": "1"}, 1),
        ({"VOICE_TRUSTED_PROXIES": "1"}, 1),
        ({"CHAT_TRUSTED_PROXIES": "1", "VOICE_TRUSTED_PROXIES": "1"}, 1),
        ({"TRUSTED_PROXIES": "0", "CHAT_TRUSTED_PROXIES": "1", "VOICE_TRUSTED_PROXIES": "2"}, 0),
    ],
)
def test_one_proxy_setting(env: dict[str, str], hops: int) -> None:
    assert load_settings(env).trusted_proxies == hops


def test_old_proxy_names_are_deprecated(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.settings"):
        load_settings({"VOICE_TRUSTED_PROXIES": "1"})
    assert "VOICE_TRUSTED_PROXIES is deprecated" in caplog.text


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"TRUSTED_PROXIES": "-1"}, "TRUSTED_PROXIES"),
        ({"TRUSTED_PROXIES": "one"}, "TRUSTED_PROXIES"),
        ({"CHAT_TRUSTED_PROXIES": "1", "VOICE_TRUSTED_PROXIES": "2"}, "TRUSTED_PROXIES"),
        ({"DESK_IDLE_MINUTES": "0"}, "DESK_IDLE_MINUTES"),
        ({"DESK_MAX_LOGIN_FAILURES": "0"}, "DESK_MAX_LOGIN_FAILURES"),
        ({"DESK_LOCKOUT_MINUTES": "-5"}, "DESK_LOCKOUT_MINUTES"),
        ({"CHAT_SESSION_HOURS": "0"}, "CHAT_SESSION_HOURS"),
        ({"CHAT_VERIFY_ATTEMPTS_PER_SESSION": "0"}, "CHAT_VERIFY_ATTEMPTS_PER_SESSION"),
        ({"VOICE_TURN_DEADLINE_MS": "20000"}, "VOICE_TURN_DEADLINE_MS"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(env)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"desk_idle_minutes": 0}, "DESK_IDLE_MINUTES"),
        ({"tracker_db_url": ""}, "TRACKER_DB_URL"),
        ({"chat_rate_per_address": 0}, "CHAT_RATE_PER_ADDRESS"),
        ({"trusted_proxies": -1}, "TRUSTED_PROXIES"),
    ],
)
def test_settings_handed_to_the_gateway_are_validated_too(change: dict, named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        create_app({"HOTLINE_SETTINGS": dataclasses.replace(Settings(env="test"), **change)})


def test_release_settings_and_the_replicas() -> None:
    defaults = load_settings({})
    assert defaults.replica_urls == ("http://127.0.0.1:5005",)
    assert defaults.release_tolerance == 0.005
    assert defaults.release_rasa.endswith(".venv/rasa/bin/rasa")
    assert defaults.release_models_dir.endswith("var/models")
    settings = load_settings({"RASA_URL": "http://10.0.0.1:5005/",
                              "RASA_URLS": "http://10.0.0.1:5005/, http://10.0.0.2:5005",
                              "RELEASE_TOLERANCE": "0.01", "RELEASE_CONFIG": "tiny.yml"})
    assert settings.replica_urls == ("http://10.0.0.1:5005", "http://10.0.0.2:5005")
    assert (settings.release_tolerance, settings.release_config) == (0.01, "tiny.yml")
    for env, named in (({"RASA_URLS": "10.0.0.2:5005"}, "RASA_URLS"),
                       ({"RELEASE_TOLERANCE": "half"}, "RELEASE_TOLERANCE"),
                       ({"RELEASE_TOLERANCE": "1.5"}, "RELEASE_TOLERANCE")):
        with pytest.raises(SettingsError, match=named):
            load_settings(env)


def _production(**extra: str) -> dict[str, str]:
    """Every production secret set (strong, random); ``extra`` adds or replaces."""
    import secrets

    return {"HOTLINE_ENV": "production", "DATABASE_URL": "postgresql://db/hotline",
            "RASA_TOKEN": secrets.token_urlsafe(32), "SECRET_KEY": secrets.token_urlsafe(32),
            "GATEWAY_CHANNEL_SECRET": secrets.token_urlsafe(32),
            "TWILIO_AUTH_TOKEN": secrets.token_hex(16), **extra}


def test_production_needs_redis_for_the_rate_limits() -> None:
    with pytest.raises(SettingsError, match="REDIS_URL"):
        load_settings(_production())
    # Other parts may require more; REDIS_URL is no longer among the missing.
    try:
        settings = load_settings(_production(REDIS_URL="redis://redis.internal:6379/0"))
    except SettingsError as error:
        assert "REDIS_URL" not in str(error)
    else:
        assert settings.redis_url == "redis://redis.internal:6379/0"


def test_redis_is_optional_outside_production() -> None:
    assert load_settings({}).redis_url == ""
    assert load_settings({"HOTLINE_ENV": "test"}).redis_url == ""


@pytest.mark.parametrize("url", ["127.0.0.1:6379", "http://:hunter2@redis:6379/0"])
def test_a_malformed_redis_url_is_refused_without_echoing_it(url: str) -> None:
    with pytest.raises(SettingsError, match="REDIS_URL") as raised:
        load_settings({"REDIS_URL": url})
    assert "hunter2" not in str(raised.value) and "6379" not in str(raised.value)
