"""Production Rasa refuses to start with development secrets or an unauthenticated channel."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from bot.channels.preflight import (
    GATEWAY_CHANNELS,
    UnsafeStart,
    cli_option,
    read_credentials,
    refuse_unsafe_start,
    unsafe_start_problems,
)
from bot.contract import DEFAULT_CHANNEL_SECRET, DEFAULT_RASA_TOKEN

ROOT = Path(__file__).resolve().parents[3]
RASA = ROOT / ".venv" / "rasa" / "bin" / "rasa"
RASA_PYTHON = ROOT / ".venv" / "rasa" / "bin" / "python"
STRONG_SECRET = "q8ZkV3t2Xw9LmN4pR7sT1uY6bC0dE5fGhJ2kL8mN3pQ"
STRONG_TOKEN = "Z1xC2vB3nM4aS5dF6gH7jK8lQ9wE0rT1yU2iO3pA4sD"
PRODUCTION_ENV = {"HOTLINE_ENV": "production", "GATEWAY_CHANNEL_SECRET": STRONG_SECRET,
                  "RASA_TOKEN": STRONG_TOKEN}
PRODUCTION_ARGV = ["rasa", "run", "--enable-api", "--auth-token", STRONG_TOKEN,
                   "--credentials", str(ROOT / "credentials.production.yml")]


def test_the_production_credentials_declare_only_the_gateway_channels() -> None:
    declared = read_credentials(str(ROOT / "credentials.production.yml"))
    assert set(declared) == GATEWAY_CHANNELS
    assert "rest" not in declared
    assert all(value == {"production": True} for value in declared.values())


def test_a_sound_production_start_passes() -> None:
    assert unsafe_start_problems(PRODUCTION_ENV, PRODUCTION_ARGV) == []
    refuse_unsafe_start(None, PRODUCTION_ENV, PRODUCTION_ARGV)


@pytest.mark.parametrize(
    "env_change, argv_change, named",
    [
        ({"GATEWAY_CHANNEL_SECRET": ""}, {}, "GATEWAY_CHANNEL_SECRET"),
        ({"GATEWAY_CHANNEL_SECRET": DEFAULT_CHANNEL_SECRET}, {}, "GATEWAY_CHANNEL_SECRET"),
        ({"RASA_TOKEN": DEFAULT_RASA_TOKEN}, {}, "RASA_TOKEN"),
        ({}, {"--auth-token": DEFAULT_RASA_TOKEN}, "--auth-token"),
        ({}, {"--auth-token": ""}, "--auth-token"),
        ({"GATEWAY_CHANNEL_SECRET": "x"}, {}, "GATEWAY_CHANNEL_SECRET is 1 bytes long"),
        ({"GATEWAY_CHANNEL_SECRET": "ab" * 40}, {}, "GATEWAY_CHANNEL_SECRET"),
        ({"RASA_TOKEN": "0123456789abcdef0123456789abcdef"}, {}, "RASA_TOKEN"),
        ({}, {"--auth-token": "short-token"}, "--auth-token is 11 bytes long"),
        ({}, {"--auth-token": None}, "without --auth-token"),
        ({}, {"--credentials": str(ROOT / "credentials.yml")}, "declares rest"),
        ({}, {"--credentials": None}, "declares rest"),  # rasa run's default credentials.yml
        ({}, {"--credentials": "/nonexistent/credentials.yml"}, "cannot read"),
    ],
)
def test_each_unsafe_production_start_is_refused(env_change, argv_change, named,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    env = {**PRODUCTION_ENV, **env_change}
    argv = list(PRODUCTION_ARGV)
    for option, value in argv_change.items():
        at = argv.index(option)
        if value is None:
            del argv[at:at + 2]
        else:
            argv[at + 1] = value
    with pytest.raises(UnsafeStart, match="production Rasa refuses to start") as refused:
        refuse_unsafe_start(None, env, argv)
    assert named in str(refused.value)


def test_the_production_credentials_refuse_even_without_hotline_env() -> None:
    env = {"GATEWAY_CHANNEL_SECRET": DEFAULT_CHANNEL_SECRET}
    argv = ["rasa", "run", "--credentials", str(ROOT / "credentials.production.yml")]
    with pytest.raises(UnsafeStart, match="GATEWAY_CHANNEL_SECRET"):
        refuse_unsafe_start({"production": True}, env, argv)
    refuse_unsafe_start(None, env, argv)  # development: the defaults are fine


def test_cli_option_forms() -> None:
    assert cli_option(["-t", "a"], "--auth-token", "-t") == "a"
    assert cli_option(["--auth-token=b"], "--auth-token") == "b"
    assert cli_option(["--auth-token", "a", "--auth-token", "c"], "--auth-token") == "c"
    assert cli_option(["--auth-token"], "--auth-token") is None


def _rasa_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if key not in {"HOTLINE_ENV", "GATEWAY_CHANNEL_SECRET", "RASA_TOKEN"}}
    env.update(PYTHONPATH=str(ROOT), RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="3",
               **extra)
    return env


def test_rasa_builds_only_the_gateway_channels_from_the_production_credentials() -> None:
    # Rasa's own channel factory, as `rasa run --credentials credentials.production.yml`
    # calls it: the webhooks served are the gateway's two, and no /webhooks/rest.
    script = (
        "import sys\n"
        "from rasa.core.run import create_http_input_channels\n"
        "sys.argv = sys.argv[1:]\n"
        "print(sorted(c.name() for c in create_http_input_channels(None, sys.argv[-1])))\n"
    )
    result = subprocess.run(
        [str(RASA_PYTHON), "-c", script, *PRODUCTION_ARGV], cwd=ROOT, capture_output=True,
        text=True, timeout=300, env=_rasa_env(**PRODUCTION_ENV),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "['voice', 'webchat']"


@pytest.mark.parametrize(
    "env, credentials",
    [
        ({"HOTLINE_ENV": "production"}, "credentials.production.yml"),  # development secrets
        ({"HOTLINE_ENV": "production", "GATEWAY_CHANNEL_SECRET": STRONG_SECRET},
         "credentials.yml"),  # `rest:` in production
    ],
    ids=["development secrets", "rest channel"],
)
def test_rasa_run_refuses_to_start(env: dict[str, str], credentials: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [str(RASA), "run", "--enable-api", "--auth-token", DEFAULT_RASA_TOKEN
         if "GATEWAY_CHANNEL_SECRET" not in env else STRONG_TOKEN,
         "--interface", "127.0.0.1", "--port", "1", "--model", str(tmp_path),
         "--credentials", credentials],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env=_rasa_env(**env),
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "production Rasa refuses to start" in output
