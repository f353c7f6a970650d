"""Desk: supervisors' second factor (TOTP).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

Three nullable columns on ``staff_users``: the TOTP key sealed with a key
derived from ``SECRET_KEY`` (AES-GCM; never kept in clear), when it was
confirmed, and the 30-second step of the last code accepted, so that a code
is good only once. No value: not enrolled (the supervisor enrols at the next
log-in).
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("staff_users", sa.Column("totp_secret", sa.String(255), nullable=True))
    op.add_column("staff_users",
                  sa.Column("totp_enrolled_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("staff_users", sa.Column("totp_last_step", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("staff_users") as batch:
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_enrolled_at")
        batch.drop_column("totp_secret")
