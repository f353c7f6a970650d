"""Learning inbox: the turns the assistant missed, and their labels.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29

Written out by hand like 0001. One row per missed user turn, harvested from
the Rasa tracker store: the SHA-256 of the conversation (Rasa's sender id)
and the user event's message id (together unique: harvesting twice adds
nothing), the text normalised and masked (no ID, phone, account or card
number), what the classifier predicted, the kind of miss, and the label staff
gave it (an NLU label, or ``ignore``).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNELS = ("voice", "webchat", "rest", "other")
KINDS = ("fallback", "clarify", "rephrase", "handover")


def _utc(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _codes_check(column: str, codes: Sequence[str]) -> sa.CheckConstraint:
    listed = ", ".join(f"'{code}'" for code in codes)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=f"ck_missed_turns_{column}")


def upgrade() -> None:
    op.create_table(
        "missed_turns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_key", sa.String(length=64), nullable=False),
        sa.Column("event_key", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        _utc("occurred_at"),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("context", sa.String(length=500), nullable=True),
        sa.Column("predicted_label", sa.String(length=80), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("label", sa.String(length=80), nullable=True),
        sa.Column("labelled_by", sa.String(length=50), nullable=True),
        _utc("labelled_at", nullable=True),
        _utc("harvested_at"),
        sa.PrimaryKeyConstraint("id", name="pk_missed_turns"),
        sa.UniqueConstraint(
            "conversation_key", "event_key", name="uq_missed_turns_conversation_key_event_key"
        ),
        _codes_check("channel", CHANNELS),
        _codes_check("kind", KINDS),
    )
    op.create_index("ix_missed_turns_kind", "missed_turns", ["kind"])
    op.create_index("ix_missed_turns_occurred_at", "missed_turns", ["occurred_at"])
    op.create_index("ix_missed_turns_label", "missed_turns", ["label"])


def downgrade() -> None:
    op.drop_table("missed_turns")
