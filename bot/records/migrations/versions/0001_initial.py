"""Initial records schema.

Revision ID: 0001
Revises:
Create Date: 2026-11-27

Written out by hand (not generated at run time): every later schema change is
a new revision beside this one. Enumerations are VARCHAR(16) with a named
CHECK constraint listing the codes as of this revision; times are
``timestamp with time zone`` (UTC); money is NUMERIC(14, 2).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNELS = ("voice", "webchat", "rest", "other")


def _id() -> sa.Column[Any]:
    return sa.Column("id", sa.Integer(), nullable=False)


def _code(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.String(length=16), nullable=nullable)


def _codes_check(table: str, column: str, codes: Sequence[str]) -> sa.CheckConstraint:
    listed = ", ".join(f"'{code}'" for code in codes)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=f"ck_{table}_{column}")


def _money(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.Numeric(precision=14, scale=2), nullable=nullable)


def _rate(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.Numeric(precision=7, scale=5), nullable=False)


def _utc(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _account_fk(table: str, column: str = "account_id") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["fund_accounts.id"], name=f"fk_{table}_{column}_fund_accounts"
    )


def upgrade() -> None:
    op.create_table(
        "depositors",
        _id(),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("id_number", sa.String(length=18), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=True),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_depositors"),
        sa.UniqueConstraint("id_number", name="uq_depositors_id_number"),
    )
    op.create_table(
        "employers",
        _id(),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("unit_account_number", sa.String(length=16), nullable=False),
        sa.Column("district", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_employers"),
        sa.UniqueConstraint("unit_account_number", name="uq_employers_unit_account_number"),
    )
    op.create_table(
        "fund_accounts",
        _id(),
        sa.Column("account_number", sa.String(length=12), nullable=False),
        sa.Column("card_number", sa.String(length=19), nullable=True),
        sa.Column("depositor_id", sa.Integer(), nullable=False),
        sa.Column("employer_id", sa.Integer(), nullable=True),
        _code("status"),
        _money("balance"),
        _money("monthly_deposit"),
        _money("base"),
        _rate("employee_rate"),
        _rate("employer_rate"),
        sa.Column("paid_up_month", sa.Date(), nullable=True),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("query_password_hash", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_fund_accounts"),
        sa.UniqueConstraint("account_number", name="uq_fund_accounts_account_number"),
        sa.UniqueConstraint("card_number", name="uq_fund_accounts_card_number"),
        sa.ForeignKeyConstraint(
            ["depositor_id"], ["depositors.id"], name="fk_fund_accounts_depositor_id_depositors"
        ),
        sa.ForeignKeyConstraint(
            ["employer_id"], ["employers.id"], name="fk_fund_accounts_employer_id_employers"
        ),
        _codes_check("fund_accounts", "status", ("normal", "sealed", "closed")),
        sa.CheckConstraint("balance >= 0", name="ck_fund_accounts_balance_not_negative"),
        sa.CheckConstraint(
            "employee_rate >= 0 AND employee_rate <= 0.12 "
            "AND employer_rate >= 0 AND employer_rate <= 0.12",
            name="ck_fund_accounts_rates_in_range",
        ),
    )
    op.create_index("ix_fund_accounts_depositor_id", "fund_accounts", ["depositor_id"])
    op.create_index("ix_fund_accounts_employer_id", "fund_accounts", ["employer_id"])

    op.create_table(
        "contribution_records",
        _id(),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        _money("employee_part"),
        _money("employer_part"),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_contribution_records"),
        sa.UniqueConstraint(
            "account_id", "month", name="uq_contribution_records_account_id_month"
        ),
        _account_fk("contribution_records"),
    )
    op.create_index(
        "ix_contribution_records_account_id", "contribution_records", ["account_id"]
    )

    op.create_table(
        "loans",
        _id(),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("loan_number", sa.String(length=20), nullable=False),
        _money("principal"),
        _money("remaining_principal"),
        _rate("annual_rate"),
        sa.Column("term_months", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        _money("monthly_payment"),
        _code("status"),
        _money("overdue_amount"),
        sa.Column("overdue_periods", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_loans"),
        sa.UniqueConstraint("loan_number", name="uq_loans_loan_number"),
        _account_fk("loans"),
        _codes_check("loans", "status", ("active", "settled", "overdue")),
    )
    op.create_index("ix_loans_account_id", "loans", ["account_id"])

    op.create_table(
        "loan_installments",
        _id(),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        _money("principal"),
        _money("interest"),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_loan_installments"),
        sa.UniqueConstraint("loan_id", "due_date", name="uq_loan_installments_loan_id_due_date"),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name="fk_loan_installments_loan_id_loans"
        ),
    )
    op.create_index("ix_loan_installments_loan_id", "loan_installments", ["loan_id"])

    op.create_table(
        "withdrawal_applications",
        _id(),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("application_number", sa.String(length=20), nullable=False),
        _code("kind"),
        _money("amount"),
        _code("status"),
        _utc("applied_at"),
        _utc("paid_at", nullable=True),
        sa.Column("reject_reason", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_withdrawal_applications"),
        sa.UniqueConstraint(
            "application_number", name="uq_withdrawal_applications_application_number"
        ),
        _account_fk("withdrawal_applications"),
        _codes_check(
            "withdrawal_applications",
            "kind",
            ("purchase", "rent", "repay_loan", "retirement", "illness", "other"),
        ),
        _codes_check(
            "withdrawal_applications",
            "status",
            ("submitted", "reviewing", "approved", "paid", "rejected"),
        ),
    )
    op.create_index(
        "ix_withdrawal_applications_account_id", "withdrawal_applications", ["account_id"]
    )

    op.create_table(
        "entrust_agreements",
        _id(),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        _code("kind"),
        sa.Column("next_transfer_date", sa.Date(), nullable=True),
        _code("status"),
        sa.PrimaryKeyConstraint("id", name="pk_entrust_agreements"),
        _account_fk("entrust_agreements"),
        _codes_check("entrust_agreements", "kind", ("commercial", "provident")),
        _codes_check("entrust_agreements", "status", ("active", "ended")),
    )
    op.create_index("ix_entrust_agreements_account_id", "entrust_agreements", ["account_id"])

    op.create_table(
        "complaints",
        _id(),
        sa.Column("ticket_id", sa.String(length=12), nullable=False),
        _code("category"),
        _code("channel"),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=True),
        sa.Column("staff_number", sa.String(length=20), nullable=True),
        sa.Column("contact_phone", sa.String(length=16), nullable=True),
        _code("status"),
        sa.Column("owner", sa.String(length=50), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("transcript", sa.JSON(), nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=True),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        _utc("created_at"),
        _utc("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_complaints"),
        sa.UniqueConstraint("ticket_id", name="uq_complaints_ticket_id"),
        sa.UniqueConstraint("idempotency_key", name="uq_complaints_idempotency_key"),
        _codes_check(
            "complaints",
            "category",
            ("attitude", "efficiency", "error", "misconduct", "policy", "channel", "other"),
        ),
        _codes_check("complaints", "channel", CHANNELS),
        _codes_check("complaints", "status", ("accepted", "in_progress", "closed")),
    )
    op.create_index("ix_complaints_status", "complaints", ["status"])
    op.create_index("ix_complaints_due_date", "complaints", ["due_date"])
    op.create_index("ix_complaints_conversation_id", "complaints", ["conversation_id"])

    op.create_table(
        "complaint_events",
        _id(),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        _utc("at"),
        sa.Column("actor", sa.String(length=50), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_complaint_events"),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name="fk_complaint_events_complaint_id_complaints"
        ),
    )
    op.create_index("ix_complaint_events_complaint_id", "complaint_events", ["complaint_id"])

    op.create_table(
        "ratings",
        _id(),
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        _code("channel"),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.String(length=500), nullable=True),
        _utc("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_ratings"),
        _codes_check("ratings", "channel", CHANNELS),
        sa.CheckConstraint("score >= 1 AND score <= 5", name="ck_ratings_score_range"),
    )
    op.create_index("ix_ratings_conversation_id", "ratings", ["conversation_id"])

    op.create_table(
        "handovers",
        _id(),
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        _code("channel"),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("intent_path", sa.String(length=500), nullable=True),
        sa.Column("masked_account", sa.String(length=24), nullable=True),
        sa.Column("context", sa.JSON(), nullable=False),
        _code("status"),
        _utc("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_handovers"),
        _codes_check("handovers", "channel", CHANNELS),
        _codes_check("handovers", "status", ("open", "taken", "done")),
    )
    op.create_index("ix_handovers_conversation_id", "handovers", ["conversation_id"])
    op.create_index("ix_handovers_status", "handovers", ["status"])

    op.create_table(
        "callback_requests",
        _id(),
        sa.Column("conversation_id", sa.String(length=64), nullable=True),
        _code("channel"),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        _code("status"),
        _utc("created_at"),
        _utc("done_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_callback_requests"),
        _codes_check("callback_requests", "channel", CHANNELS),
        _codes_check("callback_requests", "status", ("open", "done")),
    )
    op.create_index(
        "ix_callback_requests_conversation_id", "callback_requests", ["conversation_id"]
    )
    op.create_index("ix_callback_requests_status", "callback_requests", ["status"])

    op.create_table(
        "onsite_requests",
        _id(),
        sa.Column("employer_name", sa.String(length=100), nullable=False),
        sa.Column("contact_name", sa.String(length=50), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("headcount", sa.Integer(), nullable=False),
        sa.Column("preferred_time", sa.String(length=100), nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=True),
        _code("status"),
        sa.Column("conversation_id", sa.String(length=64), nullable=True),
        _code("channel", nullable=True),
        _utc("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_onsite_requests"),
        _codes_check("onsite_requests", "status", ("open", "scheduled", "done", "cancelled")),
        _codes_check("onsite_requests", "channel", CHANNELS),
        sa.CheckConstraint("headcount >= 1", name="ck_onsite_requests_headcount_positive"),
    )
    op.create_index("ix_onsite_requests_status", "onsite_requests", ["status"])

    op.create_table(
        "auth_sessions",
        _id(),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        _code("channel"),
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        _utc("created_at"),
        _utc("expires_at"),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_auth_sessions"),
        sa.UniqueConstraint("token_hash", name="uq_auth_sessions_token_hash"),
        _account_fk("auth_sessions"),
        _codes_check("auth_sessions", "channel", CHANNELS),
    )
    op.create_index("ix_auth_sessions_account_id", "auth_sessions", ["account_id"])

    op.create_table(
        "auth_failures",
        _id(),
        sa.Column("identifier_hash", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        _code("channel"),
        _utc("at"),
        sa.Column("reason", sa.String(length=30), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_auth_failures"),
        _account_fk("auth_failures"),
        _codes_check("auth_failures", "channel", CHANNELS),
    )
    op.create_index(
        "ix_auth_failures_identifier_hash_at", "auth_failures", ["identifier_hash", "at"]
    )
    op.create_index("ix_auth_failures_account_id_at", "auth_failures", ["account_id", "at"])


def downgrade() -> None:
    for table in (
        "auth_failures",
        "auth_sessions",
        "onsite_requests",
        "callback_requests",
        "handovers",
        "ratings",
        "complaint_events",
        "complaints",
        "entrust_agreements",
        "withdrawal_applications",
        "loan_installments",
        "loans",
        "contribution_records",
        "fund_accounts",
        "employers",
        "depositors",
    ):
        # Dropping a table drops its indexes and constraints with it.
        op.drop_table(table)
