"""What people ask of the service: complaints, ratings, hand-overs, callbacks, on-site visits.

Schema owner (with :mod:`bot.records.account_models`) of migration
``0001_initial``. Complaint changes are recorded in :class:`ComplaintEvent`;
what staff do to the other rows is in
:class:`bot.records.staff_models.DeskAuditEvent`. The database changes only
through the Alembic migrations; conventions are those of
:mod:`bot.records.base`.
"""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.records.base import Base, Channel, enum_column
from bot.records.coltypes import UTCDateTime

# --------------------------------------------------------------------------- enums


class ComplaintCategory(str, enum.Enum):
    """服务态度 / 办事效率 / 业务差错 / 违规违纪 / 政策执行 / 渠道系统 / 其他."""

    attitude = "attitude"
    efficiency = "efficiency"
    error = "error"
    misconduct = "misconduct"
    policy = "policy"
    channel = "channel"
    other = "other"


class ComplaintStatus(str, enum.Enum):
    """已受理 / 处理中 / 已办结."""

    accepted = "accepted"
    in_progress = "in_progress"
    closed = "closed"


class HandoverStatus(str, enum.Enum):
    open = "open"
    taken = "taken"
    done = "done"


class CallbackStatus(str, enum.Enum):
    open = "open"
    done = "done"


class OnsiteStatus(str, enum.Enum):
    open = "open"
    scheduled = "scheduled"
    done = "done"
    cancelled = "cancelled"


# -------------------------------------------------------------------- complaints


class Complaint(Base):
    """A complaint ticket (投诉工单), owned by the first contact (首问负责制).

    ``transcript`` is a JSON list of ``{"role", "text", "at"}`` with ``at`` an
    ISO 8601 UTC timestamp; it never holds a password or token (the secure
    steps never pass through the conversation).
    """

    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(12), unique=True)
    category: Mapped[ComplaintCategory] = mapped_column(
        enum_column(ComplaintCategory, "category")
    )
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "channel"))
    description: Mapped[str] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(200))
    staff_number: Mapped[str | None] = mapped_column(String(20))
    contact_phone: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[ComplaintStatus] = mapped_column(
        enum_column(ComplaintStatus, "status"), index=True
    )
    owner: Mapped[str | None] = mapped_column(String(50))
    due_date: Mapped[date] = mapped_column(Date, index=True)
    reply: Mapped[str | None] = mapped_column(Text)
    transcript: Mapped[list[Any]] = mapped_column(JSON, default=list)
    conversation_id: Mapped[str | None] = mapped_column(String(64), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    events: Mapped[list[ComplaintEvent]] = relationship(
        back_populates="complaint", order_by="ComplaintEvent.at"
    )


class ComplaintEvent(Base):
    """Audit trail of a complaint: who did what, when."""

    __tablename__ = "complaint_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(50))
    action: Mapped[str] = mapped_column(String(30))
    detail: Mapped[str | None] = mapped_column(Text)

    complaint: Mapped[Complaint] = relationship(back_populates="events")


# ------------------------------------------------ ratings, hand-overs, requests


class Rating(Base):
    """A 1–5 service rating (服务质量评价) given at the end of a conversation."""

    __tablename__ = "ratings"
    __table_args__ = (CheckConstraint("score >= 1 AND score <= 5", name="score_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "channel"))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Handover(Base):
    """A conversation handed to a person, with what the assistant knew."""

    __tablename__ = "handovers"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "channel"))
    reason: Mapped[str] = mapped_column(String(40))
    intent_path: Mapped[str | None] = mapped_column(String(500))
    masked_account: Mapped[str | None] = mapped_column(String(24))
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[HandoverStatus] = mapped_column(
        enum_column(HandoverStatus, "status"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CallbackRequest(Base):
    """A request to be called back (e.g. outside agent hours)."""

    __tablename__ = "callback_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str | None] = mapped_column(String(64), index=True)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "channel"))
    phone: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[CallbackStatus] = mapped_column(
        enum_column(CallbackStatus, "status"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OnsiteRequest(Base):
    """An employer's request for on-site service (上门服务)."""

    __tablename__ = "onsite_requests"
    __table_args__ = (CheckConstraint("headcount >= 1", name="headcount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    employer_name: Mapped[str] = mapped_column(String(100))
    contact_name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str] = mapped_column(String(16))
    headcount: Mapped[int] = mapped_column(Integer)
    preferred_time: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(String(1000))
    status: Mapped[OnsiteStatus] = mapped_column(enum_column(OnsiteStatus, "status"), index=True)
    conversation_id: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[Channel | None] = mapped_column(enum_column(Channel, "channel"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
