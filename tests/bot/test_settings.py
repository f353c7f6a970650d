"""Settings: one proxy setting, every value rule in Settings.validate naming the variable,
and strong random keys in production."""
from __future__ import annotations

import dataclasses
import logging
import secrets

import pytest

from bot.gateway import create_app
from bot.key_strength import GENERATED_KEYS, MAKE_KEY_COMMAND
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


# ------------------------------------------------- production keys (issue 11)

STRONG = {name: secrets.token_urlsafe(48) for name in GENERATED_KEYS}
PRODUCTION = {"HOTLINE_ENV": "production", "DATABASE_URL": "postgresql://db.internal/hotline",
              "REDIS_URL": "redis://127.0.0.1:6379/0", "TWILIO_AUTH_TOKEN": "f" * 16 + "0" * 16,
              "PUBLIC_BASE_URL": "https://hotline.example.gov.cn", **STRONG}


def test_production_starts_with_strong_random_keys() -> None:
    settings = load_settings(PRODUCTION)
    assert settings.secret_key == STRONG["SECRET_KEY"]
    assert load_settings({**PRODUCTION, "SECRET_KEY": secrets.token_hex(32)}).is_production


@pytest.mark.parametrize("name", GENERATED_KEYS)
@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("x", "at least 32 random bytes"),
        ("s3cret", "at least 32 random bytes"),
        ("x" * 64, "repeats"),
        ("ab" * 40, "repeats"),
        ("0123456789abcdef" * 4, "repeats"),
        ("a" * 62 + "bc", "too few different characters"),
        ("local-dev-secret-key-not-for-production-96319", "development default"),
        ("local-dev-gateway-secret-but-a-bit-longer-now", "development default"),
        ("changeme-Zq8Jw3kPd0Lr6TnXv2Bs9YhMc4Gf7Ua1Ke5Ni", "placeholder"),
        ("9f86d081884c7d659a2feaa0c55ad015", "hex needs 64 digits"),  # 16 bytes in hex
        ("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822c", "hex needs 64 digits"),  # 24 bytes
        ("my-very-secret-production-key-for-the-fund-center", "random bits"),
        ("correct horse battery staple correct horse", "random bits"),
        ("13812345678901234567890123456789012345", "random bits"),
    ],
)
def test_production_refuses_weak_keys_naming_them(name: str, value: str, why: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings({**PRODUCTION, name: value})
    message = str(refused.value)
    assert name in message and why in message
    assert MAKE_KEY_COMMAND in message
    assert value not in message  # the weak key itself is not printed
    for other in set(GENERATED_KEYS) - {name}:
        assert other not in message


@pytest.mark.parametrize("name", GENERATED_KEYS)
def test_production_refuses_the_development_default_keys(name: str) -> None:
    env = {key: value for key, value in PRODUCTION.items() if key != name}
    with pytest.raises(SettingsError, match=f"variables set: {name}") as refused:
        load_settings(env)
    assert MAKE_KEY_COMMAND in str(refused.value)


def test_every_weak_key_is_named_at_once() -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings({**PRODUCTION, "SECRET_KEY": "x" * 40, "RASA_TOKEN": "token"})
    assert "SECRET_KEY" in str(refused.value) and "RASA_TOKEN" in str(refused.value)


def test_the_gateway_refuses_weak_keys_handed_to_it() -> None:
    settings = dataclasses.replace(load_settings(PRODUCTION), gateway_channel_secret="g" * 32)
    with pytest.raises(SettingsError, match="GATEWAY_CHANNEL_SECRET"):
        create_app({"HOTLINE_SETTINGS": settings})


def test_development_keeps_its_defaults() -> None:
    assert load_settings({}).secret_key == Settings().secret_key
    assert load_settings({"HOTLINE_ENV": "test", "SECRET_KEY": "x"}).secret_key == "x"


def _production(**extra: str) -> dict[str, str]:
    """Every production secret set (strong, random); ``extra`` adds or replaces."""
    import secrets

    return {"HOTLINE_ENV": "production", "DATABASE_URL": "postgresql://db/hotline",
            "RASA_TOKEN": secrets.token_urlsafe(48), "SECRET_KEY": secrets.token_urlsafe(48),
            "GATEWAY_CHANNEL_SECRET": secrets.token_urlsafe(48),
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


# ------------------------------------------------- the gateway under gunicorn (issue 10)


def test_gateway_bind_workers_and_threads() -> None:
    defaults = load_settings({})
    assert (defaults.gateway_bind, defaults.gateway_workers, defaults.gateway_threads) == (
        "127.0.0.1:8000", 1, 8)
    assert load_settings({"GATEWAY_PORT": "8123"}).gateway_bind == "127.0.0.1:8123"
    settings = load_settings({"GATEWAY_BIND": "0.0.0.0:8080", "GATEWAY_PORT": "8123",
                              "GATEWAY_WORKERS": "3", "GATEWAY_THREADS": "4",
                              "REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert (settings.gateway_bind, settings.gateway_workers, settings.gateway_threads) == (
        "0.0.0.0:8080", 3, 4)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"GATEWAY_WORKERS": "0"}, "GATEWAY_WORKERS"),
        ({"GATEWAY_THREADS": "0"}, "GATEWAY_THREADS"),
        # the chat rate limits would be counted per process
        ({"GATEWAY_WORKERS": "2"}, "REDIS_URL"),
    ],
)
def test_bad_gateway_process_settings_are_refused(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(env)
