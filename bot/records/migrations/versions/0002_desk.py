"""Complaint desk: staff accounts, their sessions, login failures and audit log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

Written out by hand like 0001. Staff passwords are argon2id PHC strings; a
session is stored only as the SHA-256 of its random token; a failed login is
kept with a keyed hash of the user name as typed (never the raw text, which is
sometimes a password typed into the wrong field). ``desk_audit_events`` records
every staff action that is not a complaint change (complaint changes go to
``complaint_events``): log-ins, hand-overs taken, callbacks done, exports,
account administration.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.Column[Any]:
    return sa.Column("id", sa.Integer(), nullable=False)


def _utc(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _staff_fk(table: str, column: str = "staff_id") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["staff_users.id"], name=f"fk_{table}_{column}_staff_users"
    )


def upgrade() -> None:
    op.create_table(
        "staff_users",
        _id(),
        sa.Column("username", sa.String(length=50), nullable=False),
        sa.Column("display_name", sa.String(length=50), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        _utc("locked_until", nullable=True),
        _utc("last_login_at", nullable=True),
        _utc("password_changed_at"),
        _utc("created_at"),
        _utc("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_staff_users"),
        sa.UniqueConstraint("username", name="uq_staff_users_username"),
        sa.CheckConstraint("role IN ('agent', 'supervisor')", name="ck_staff_users_role"),
        sa.CheckConstraint(
            "failed_logins >= 0", name="ck_staff_users_failed_logins_not_negative"
        ),
    )

    op.create_table(
        "staff_sessions",
        _id(),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        _utc("created_at"),
        _utc("last_seen_at"),
        _utc("expires_at"),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("remote_addr", sa.String(length=45), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_staff_sessions"),
        sa.UniqueConstraint("token_hash", name="uq_staff_sessions_token_hash"),
        _staff_fk("staff_sessions"),
    )
    op.create_index("ix_staff_sessions_staff_id", "staff_sessions", ["staff_id"])

    op.create_table(
        "staff_login_failures",
        _id(),
        sa.Column("username_hash", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("remote_addr", sa.String(length=45), nullable=True),
        _utc("at"),
        sa.Column("reason", sa.String(length=30), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_staff_login_failures"),
        _staff_fk("staff_login_failures"),
    )
    op.create_index(
        "ix_staff_login_failures_username_hash_at",
        "staff_login_failures",
        ["username_hash", "at"],
    )
    op.create_index(
        "ix_staff_login_failures_remote_addr_at", "staff_login_failures", ["remote_addr", "at"]
    )

    op.create_table(
        "desk_audit_events",
        _id(),
        _utc("at"),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=50), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("target_type", sa.String(length=20), nullable=True),
        sa.Column("target_id", sa.String(length=40), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_desk_audit_events"),
        _staff_fk("desk_audit_events"),
    )
    op.create_index("ix_desk_audit_events_at", "desk_audit_events", ["at"])
    op.create_index(
        "ix_desk_audit_events_target_type_target_id",
        "desk_audit_events",
        ["target_type", "target_id"],
    )


def downgrade() -> None:
    for table in (
        "desk_audit_events",
        "staff_login_failures",
        "staff_sessions",
        "staff_users",
    ):
        op.drop_table(table)
