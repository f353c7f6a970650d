"""The learning inbox (待学习): turns the assistant missed, and how staff labelled them.

Schema owner for migration ``0004_learning``; conventions are those of
:mod:`bot.records.base`. Rows are harvested from the Rasa tracker store and
labelled on the desk by :mod:`bot.records.learning`, which also explains
what counts as a miss.
"""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Float, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.records.base import Base, Channel, enum_column
from bot.records.coltypes import UTCDateTime

IGNORE_LABEL = "ignore"  # 忽略: nothing to learn from this turn


class MissKind(str, enum.Enum):
    """没听懂 / 反问确认 / 答后改口 / 没听懂后转人工."""

    fallback = "fallback"
    clarify = "clarify"
    rephrase = "rephrase"
    handover = "handover"


class MissedTurn(Base):
    """One user turn the assistant did not understand or got corrected on.

    ``conversation_key`` is the SHA-256 of Rasa's sender id, ``event_key`` the
    user event's ``message_id``: together unique, so harvesting twice adds
    nothing. ``text`` (and ``context``, what the person said next) are
    normalised and masked: no ID, phone, account or card number is stored.
    ``label`` is an NLU label of ``data/nlu`` (an intent, ``faq/<key>``,
    ``out_of_scope/<topic>``) or :data:`IGNORE_LABEL`; None until labelled.
    """

    __tablename__ = "missed_turns"
    __table_args__ = (UniqueConstraint("conversation_key", "event_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_key: Mapped[str] = mapped_column(String(64))
    event_key: Mapped[str] = mapped_column(String(64))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "channel"))
    kind: Mapped[MissKind] = mapped_column(enum_column(MissKind, "kind"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    text: Mapped[str] = mapped_column(String(500))
    context: Mapped[str | None] = mapped_column(String(500))
    predicted_label: Mapped[str | None] = mapped_column(String(80))
    confidence: Mapped[float | None] = mapped_column(Float)
    label: Mapped[str | None] = mapped_column(String(80), index=True)
    labelled_by: Mapped[str | None] = mapped_column(String(50))
    labelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    harvested_at: Mapped[datetime] = mapped_column(UTCDateTime)
