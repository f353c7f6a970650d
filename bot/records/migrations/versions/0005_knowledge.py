"""Policy knowledge base: topics, answer versions, examples, asks, model releases.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29

Written out by hand like 0001 (the models are in knowledge_models.py).
Policy answers move out of the Rasa domain into these tables: every topic has
versions with a full, a spoken and an SMS text, sources and effective dates;
the assistant serves the approved version in force on the day.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNELS = ("voice", "webchat", "rest", "other")


def _utc(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _codes(table: str, column: str, codes: Sequence[str]) -> sa.CheckConstraint:
    listed = ", ".join(f"'{code}'" for code in codes)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=f"ck_{table}_{column}")


def upgrade() -> None:
    op.create_table(
        "policy_topics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=40), nullable=False),
        sa.Column("ask", sa.String(length=100), nullable=False),
        sa.Column("scope", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _utc("created_at"),
        sa.Column("created_by", sa.String(length=50), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_policy_topics"),
        sa.UniqueConstraint("key", name="uq_policy_topics_key"),
        _codes("policy_topics", "status", ("live", "awaiting", "retired")),
    )
    op.create_index("ix_policy_topics_category", "policy_topics", ["category"])
    op.create_table(
        "policy_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("full_text", sa.Text(), nullable=False),
        sa.Column("materials", sa.JSON(), nullable=False),
        sa.Column("links", sa.JSON(), nullable=False),
        sa.Column("spoken_text", sa.String(length=200), nullable=False),
        sa.Column("sms_text", sa.String(length=500), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("unconfirmed", sa.JSON(), nullable=False),
        sa.Column("grade", sa.String(length=16), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=True),
        sa.Column("effective_until", sa.Date(), nullable=True),
        sa.Column("author", sa.String(length=50), nullable=False),
        _utc("created_at"),
        _utc("submitted_at", nullable=True),
        sa.Column("reviewed_by", sa.String(length=50), nullable=True),
        _utc("reviewed_at", nullable=True),
        sa.Column("review_note", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_policy_versions"),
        sa.ForeignKeyConstraint(["topic_id"], ["policy_topics.id"],
                                name="fk_policy_versions_topic_id_policy_topics"),
        sa.UniqueConstraint("topic_id", "number", name="uq_policy_versions_topic_id_number"),
        _codes("policy_versions", "status", ("draft", "submitted", "approved", "rejected")),
    )
    op.create_index("ix_policy_versions_topic_id", "policy_versions", ["topic_id"])
    op.create_index("ix_policy_versions_status", "policy_versions", ["status"])
    op.create_table(
        "policy_examples",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=200), nullable=False),
        sa.Column("added_by", sa.String(length=50), nullable=False),
        _utc("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_policy_examples"),
        sa.ForeignKeyConstraint(["topic_id"], ["policy_topics.id"],
                                name="fk_policy_examples_topic_id_policy_topics"),
        sa.UniqueConstraint("topic_id", "text", name="uq_policy_examples_topic_id_text"),
    )
    op.create_index("ix_policy_examples_topic_id", "policy_examples", ["topic_id"])
    op.create_table(
        "policy_asks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic_key", sa.String(length=60), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("conversation_key", sa.String(length=64), nullable=False),
        _utc("asked_at"),
        sa.Column("handover_after", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_policy_asks"),
        _codes("policy_asks", "channel", CHANNELS),
    )
    op.create_index("ix_policy_asks_topic_key", "policy_asks", ["topic_key"])
    op.create_index("ix_policy_asks_conversation_key", "policy_asks", ["conversation_key"])
    op.create_index("ix_policy_asks_asked_at", "policy_asks", ["asked_at"])
    op.create_table(
        "model_releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.String(length=40), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("started_by", sa.String(length=50), nullable=False),
        _utc("started_at"),
        _utc("finished_at", nullable=True),
        sa.Column("model_path", sa.String(length=500), nullable=True),
        sa.Column("previous_model_path", sa.String(length=500), nullable=True),
        sa.Column("accuracy", sa.Float(), nullable=True),
        sa.Column("baseline_accuracy", sa.Float(), nullable=True),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("message", sa.String(length=1000), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_model_releases"),
        _codes("model_releases", "status",
               ("running", "published", "refused", "failed", "rolled_back")),
    )
    op.create_index("ix_model_releases_status", "model_releases", ["status"])


def downgrade() -> None:
    for table in ("model_releases", "policy_asks", "policy_examples", "policy_versions",
                  "policy_topics"):
        op.drop_table(table)
