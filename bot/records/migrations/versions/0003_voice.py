"""Phone line: call records, per-call state, processed webhook turns, SMS outbox.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

Written out by hand like 0001. ``voice_call_states`` and ``voice_turns`` hold
a live call's working data and are deleted when the call ends;
``voice_calls`` keeps the call's record (duration, outcome) for statistics;
``sms_outbox`` keeps every SMS sent or waiting to be sent, one per purpose and
reference (a complaint ticket gets one SMS even if a webhook is retried).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTCOMES = ("resolved", "transferred", "callback", "abandoned")
TURN_STATUSES = ("processing", "done")
SMS_STATUSES = ("pending", "sent", "failed")


def _id() -> sa.Column[Any]:
    return sa.Column("id", sa.Integer(), nullable=False)


def _utc(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _codes_check(table: str, column: str, codes: Sequence[str]) -> sa.CheckConstraint:
    listed = ", ".join(f"'{code}'" for code in codes)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=f"ck_{table}_{column}")


def _call_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["call_sid"], ["voice_calls.call_sid"],
        name=f"fk_{table}_call_sid_voice_calls", ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "voice_calls",
        _id(),
        sa.Column("call_sid", sa.String(length=34), nullable=False),
        sa.Column("from_number", sa.String(length=32), nullable=True),
        sa.Column("to_number", sa.String(length=32), nullable=True),
        _utc("started_at"),
        _utc("ended_at", nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("twilio_status", sa.String(length=20), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("turns", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("transferred", sa.Boolean(), nullable=False),
        sa.Column("callback_requested", sa.Boolean(), nullable=False),
        sa.Column("ended_by_assistant", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_voice_calls"),
        sa.UniqueConstraint("call_sid", name="uq_voice_calls_call_sid"),
        _codes_check("voice_calls", "outcome", OUTCOMES),
    )
    op.create_index("ix_voice_calls_started_at", "voice_calls", ["started_at"])
    op.create_index("ix_voice_calls_outcome", "voice_calls", ["outcome"])

    op.create_table(
        "voice_call_states",
        _id(),
        sa.Column("call_sid", sa.String(length=34), nullable=False),
        sa.Column("turn", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=24), nullable=False),
        sa.Column("menu", sa.String(length=40), nullable=True),
        sa.Column("buttons", sa.JSON(), nullable=False),
        sa.Column("last_speech", sa.JSON(), nullable=False),
        sa.Column("no_input", sa.Integer(), nullable=False),
        sa.Column("no_match", sa.Integer(), nullable=False),
        sa.Column("sealed_identifier", sa.Text(), nullable=True),
        sa.Column("secure_retries", sa.Integer(), nullable=False),
        sa.Column("secure_failures", sa.Integer(), nullable=False),
        sa.Column("masked_account", sa.String(length=24), nullable=True),
        sa.Column("intents", sa.JSON(), nullable=False),
        _utc("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_voice_call_states"),
        sa.UniqueConstraint("call_sid", name="uq_voice_call_states_call_sid"),
        _call_fk("voice_call_states"),
    )
    op.create_index("ix_voice_call_states_updated_at", "voice_call_states", ["updated_at"])

    op.create_table(
        "voice_turns",
        _id(),
        sa.Column("call_sid", sa.String(length=34), nullable=False),
        sa.Column("turn_key", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("twiml", sa.Text(), nullable=True),
        _utc("created_at"),
        _utc("finished_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_voice_turns"),
        sa.UniqueConstraint("call_sid", "turn_key", name="uq_voice_turns_call_sid_turn_key"),
        _call_fk("voice_turns"),
        _codes_check("voice_turns", "status", TURN_STATUSES),
    )
    op.create_index("ix_voice_turns_call_sid", "voice_turns", ["call_sid"])

    op.create_table(
        "sms_outbox",
        _id(),
        sa.Column("to_number", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("purpose", sa.String(length=30), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("provider_sid", sa.String(length=64), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("call_sid", sa.String(length=34), nullable=True),
        _utc("created_at"),
        _utc("sent_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sms_outbox"),
        sa.UniqueConstraint("purpose", "reference", name="uq_sms_outbox_purpose_reference"),
        _codes_check("sms_outbox", "status", SMS_STATUSES),
    )
    op.create_index("ix_sms_outbox_status", "sms_outbox", ["status"])


def downgrade() -> None:
    for table in ("sms_outbox", "voice_turns", "voice_call_states", "voice_calls"):
        op.drop_table(table)
