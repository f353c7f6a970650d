"""Complaint-desk tables: staff accounts, their sessions, failed log-ins, audit log.

Schema owner for migration ``0002_desk``; conventions are those of
:mod:`bot.records.base`. Complaint changes themselves are recorded in
:class:`bot.records.service_models.ComplaintEvent`; everything else a staff
member does is a :class:`DeskAuditEvent`.
"""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.records.base import Base, enum_column
from bot.records.coltypes import UTCDateTime


class StaffRole(str, enum.Enum):
    """坐席 (agent) / 督查 (supervisor)."""

    agent = "agent"
    supervisor = "supervisor"


class StaffUser(Base):
    """A person who works the desk.

    ``username`` is what :attr:`bot.records.service_models.Complaint.owner` and the
    complaint audit trail hold. ``password_hash`` is an argon2id PHC string.
    Supervisors' second factor (:mod:`bot.records.second_factor`): ``totp_secret``
    is the TOTP key sealed with a key derived from ``SECRET_KEY`` (never stored
    or shown in clear once enrolled), ``totp_enrolled_at`` when it was confirmed,
    ``totp_last_step`` the 30-second step of the last code accepted (a code is
    good once).
    """

    __tablename__ = "staff_users"
    __table_args__ = (CheckConstraint("failed_logins >= 0", name="failed_logins_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    display_name: Mapped[str] = mapped_column(String(50))
    role: Mapped[StaffRole] = mapped_column(enum_column(StaffRole, "role"))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    totp_enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)

    @property
    def is_supervisor(self) -> bool:
        return self.role is StaffRole.supervisor

    @property
    def needs_second_factor(self) -> bool:
        """Supervisors reveal phones and export data: they log in with a TOTP code too."""
        return self.is_supervisor

    @property
    def has_second_factor(self) -> bool:
        return self.totp_enrolled_at is not None and bool(self.totp_secret)


class StaffSession(Base):
    """A logged-in desk session; only the SHA-256 of the cookie token is kept."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    remote_addr: Mapped[str | None] = mapped_column(String(45))

    staff: Mapped[StaffUser] = relationship()


class StaffLoginFailure(Base):
    """One failed desk log-in; ``username_hash`` is a keyed hash of the name typed."""

    __tablename__ = "staff_login_failures"
    __table_args__ = (
        Index("ix_staff_login_failures_username_hash_at", "username_hash", "at"),
        Index("ix_staff_login_failures_remote_addr_at", "remote_addr", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username_hash: Mapped[str] = mapped_column(String(64))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    remote_addr: Mapped[str | None] = mapped_column(String(45))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(30))


class DeskAuditEvent(Base):
    """Who did what on the desk, when (other than complaint changes)."""

    __tablename__ = "desk_audit_events"
    __table_args__ = (
        Index("ix_desk_audit_events_target_type_target_id", "target_type", "target_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    actor: Mapped[str] = mapped_column(String(50))
    action: Mapped[str] = mapped_column(String(40))
    target_type: Mapped[str | None] = mapped_column(String(20))
    target_id: Mapped[str | None] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(Text)
