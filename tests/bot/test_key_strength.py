"""What counts as a strong production key: random keys of 32+ bytes pass, the rest is named."""
from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys

import pytest

from bot.contract import DEFAULT_CHANNEL_SECRET
from bot.key_strength import MAKE_KEY_COMMAND, secret_weakness
from bot.settings import Settings


def test_the_suggested_command_makes_an_accepted_key() -> None:
    made = subprocess.run([sys.executable, "-c", MAKE_KEY_COMMAND.split('"')[1]],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert secret_weakness(made) is None


@pytest.mark.parametrize("make", [
    lambda: secrets.token_urlsafe(48),
    lambda: secrets.token_hex(32),
    lambda: base64.b64encode(os.urandom(48)).decode("ascii"),
])
def test_random_keys_of_usual_shapes_pass(make) -> None:  # type: ignore[no-untyped-def]
    refused = [key for key in (make() for _ in range(500)) if secret_weakness(key)]
    assert refused == []


@pytest.mark.parametrize("value", [
    Settings().secret_key, Settings().rasa_token, DEFAULT_CHANNEL_SECRET,
    Settings().secret_key + "-" + Settings().secret_key,
])
def test_development_defaults_are_refused(value: str) -> None:
    assert secret_weakness(value) is not None


@pytest.mark.parametrize(("value", "why"), [
    ("", "0 bytes long"),
    ("x" * 31, "31 bytes long"),
    ("x" * 200, "repeats"),
    ("Ab1-" * 20, "repeats"),
    ("a" * 62 + "bc", "too few different characters"),
    ("5d41402abc4b2a76b9719d911017c592aab1c4f6e7d8c9b0", "hex needs 64 digits"),
    ("0" * 20 + "123456789" * 2 + "987654321" * 2, "too few different characters"),
])
def test_weak_values_are_told_why(value: str, why: str) -> None:
    problem = secret_weakness(value)
    assert problem is not None and why in problem
    assert value[:8] not in problem or not value
