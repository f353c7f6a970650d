"""Accounts and who may read them: depositors, employers, fund accounts, loans, withdrawals, auth.

Schema owner (with the other model modules) of migration ``0001_initial``:
depositors (缴存职工), employers (缴存单位), personal fund accounts and their
monthly contributions, housing loans and their instalments, withdrawal
applications, entrusted-withdrawal agreements, and the verification records
(:class:`AuthSession`, :class:`AuthFailure`) written by
:mod:`bot.records.verification`. The database changes only through the
Alembic migrations; conventions are those of :mod:`bot.records.base`.
"""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from bot.records.base import Base, Channel, enum_column
from bot.records.coltypes import Money, Rate, UTCDateTime

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
    status: Mapped[AccountStatus] = mapped_column(enum_column(AccountStatus, "status"))
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
    status: Mapped[LoanStatus] = mapped_column(enum_column(LoanStatus, "status"))
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
    kind: Mapped[WithdrawalKind] = mapped_column(enum_column(WithdrawalKind, "kind"))
    amount: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[WithdrawalStatus] = mapped_column(
        enum_column(WithdrawalStatus, "status")
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
    kind: Mapped[MortgageKind] = mapped_column(enum_column(MortgageKind, "kind"))
    next_transfer_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[AgreementStatus] = mapped_column(enum_column(AgreementStatus, "status"))

    account: Mapped[FundAccount] = relationship(back_populates="agreements")


# --------------------------------------------------------------------------- auth


class AuthSession(Base):
    """A short-lived grant to read one account, bound to one channel and conversation.

    Only the SHA-256 of the session reference is stored; the reference itself
    exists only in the gateway's message to Rasa and in the tracker of that
    conversation, and resolves only when presented from the same ``channel``
    and ``conversation_id`` (:func:`bot.records.verification.resolve_token`).
    """

    __tablename__ = "auth_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("fund_accounts.id"), index=True)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "channel"))
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
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "channel"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(30))
    # Where the attempt came from (migration 0007): the kind ("address",
    # "network", "phone") and a keyed hash of it, never the address or number.
    source_kind: Mapped[str | None] = mapped_column(String(16))
    source_hash: Mapped[str | None] = mapped_column(String(64))
    # Set when a supervisor unlocked the account: the failure no longer counts.
    cleared: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class AuthSourceEvent(Base):
    """One verification outcome as seen from one source (migration 0007).

    A source is a web visitor's address (IPv6: its /64 network), a chat
    session or call, or a calling number; ``source_hash`` is a keyed hash of
    it and ``target_key`` a keyed hash of the account (or unknown identifier)
    tried. Read by :mod:`bot.records.throttle`.
    """

    __tablename__ = "auth_source_events"
    __table_args__ = (Index("ix_auth_source_events_source_hash_at", "source_hash", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_hash: Mapped[str] = mapped_column(String(64))
    source_kind: Mapped[str] = mapped_column(String(16))
    target_key: Mapped[str] = mapped_column(String(64))
    failed: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


# Tables of the gateway parts live in their own modules (each with its own
