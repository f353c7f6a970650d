"""What one Twilio webhook tells the gateway: :class:`Params`.

Read by both halves of a turn: :mod:`.call` (which call, which turn, how it
ended) and :mod:`.dialogue` (what the caller pressed or said, how a transfer
ended). Every field is cut to a sane length here and anything malformed
becomes None, so nothing further down has to distrust the form.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Params:
    """What a Twilio webhook tells us (form fields and the turn number)."""

    call_sid: str
    turn: int | None = None
    from_number: str | None = None
    to_number: str | None = None
    digits: str | None = None
    speech: str | None = None
    dial_status: str | None = None
    call_status: str | None = None
    duration: int | None = None

    @classmethod
    def from_request(cls, form: Any, args: Any) -> "Params":
        """From Flask's ``request.form`` and ``request.args`` (the turn is ``?t=N``)."""

        def text(name: str, limit: int = 64) -> str | None:
            value = form.get(name)
            return value[:limit] if isinstance(value, str) else None

        turn_raw, duration_raw = args.get("t", ""), form.get("CallDuration", "")
        return cls(
            call_sid=(form.get("CallSid") or "")[:64],
            turn=int(turn_raw) if turn_raw.isdigit() and len(turn_raw) < 7 else None,
            from_number=text("From"),
            to_number=text("To"),
            digits=text("Digits"),
            speech=form.get("SpeechResult") if isinstance(form.get("SpeechResult"), str) else None,
            dial_status=text("DialCallStatus", 20),
            call_status=text("CallStatus", 20),
            duration=int(duration_raw) if duration_raw.isdigit() and len(duration_raw) < 7 else None,
        )
