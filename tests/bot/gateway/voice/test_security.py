"""Sealing of the identifier between two webhooks, and log summaries that hide secrets."""
from __future__ import annotations

import pytest

from bot.gateway.voice.security import identifier_seal, describe_input

SID = "CA" + "a" * 32


def test_sealed_identifier_opens_only_for_the_same_call() -> None:
    seal = identifier_seal("secret-1")
    sealed = seal.seal("510104198503150017", SID)
    assert "510104198503150017" not in sealed
    assert seal.open(sealed, SID) == "510104198503150017"
    assert seal.open(sealed, "CA" + "b" * 32) is None
    assert identifier_seal("secret-2").open(sealed, SID) is None
    assert seal.seal("510104198503150017", SID) != sealed  # a fresh nonce each time


@pytest.mark.parametrize("sealed", [None, "", "not base64 !!", "AAAA", "QUJDREVGR0hJSktMTU5PUA=="])
def test_damaged_seals_open_to_nothing(sealed) -> None:  # type: ignore[no-untyped-def]
    assert identifier_seal("secret").open(sealed, SID) is None


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
