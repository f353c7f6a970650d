"""Fund accounts as depositors ask about them: balance, arrears, loan, withdrawals.

Read-only answers for the account actions. Every function takes the session
first and leaves the transaction to the caller (``with session_scope() as
session: ...``). Values come back as plain dicts of ``Decimal``, ``date`` and
aware ``datetime`` (UTC); codes are the English enum values, which responses
translate. An account id that does not exist raises
:class:`~bot.records.errors.RecordNotFoundError`.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.records.account_models import (
    AccountStatus,
    AgreementStatus,
    ContributionRecord,
    EntrustAgreement,
    FundAccount,
    Loan,
    LoanInstallment,
    LoanStatus,
    WithdrawalApplication,
    WithdrawalStatus,
)
from bot.records.clock import add_months, first_of_month, months_between, shanghai_date
from bot.records.errors import RecordNotFoundError
from bot.records.identifiers import mask_account, mask_card

LAST_CONTRIBUTIONS = 3
LATEST_WITHDRAWALS = 5


def _get_account(session: Session, account_id: int) -> FundAccount:
    account = session.get(FundAccount, account_id)
    if account is None:
        raise RecordNotFoundError(f"fund account id {account_id} does not exist")
    return account


def arrears_months(account: FundAccount, today: date) -> tuple[int, date | None]:
    """Months of contributions missing for a normal account, and the first of them.

    Month M is expected to be paid up once month M+1 has begun, so on
    2026-11-27 an account should be paid up to 2026-10. Sealed and closed
    accounts owe nothing.
    """
    if account.status != AccountStatus.normal:
        return 0, None
    expected = add_months(first_of_month(today), -1)
    if account.paid_up_month is None:
        first_missing = first_of_month(account.opened_on)
    else:
        first_missing = add_months(account.paid_up_month, 1)
    if first_missing > expected:
        return 0, None
    return months_between(first_missing, expected) + 1, first_missing


def account_overview(
    session: Session, account_id: int, *, today: date | None = None
) -> dict[str, Any]:
    """Everything a balance answer needs.

    Keys: ``account_number``, ``masked_account``, ``masked_card``,
    ``depositor_name``, ``employer_name``, ``status`` (normal/sealed/closed),
    ``balance``, ``monthly_deposit``, ``base``, ``employee_rate``,
    ``employer_rate``, ``paid_up_month``, ``opened_on``,
    ``last_contributions`` (newest first, up to 3: ``month``,
    ``employee_part``, ``employer_part``, ``total``, ``paid_on``),
    ``arrears_months`` and ``arrears_since`` (first unpaid month or None).
    """
    account = _get_account(session, account_id)
    today = today or shanghai_date()
    contributions = session.scalars(
        select(ContributionRecord)
        .where(ContributionRecord.account_id == account.id)
        .order_by(ContributionRecord.month.desc())
        .limit(LAST_CONTRIBUTIONS)
    ).all()
    owed, since = arrears_months(account, today)
    return {
        "account_id": account.id,
        "account_number": account.account_number,
        "masked_account": mask_account(account.account_number),
        "masked_card": mask_card(account.card_number) if account.card_number else None,
        "depositor_name": account.depositor.name,
        "employer_name": account.employer.name if account.employer else None,
        "status": account.status.value,
        "balance": account.balance,
        "monthly_deposit": account.monthly_deposit,
        "base": account.base,
        "employee_rate": account.employee_rate,
        "employer_rate": account.employer_rate,
        "paid_up_month": account.paid_up_month,
        "opened_on": account.opened_on,
        "last_contributions": [
            {
                "month": record.month,
                "employee_part": record.employee_part,
                "employer_part": record.employer_part,
                "total": record.employee_part + record.employer_part,
                "paid_on": record.paid_on,
            }
            for record in contributions
        ],
        "arrears_months": owed,
        "arrears_since": since,
    }


# ------------------------------------------------------------------------ loans


def loan_overview(
    session: Session, account_id: int, *, today: date | None = None
) -> dict[str, Any] | None:
    """The account's current loan (or, failing that, its latest settled one).

    None when the account never had a loan. Keys: ``loan_number``, ``status``,
    ``settled``, ``principal``, ``remaining_principal``, ``annual_rate``,
    ``term_months``, ``start_date``, ``end_date``, ``monthly_payment``,
    ``next_due_date`` and ``next_due_amount`` (the next instalment not yet
    due; None when nothing is left to pay), ``overdue_amount``,
    ``overdue_periods``, ``paid_periods``, ``remaining_periods`` (unpaid
    instalments, overdue ones included).
    """
    _get_account(session, account_id)
    today = today or shanghai_date()
    loans = session.scalars(
        select(Loan)
        .where(Loan.account_id == account_id)
        .order_by(Loan.start_date.desc(), Loan.id.desc())
    ).all()
    if not loans:
        return None
    current = [loan for loan in loans if loan.status != LoanStatus.settled]
    loan = current[0] if current else loans[0]
    settled = loan.status == LoanStatus.settled

    next_installment = None
    if not settled:
        next_installment = session.scalar(
            select(LoanInstallment)
            .where(
                LoanInstallment.loan_id == loan.id,
                LoanInstallment.paid_on.is_(None),
                LoanInstallment.due_date >= today,
            )
            .order_by(LoanInstallment.due_date)
            .limit(1)
        )
    paid_periods = session.scalar(
        select(func.count(LoanInstallment.id)).where(
            LoanInstallment.loan_id == loan.id, LoanInstallment.paid_on.is_not(None)
        )
    ) or 0
    unpaid_periods = session.scalar(
        select(func.count(LoanInstallment.id)).where(
            LoanInstallment.loan_id == loan.id, LoanInstallment.paid_on.is_(None)
        )
    ) or 0
    end_date = session.scalar(
        select(func.max(LoanInstallment.due_date)).where(LoanInstallment.loan_id == loan.id)
    )
    return {
        "loan_number": loan.loan_number,
        "status": loan.status.value,
        "settled": settled,
        "principal": loan.principal,
        "remaining_principal": loan.remaining_principal,
        "annual_rate": loan.annual_rate,
        "term_months": loan.term_months,
        "start_date": loan.start_date,
        "end_date": end_date,
        "monthly_payment": loan.monthly_payment,
        "next_due_date": next_installment.due_date if next_installment else None,
        "next_due_amount": (
            next_installment.principal + next_installment.interest if next_installment else None
        ),
        "overdue_amount": loan.overdue_amount,
        "overdue_periods": loan.overdue_periods,
        "paid_periods": paid_periods,
        "remaining_periods": 0 if settled else unpaid_periods,
    }


# ------------------------------------------------------------------ withdrawals


def withdrawal_overview(
    session: Session, account_id: int, *, limit: int = LATEST_WITHDRAWALS
) -> dict[str, Any]:
    """Latest withdrawal applications and the active entrusted-withdrawal agreement.

    Keys: ``applications`` (newest first: ``application_number``, ``kind``,
    ``amount``, ``status``, ``applied_at``, ``paid_at``, ``reject_reason``),
    ``pending_count`` (submitted, reviewing or approved but not yet paid) and
    ``entrust_agreement`` (``signed_on``, ``kind``, ``next_transfer_date``) or None.
    """
    _get_account(session, account_id)
    applications = session.scalars(
        select(WithdrawalApplication)
        .where(WithdrawalApplication.account_id == account_id)
        .order_by(WithdrawalApplication.applied_at.desc(), WithdrawalApplication.id.desc())
        .limit(limit)
    ).all()
    pending = {WithdrawalStatus.submitted, WithdrawalStatus.reviewing, WithdrawalStatus.approved}
    pending_count = session.scalar(
        select(func.count(WithdrawalApplication.id)).where(
            WithdrawalApplication.account_id == account_id,
            WithdrawalApplication.status.in_(pending),
        )
    ) or 0
    agreement = session.scalar(
        select(EntrustAgreement)
        .where(
            EntrustAgreement.account_id == account_id,
            EntrustAgreement.status == AgreementStatus.active,
        )
        .order_by(EntrustAgreement.signed_on.desc(), EntrustAgreement.id.desc())
        .limit(1)
    )
    return {
        "applications": [
            {
                "application_number": item.application_number,
                "kind": item.kind.value,
                "amount": item.amount,
                "status": item.status.value,
                "applied_at": item.applied_at,
                "paid_at": item.paid_at,
                "reject_reason": item.reject_reason,
            }
            for item in applications
        ],
        "pending_count": pending_count,
        "entrust_agreement": (
            {
                "signed_on": agreement.signed_on,
                "kind": agreement.kind.value,
                "next_transfer_date": agreement.next_transfer_date,
            }
            if agreement
            else None
        ),
    }
