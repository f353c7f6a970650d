"""Phone-line tables: call records, per-call state, processed webhook turns, SMS outbox.

Schema owner for migration ``0003_voice``; conventions are those of
:mod:`bot.records.base`.

- :class:`VoiceCall` is the lasting record of a call (for analytics): caller
  number, start, end, duration and outcome (resolved by the assistant,
  transferred, callback requested, abandoned).
- :class:`VoiceCallState` is what the gateway needs between two webhooks of a
  live call (menu, no-input and no-match counters, secure-step stage, the
  identifier typed before the password, sealed with AES-GCM; in
  ``last_speech`` the prompt said last and, after a policy answer, what is
  offered: topic, answer version, materials). It is deleted when the call ends.
- :class:`VoiceTurn` makes webhooks idempotent: one row per turn key, with the
  TwiML answered, so a retried webhook gets the same answer without running
  the turn again. Deleted when the call ends.
- :class:`SmsMessage` is the SMS outbox: every SMS the gateway sends or, when
  no Twilio credentials are configured, would send; its attempts, back-off and
  claim (:mod:`bot.records.sms_outbox`, migration ``0009_sms_retries``) and the
  delivery status Twilio reports for it.
"""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.records.base import Base, enum_column
from bot.records.coltypes import UTCDateTime

CALL_SID_LENGTH = 34  # "CA" + 32 hex digits


class CallOutcome(str, enum.Enum):
    """How a call ended, for the service statistics."""

    resolved = "resolved"          # the assistant answered; goodbye, or the caller hung up content
    transferred = "transferred"    # handed to a person (<Dial>)
    callback = "callback"          # a callback was recorded instead of a person
    abandoned = "abandoned"        # the caller hung up before getting an answer


class TurnStatus(str, enum.Enum):
    processing = "processing"
    done = "done"


class SmsStatus(str, enum.Enum):
    pending = "pending"   # waiting for its first or next attempt (next_attempt_at)
    sending = "sending"   # claimed by one sender until claimed_until
    sent = "sent"         # accepted by Twilio (provider_sid set)
    failed = "failed"     # refused for good, or every attempt used (error set)
    unknown = "unknown"   # the request may have reached Twilio: never re-sent blindly


class VoiceCall(Base):
    """One phone call to the hotline."""

    __tablename__ = "voice_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(CALL_SID_LENGTH), unique=True)
    from_number: Mapped[str | None] = mapped_column(String(32))
    to_number: Mapped[str | None] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    twilio_status: Mapped[str | None] = mapped_column(String(20))
    outcome: Mapped[CallOutcome | None] = mapped_column(
        enum_column(CallOutcome, "outcome"), index=True
    )
    turns: Mapped[int] = mapped_column(Integer, default=0)
    answered: Mapped[bool] = mapped_column(Boolean, default=False)
    transferred: Mapped[bool] = mapped_column(Boolean, default=False)
    callback_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    ended_by_assistant: Mapped[bool] = mapped_column(Boolean, default=False)


class VoiceCallState(Base):
    """The gateway's state of a live call between two webhooks."""

    __tablename__ = "voice_call_states"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(
        ForeignKey("voice_calls.call_sid", ondelete="CASCADE"), unique=True
    )
    turn: Mapped[int] = mapped_column(Integer, default=0)
    mode: Mapped[str] = mapped_column(String(24))
    menu: Mapped[str | None] = mapped_column(String(40))
    buttons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    last_speech: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    no_input: Mapped[int] = mapped_column(Integer, default=0)
    no_match: Mapped[int] = mapped_column(Integer, default=0)
    sealed_identifier: Mapped[str | None] = mapped_column(Text)
    secure_retries: Mapped[int] = mapped_column(Integer, default=0)
    secure_failures: Mapped[int] = mapped_column(Integer, default=0)
    masked_account: Mapped[str | None] = mapped_column(String(24))
    intents: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # The policy answer being offered by SMS (bot.gateway.voice.policy), else None.
    policy_offer: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class VoiceTurn(Base):
    """A webhook turn already handled (or being handled), with its answer."""

    __tablename__ = "voice_turns"
    __table_args__ = (UniqueConstraint("call_sid", "turn_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(
        ForeignKey("voice_calls.call_sid", ondelete="CASCADE"), index=True
    )
    turn_key: Mapped[str] = mapped_column(String(40))
    status: Mapped[TurnStatus] = mapped_column(enum_column(TurnStatus, "status"))
    twiml: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SmsMessage(Base):
    """An SMS to a caller: at most one per purpose and reference (e.g. per ticket)."""

    __tablename__ = "sms_outbox"
    __table_args__ = (UniqueConstraint("purpose", "reference"),
                      Index("ix_sms_outbox_status_next_attempt_at", "status", "next_attempt_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    to_number: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(String(30))
    reference: Mapped[str] = mapped_column(String(40))
    status: Mapped[SmsStatus] = mapped_column(enum_column(SmsStatus, "status"), index=True)
    provider_sid: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(String(200))
    call_sid: Mapped[str | None] = mapped_column(String(CALL_SID_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Sending (issue 10): attempts made, when the next may start, the claim of
    # the one sender working on it, and when the last attempt was made.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Twilio's delivery status (StatusCallback): queued, sent, delivered,
    # undelivered, failed…; its error code; when it was last reported.
    delivery_status: Mapped[str | None] = mapped_column(String(16))
    delivery_error: Mapped[str | None] = mapped_column(String(16))
    delivery_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
