"""Sealing of the identifier between two webhooks, log summaries, caller numbers."""
from __future__ import annotations

import pytest

from bot.gateway.voice.call import callback_phone
from bot.gateway.voice.security import IdentifierSeal, describe_input

SID = "CA" + "a" * 32


def test_sealed_identifier_opens_only_for_the_same_call() -> None:
    seal = IdentifierSeal("secret-1")
    sealed = seal.seal("510104198503150017", SID)
    assert "510104198503150017" not in sealed
    assert seal.open(sealed, SID) == "510104198503150017"
    assert seal.open(sealed, "CA" + "b" * 32) is None
    assert IdentifierSeal("secret-2").open(sealed, SID) is None
    assert seal.seal("510104198503150017", SID) != sealed  # a fresh nonce each time


@pytest.mark.parametrize("sealed", [None, "", "not base64 !!", "AAAA", "QUJDREVGR0hJSktMTU5PUA=="])
def test_damaged_seals_open_to_nothing(sealed) -> None:  # type: ignore[no-untyped-def]
    assert IdentifierSeal("secret").open(sealed, SID) is None


@pytest.mark.parametrize(
    ("digits", "speech", "reveal", "expected"),
    [
        ("1", None, True, "keys='1'"),
        ("135790", None, True, "keys=[redacted, 6]"),
        ("1", None, False, "keys=[redacted, 1]"),
        (None, "我要查余额", True, "speech=[5 chars]"),
        (None, None, True, "no input"),
    ],
)
def test_describe_input_never_shows_secrets(digits, speech, reveal, expected) -> None:  # type: ignore[no-untyped-def]
    summary = describe_input(digits, speech, reveal_keys=reveal)
    assert summary == expected
    assert "查余额" not in summary


@pytest.mark.parametrize(
    ("number", "phone"),
    [("+8613800000001", "13800000001"), ("+862886279298", "02886279298"),
     ("13800000001", "13800000001"), ("anonymous", None), ("+12025550123", None),
     ("", None), (None, None), ("+8675512345678", None)],
)
def test_callback_phone_from_twilio_numbers(number, phone) -> None:  # type: ignore[no-untyped-def]
    assert callback_phone(number) == phone
