"""The records schema: depositors, fund accounts, loans, withdrawals, complaints…

This module is the one owner of the schema. The database is only ever changed
through the Alembic migrations in ``migrations/``; a test checks that the
migrations and these models agree. Importing this module creates no engine.

Conventions: money is ``Money`` (``Numeric(14, 2)`` as ``Decimal``), times are
``UTCDateTime`` (aware, UTC), enumerations are stored as their English codes in
a ``VARCHAR`` with a CHECK constraint (no native PostgreSQL enum types, so a new
code is a plain migration).
"""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from bot.records.coltypes import Money, Rate, UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base carrying the naming convention for every constraint."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# --------------------------------------------------------------------------- enums


class AccountStatus(str, enum.Enum):
    """正常 / 封存 / 销户."""

    normal = "normal"
    sealed = "sealed"
    closed = "closed"


class LoanStatus(str, enum.Enum):
    active = "active"
    settled = "settled"
    overdue = "overdue"


class WithdrawalKind(str, enum.Enum):
    purchase = "purchase"
    rent = "rent"
    repay_loan = "repay_loan"
    retirement = "retirement"
    illness = "illness"
    other = "other"


class WithdrawalStatus(str, enum.Enum):
    submitted = "submitted"
    reviewing = "reviewing"
    approved = "approved"
    paid = "paid"
    rejected = "rejected"


class MortgageKind(str, enum.Enum):
    """Which mortgage an entrusted-withdrawal agreement pays towards."""

    commercial = "commercial"
    provident = "provident"


class AgreementStatus(str, enum.Enum):
    active = "active"
    ended = "ended"


class ComplaintCategory(str, enum.Enum):
    """服务态度 / 办事效率 / 业务差错 / 违规违纪 / 政策执行 / 渠道系统 / 其他."""

    attitude = "attitude"
    efficiency = "efficiency"
    error = "error"
    misconduct = "misconduct"
    policy = "policy"
    channel = "channel"
    other = "other"


class Channel(str, enum.Enum):
    """Where a conversation came from."""

    voice = "voice"
    webchat = "webchat"
    rest = "rest"
    other = "other"


class ComplaintStatus(str, enum.Enum):
    """已受理 / 处理中 / 已办结."""

    accepted = "accepted"
    in_progress = "in_progress"
    closed = "closed"


class HandoverStatus(str, enum.Enum):
    open = "open"
    taken = "taken"
    done = "done"


class CallbackStatus(str, enum.Enum):
    open = "open"
    done = "done"


class OnsiteStatus(str, enum.Enum):
    open = "open"
    scheduled = "scheduled"
    done = "done"
    cancelled = "cancelled"


def _enum(enum_class: type[enum.Enum], column: str) -> Enum:
    """A non-native enum storing the member values (the English codes).

    ``column`` names the CHECK constraint: ``ck_<table>_<column>``.
    """
    return Enum(
        enum_class,
        name=column,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


def _first_of_month(value: date | None, field: str) -> date | None:
    if value is not None and value.day != 1:
        raise ValueError(f"{field} must be the first day of a month, got {value.isoformat()}")
    return value


# -------------------------------------------------------------------- depositors


class Depositor(Base):
    """A person who contributes to the fund (缴存职工)."""

    __tablename__ = "depositors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    phone: Mapped[str | None] = mapped_column(String(16))
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)

    accounts: Mapped[list[FundAccount]] = relationship(back_populates="depositor")


class Employer(Base):
    """A contributing employer (缴存单位)."""

    __tablename__ = "employers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    unit_account_number: Mapped[str] = mapped_column(String(16), unique=True)
    district: Mapped[str] = mapped_column(String(20))

    accounts: Mapped[list[FundAccount]] = relationship(back_populates="employer")


class FundAccount(Base):
    """A personal provident-fund account (个人公积金账户)."""

    __tablename__ = "fund_accounts"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="balance_not_negative"),
        CheckConstraint(
            "employee_rate >= 0 AND employee_rate <= 0.12 "
            "AND employer_rate >= 0 AND employer_rate <= 0.12",
            name="rates_in_range",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_number: Mapped[str] = mapped_column(String(12), unique=True)
    card_number: Mapped[str | None] = mapped_column(String(19), unique=True)
    depositor_id: Mapped[int] = mapped_column(ForeignKey("depositors.id"), index=True)
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employers.id"), index=True)
    status: Mapped[AccountStatus] = mapped_column(_enum(AccountStatus, "status"))
    balance: Mapped[Decimal] = mapped_column(Money)
    monthly_deposit: Mapped[Decimal] = mapped_column(Money)
    base: Mapped[Decimal] = mapped_column(Money)
    employee_rate: Mapped[Decimal] = mapped_column(Rate)
    employer_rate: Mapped[Decimal] = mapped_column(Rate)
    paid_up_month: Mapped[date | None] = mapped_column(Date)
    opened_on: Mapped[date] = mapped_column(Date)
    query_password_hash: Mapped[str] = mapped_column(String(255))

    depositor: Mapped[Depositor] = relationship(back_populates="accounts")
    employer: Mapped[Employer | None] = relationship(back_populates="accounts")
    contributions: Mapped[list[ContributionRecord]] = relationship(
        back_populates="account", order_by="ContributionRecord.month.desc()"
    )
    loans: Mapped[list[Loan]] = relationship(back_populates="account")
    withdrawals: Mapped[list[WithdrawalApplication]] = relationship(back_populates="account")
    agreements: Mapped[list[EntrustAgreement]] = relationship(back_populates="account")

    @validates("paid_up_month")
    def _check_paid_up_month(self, _key: str, value: date | None) -> date | None:
        return _first_of_month(value, "paid_up_month")


class ContributionRecord(Base):
    """One month's contribution (汇缴) into an account."""

    __tablename__ = "contribution_records"
    __table_args__ = (UniqueConstraint("account_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("fund_accounts.id"), index=True)
    month: Mapped[date] = mapped_column(Date)
    employee_part: Mapped[Decimal] = mapped_column(Money)
    employer_part: Mapped[Decimal] = mapped_column(Money)
    paid_on: Mapped[date] = mapped_column(Date)

    account: Mapped[FundAccount] = relationship(back_populates="contributions")

    @validates("month")
    def _check_month(self, _key: str, value: date) -> date:
        return _first_of_month(value, "month")  # type: ignore[return-value]


# ------------------------------------------------------------------------- loans


class Loan(Base):
    """A provident-fund housing loan (公积金贷款)."""

    __tablename__ = "loans"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("fund_accounts.id"), index=True)
    loan_number: Mapped[str] = mapped_column(String(20), unique=True)
    principal: Mapped[Decimal] = mapped_column(Money)
    remaining_principal: Mapped[Decimal] = mapped_column(Money)
    annual_rate: Mapped[Decimal] = mapped_column(Rate)
    term_months: Mapped[int] = mapped_column(Integer)
    start_date: Mapped[date] = mapped_column(Date)
    monthly_payment: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[LoanStatus] = mapped_column(_enum(LoanStatus, "status"))
    overdue_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    overdue_periods: Mapped[int] = mapped_column(Integer, default=0)

    account: Mapped[FundAccount] = relationship(back_populates="loans")
    installments: Mapped[list[LoanInstallment]] = relationship(
        back_populates="loan", order_by="LoanInstallment.due_date"
    )


class LoanInstallment(Base):
    """One scheduled monthly repayment of a loan."""

    __tablename__ = "loan_installments"
    __table_args__ = (UniqueConstraint("loan_id", "due_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    due_date: Mapped[date] = mapped_column(Date)
    principal: Mapped[Decimal] = mapped_column(Money)
    interest: Mapped[Decimal] = mapped_column(Money)
    paid_on: Mapped[date | None] = mapped_column(Date)

    loan: Mapped[Loan] = relationship(back_populates="installments")


# ------------------------------------------------------------------- withdrawals


class WithdrawalApplication(Base):
    """An application to withdraw (提取) from the account.

    ``reject_reason`` is a code (``incomplete_materials``, ``not_eligible``,
    ``insufficient_balance``, ``duplicate``…); the wording lives in responses.
    """

    __tablename__ = "withdrawal_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("fund_accounts.id"), index=True)
    application_number: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[WithdrawalKind] = mapped_column(_enum(WithdrawalKind, "kind"))
    amount: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[WithdrawalStatus] = mapped_column(
        _enum(WithdrawalStatus, "status")
    )
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reject_reason: Mapped[str | None] = mapped_column(String(40))

    account: Mapped[FundAccount] = relationship(back_populates="withdrawals")


class EntrustAgreement(Base):
    """An entrusted-withdrawal agreement (委托提取协议): yearly transfer to the card."""

    __tablename__ = "entrust_agreements"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("fund_accounts.id"), index=True)
    signed_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[MortgageKind] = mapped_column(_enum(MortgageKind, "kind"))
    next_transfer_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[AgreementStatus] = mapped_column(_enum(AgreementStatus, "status"))

    account: Mapped[FundAccount] = relationship(back_populates="agreements")


# -------------------------------------------------------------------- complaints


class Complaint(Base):
    """A complaint ticket (投诉工单), owned by the first contact (首问负责制).

    ``transcript`` is a JSON list of ``{"role", "text", "at"}`` with ``at`` an
    ISO 8601 UTC timestamp; it never holds a password or token (the secure
    steps never pass through the conversation).
    """

    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(12), unique=True)
    category: Mapped[ComplaintCategory] = mapped_column(
        _enum(ComplaintCategory, "category")
    )
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "channel"))
    description: Mapped[str] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(200))
    staff_number: Mapped[str | None] = mapped_column(String(20))
    contact_phone: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[ComplaintStatus] = mapped_column(
        _enum(ComplaintStatus, "status"), index=True
    )
    owner: Mapped[str | None] = mapped_column(String(50))
    due_date: Mapped[date] = mapped_column(Date, index=True)
    reply: Mapped[str | None] = mapped_column(Text)
    transcript: Mapped[list[Any]] = mapped_column(JSON, default=list)
    conversation_id: Mapped[str | None] = mapped_column(String(64), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    events: Mapped[list[ComplaintEvent]] = relationship(
        back_populates="complaint", order_by="ComplaintEvent.at"
    )


class ComplaintEvent(Base):
    """Audit trail of a complaint: who did what, when."""

    __tablename__ = "complaint_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(50))
    action: Mapped[str] = mapped_column(String(30))
    detail: Mapped[str | None] = mapped_column(Text)

    complaint: Mapped[Complaint] = relationship(back_populates="events")


# ------------------------------------------------ ratings, hand-overs, requests


class Rating(Base):
    """A 1–5 service rating (服务质量评价) given at the end of a conversation."""

    __tablename__ = "ratings"
    __table_args__ = (CheckConstraint("score >= 1 AND score <= 5", name="score_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "channel"))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Handover(Base):
    """A conversation handed to a person, with what the assistant knew."""

    __tablename__ = "handovers"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "channel"))
    reason: Mapped[str] = mapped_column(String(40))
    intent_path: Mapped[str | None] = mapped_column(String(500))
    masked_account: Mapped[str | None] = mapped_column(String(24))
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[HandoverStatus] = mapped_column(
        _enum(HandoverStatus, "status"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CallbackRequest(Base):
    """A request to be called back (e.g. outside agent hours)."""

    __tablename__ = "callback_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str | None] = mapped_column(String(64), index=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "channel"))
    phone: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[CallbackStatus] = mapped_column(
        _enum(CallbackStatus, "status"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OnsiteRequest(Base):
    """An employer's request for on-site service (上门服务)."""

    __tablename__ = "onsite_requests"
    __table_args__ = (CheckConstraint("headcount >= 1", name="headcount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    employer_name: Mapped[str] = mapped_column(String(100))
    contact_name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str] = mapped_column(String(16))
    headcount: Mapped[int] = mapped_column(Integer)
    preferred_time: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(String(1000))
    status: Mapped[OnsiteStatus] = mapped_column(_enum(OnsiteStatus, "status"), index=True)
    conversation_id: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[Channel | None] = mapped_column(_enum(Channel, "channel"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


# --------------------------------------------------------------------------- auth


class AuthSession(Base):
    """A short-lived grant to read one account, bound to one conversation.

    Only the SHA-256 of the token is stored; the token itself exists only in
    the gateway's message to Rasa and in the tracker of that conversation.
    """

    __tablename__ = "auth_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("fund_accounts.id"), index=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "channel"))
    conversation_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)

    account: Mapped[FundAccount] = relationship()


class AuthFailure(Base):
    """One failed verification; ``identifier_hash`` is a keyed hash, never the value."""

    __tablename__ = "auth_failures"
    __table_args__ = (
        Index("ix_auth_failures_identifier_hash_at", "identifier_hash", "at"),
        Index("ix_auth_failures_account_id_at", "account_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier_hash: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("fund_accounts.id"))
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "channel"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(30))


# Tables of the gateway parts live in their own modules (each with its own
# migration); importing them here keeps Base.metadata complete wherever the
# models are loaded (migrations, schema checks, tests).
from bot.records import desk_models as _desk_models  # noqa: E402,F401  (issue 5: desk)
from bot.records import voice_models as _voice_models  # noqa: E402,F401  (issue 3: voice)
