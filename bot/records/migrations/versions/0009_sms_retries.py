"""SMS outbox: retries with back-off, one sender per row, Twilio's delivery status.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

``sms_outbox`` gains the number of attempts (0 for the rows already there),
when the next attempt may start, the claim of the one sender working on a row
(``claimed_until``), when the last attempt was made, and the delivery status
Twilio reports through the status callback (status, error code, when). Two
codes join the status CHECK: ``sending`` (claimed) and ``unknown`` (the request
may have reached Twilio; never re-sent without a person deciding). The sender
polls on (status, next_attempt_at); the desk counts by created_at.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = ("pending", "sent", "failed")
NEW_STATUSES = ("pending", "sending", "sent", "failed", "unknown")
# Revision 0003 named its CHECK "ck_sms_outbox_status" under the naming
# convention, which made it "ck_sms_outbox_ck_sms_outbox_status" in the
# database; the new one gets the name the model gives it.
OLD_CHECK = "ck_sms_outbox_ck_sms_outbox_status"
CHECK = "ck_sms_outbox_status"


def _codes(codes: Sequence[str]) -> str:
    return "status IN ({})".format(", ".join(f"'{code}'" for code in codes))


def _utc(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def upgrade() -> None:
    with op.batch_alter_table("sms_outbox") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False,
                                   server_default=sa.text("0")))
        batch.add_column(_utc("next_attempt_at"))
        batch.add_column(_utc("claimed_until"))
        batch.add_column(_utc("last_attempt_at"))
        batch.add_column(sa.Column("delivery_status", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("delivery_error", sa.String(length=16), nullable=True))
        batch.add_column(_utc("delivery_at"))
        batch.drop_constraint(op.f(OLD_CHECK), type_="check")
        batch.create_check_constraint(op.f(CHECK), _codes(NEW_STATUSES))
    op.create_index("ix_sms_outbox_status_next_attempt_at", "sms_outbox",
                    ["status", "next_attempt_at"])
    op.create_index("ix_sms_outbox_created_at", "sms_outbox", ["created_at"])


def downgrade() -> None:
    # The two new codes have no older meaning: a claimed row waits again, an
    # unknown one is kept as failed (its error says why).
    op.execute("UPDATE sms_outbox SET status = 'pending' WHERE status = 'sending'")
    op.execute("UPDATE sms_outbox SET status = 'failed' WHERE status = 'unknown'")
    op.drop_index("ix_sms_outbox_created_at", table_name="sms_outbox")
    op.drop_index("ix_sms_outbox_status_next_attempt_at", table_name="sms_outbox")
    with op.batch_alter_table("sms_outbox") as batch:
        batch.drop_constraint(op.f(CHECK), type_="check")
        batch.create_check_constraint(op.f(OLD_CHECK), _codes(OLD_STATUSES))
        batch.drop_column("delivery_at")
        batch.drop_column("delivery_error")
        batch.drop_column("delivery_status")
        batch.drop_column("last_attempt_at")
        batch.drop_column("claimed_until")
        batch.drop_column("next_attempt_at")
        batch.drop_column("attempts")
