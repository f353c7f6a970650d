"""What a webhook tells the gateway (bot/gateway/voice/webhook.py): odd form fields
become None or are cut short, never an exception."""
from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from bot.gateway.voice.webhook import Params

SID = "CA" + "4" * 32


def params(form: dict[str, str] | None = None, turn: str | None = None) -> Params:
    args = MultiDict({"t": turn} if turn is not None else {})
    return Params.from_request(MultiDict({"CallSid": SID, **(form or {})}), args)


def test_a_full_webhook() -> None:
    got = params({"From": "+8613800000009", "To": "+862896319", "Digits": "1#",
                  "SpeechResult": "查余额", "DialCallStatus": "no-answer",
                  "CallStatus": "completed", "CallDuration": "42"}, turn="3")
    assert got == Params(call_sid=SID, turn=3, from_number="+8613800000009", to_number="+862896319",
                         digits="1#", speech="查余额", dial_status="no-answer",
                         call_status="completed", duration=42)


@pytest.mark.parametrize(("turn", "expected"), [("7", 7), ("0", 0), ("", None), ("abc", None),
                                                ("-1", None), ("1e3", None), ("1234567", None)])
def test_the_turn_number(turn: str, expected: int | None) -> None:
    assert params(turn=turn).turn == expected


def test_no_turn_at_all() -> None:
    assert params().turn is None


@pytest.mark.parametrize(("duration", "expected"), [("95", 95), ("", None), ("-3", None),
                                                    ("9999999", None), ("十", None)])
def test_the_call_duration(duration: str, expected: int | None) -> None:
    assert params({"CallDuration": duration}).duration == expected


def test_long_fields_are_cut_but_speech_is_kept_whole() -> None:
    got = params({"CallSid": "CA" + "f" * 100, "Digits": "1" * 100, "CallStatus": "x" * 50,
                  "SpeechResult": "公" * 10_000})
    assert len(got.call_sid) == 64 and len(got.digits or "") == 64
    assert len(got.call_status or "") == 20
    assert got.speech == "公" * 10_000  # too long to answer: the dialogue says so


def test_missing_fields_are_none() -> None:
    got = Params.from_request(MultiDict(), MultiDict())
    assert got == Params(call_sid="")
