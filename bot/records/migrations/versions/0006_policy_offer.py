"""Voice call state: the policy answer being offered by SMS.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29

After a policy answer the phone offers its full text by SMS and reads its
materials in chunks; the topic, version, materials and where the reading
stands belong to the call's state, in a column of their own (nullable: no
offer).
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("voice_call_states", sa.Column("policy_offer", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("voice_call_states") as batch:
        batch.drop_column("policy_offer")
