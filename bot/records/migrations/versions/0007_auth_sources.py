"""Verification sources: per-source throttle, the source of each failure, unlocks.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

``auth_source_events`` holds each verification outcome per source (web
address or IPv6 /64, chat session or call, calling number) as a keyed hash
only, for the soft per-source throttle (bot/records/throttle.py).
``auth_failures`` gains the kind and keyed hash of the attempt's source (the
desk shows who is locked and why) and ``cleared``, set when a supervisor
unlocks the account.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "auth_source_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_hash", sa.String(length=64), nullable=False),
        sa.Column("source_kind", sa.String(length=16), nullable=False),
        sa.Column("target_key", sa.String(length=64), nullable=False),
        sa.Column("failed", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_auth_source_events"),
    )
    op.create_index("ix_auth_source_events_source_hash_at", "auth_source_events",
                    ["source_hash", "at"])
    op.create_index("ix_auth_source_events_at", "auth_source_events", ["at"])
    with op.batch_alter_table("auth_failures") as batch:
        batch.add_column(sa.Column("source_kind", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("source_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("cleared", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("auth_failures") as batch:
        batch.drop_column("cleared")
        batch.drop_column("source_hash")
        batch.drop_column("source_kind")
    op.drop_index("ix_auth_source_events_at", table_name="auth_source_events")
    op.drop_index("ix_auth_source_events_source_hash_at", table_name="auth_source_events")
    op.drop_table("auth_source_events")
