"""Account answers on the seeded demo data: balance, contributions, arrears, loans, withdrawals."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.records import seed as seed_module
from bot.records.account_models import FundAccount, Loan, LoanStatus
from bot.records.accounts import account_overview, loan_overview, withdrawal_overview
from bot.records.errors import RecordNotFoundError
from bot.records.passwords import hash_password
from bot.records.seed import DEMO_BY_KEY

TODAY = date(2026, 11, 27)


@pytest.fixture
def demo(db_session: Session, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """The seeded demo data (smallest crowd); returns demo key → account id."""

    def light(password: str, *, strength: str = "full") -> str:
        return hash_password(password, strength="light")

    monkeypatch.setattr(seed_module, "hash_password", light)
    seed_module.seed(db_session, count=seed_module.MIN_COUNT)
    db_session.commit()
    ids = {}
    for key, identity in DEMO_BY_KEY.items():
        ids[key] = db_session.scalar(
            select(FundAccount.id).where(FundAccount.account_number == identity.account_number)
        )
    return ids



# ---------------------------------------------------------------- accounts


def test_account_overview(db_session: Session, demo: dict[str, int]) -> None:
    overview = account_overview(db_session, demo["normal_loan"], today=TODAY)
    assert overview["account_number"] == "102030405060"
    assert overview["masked_account"] == "1020****5060"
    assert overview["masked_card"] == "6217***********2345"
    assert overview["status"] == "normal"
    assert overview["balance"] == Decimal("56789.12")
    assert overview["monthly_deposit"] == Decimal("2076.00")
    assert overview["base"] == Decimal("8650.00")
    assert overview["employee_rate"] == Decimal("0.12")
    assert overview["paid_up_month"] == date(2026, 10, 1)
    assert [c["month"] for c in overview["last_contributions"]] == [
        date(2026, 10, 1), date(2026, 9, 1), date(2026, 8, 1)
    ]
    assert overview["last_contributions"][0]["total"] == Decimal("2076.00")
    assert (overview["arrears_months"], overview["arrears_since"]) == (0, None)
    for value in (overview["balance"], *overview["last_contributions"][0].values()):
        assert not isinstance(value, float)


def test_arrears_when_the_employer_stops_paying(db_session: Session, demo: dict[str, int]) -> None:
    account = db_session.get(FundAccount, demo["lockout"])
    assert account is not None
    account.paid_up_month = date(2026, 7, 1)
    db_session.flush()
    overview = account_overview(db_session, account.id, today=date(2026, 11, 15))
    assert (overview["arrears_months"], overview["arrears_since"]) == (3, date(2026, 8, 1))
    # Time passing without payment adds months.
    later = account_overview(db_session, account.id, today=date(2027, 1, 3))
    assert later["arrears_months"] == 5


def test_sealed_account_owes_nothing(db_session: Session, demo: dict[str, int]) -> None:
    overview = account_overview(db_session, demo["sealed"], today=TODAY)
    assert overview["status"] == "sealed"
    assert overview["paid_up_month"] == date(2025, 6, 1)
    assert overview["arrears_months"] == 0


def test_unknown_account(db_session: Session) -> None:
    with pytest.raises(RecordNotFoundError):
        account_overview(db_session, 424242)
    with pytest.raises(RecordNotFoundError):
        loan_overview(db_session, 424242)
    with pytest.raises(RecordNotFoundError):
        withdrawal_overview(db_session, 424242)


# ------------------------------------------------------------------- loans


def test_loan_paid_on_time(db_session: Session, demo: dict[str, int]) -> None:
    loan = loan_overview(db_session, demo["normal_loan"], today=TODAY)
    assert loan is not None
    assert (loan["status"], loan["settled"]) == ("active", False)
    assert loan["principal"] == Decimal("600000.00")
    assert Decimal("0") < loan["remaining_principal"] < loan["principal"]
    assert loan["next_due_date"] == date(2026, 12, 15)
    assert loan["next_due_amount"] == loan["monthly_payment"]
    assert (loan["overdue_amount"], loan["overdue_periods"]) == (Decimal("0.00"), 0)
    assert loan["paid_periods"] + loan["remaining_periods"] == loan["term_months"]
    assert loan["end_date"] == date(2044, 4, 15)


def test_loan_overdue_two_periods(db_session: Session, demo: dict[str, int]) -> None:
    loan = loan_overview(db_session, demo["overdue_loan"], today=TODAY)
    assert loan is not None
    assert loan["status"] == "overdue"
    assert loan["overdue_periods"] == 2
    assert loan["overdue_amount"] == loan["monthly_payment"] * 2
    assert loan["next_due_date"] == date(2026, 12, 10)
    assert loan["remaining_periods"] == loan["term_months"] - loan["paid_periods"]


def test_no_loan(db_session: Session, demo: dict[str, int]) -> None:
    assert loan_overview(db_session, demo["sealed"], today=TODAY) is None
    assert loan_overview(db_session, demo["pending_withdrawal"], today=TODAY) is None


def test_settled_loan(db_session: Session, demo: dict[str, int]) -> None:
    settled = db_session.scalar(select(Loan).where(Loan.status == LoanStatus.settled).limit(1))
    if settled is None:  # the smallest crowd may have none: settle the demo loan
        settled = db_session.scalar(select(Loan).where(Loan.account_id == demo["normal_loan"]))
        assert settled is not None
        settled.status = LoanStatus.settled
        settled.remaining_principal = Decimal("0.00")
        db_session.flush()
    loan = loan_overview(db_session, settled.account_id, today=TODAY)
    assert loan is not None and loan["settled"] is True
    assert loan["next_due_date"] is None and loan["remaining_periods"] == 0


# ------------------------------------------------------------- withdrawals


def test_withdrawal_under_review(db_session: Session, demo: dict[str, int]) -> None:
    overview = withdrawal_overview(db_session, demo["pending_withdrawal"])
    latest, older = overview["applications"]
    assert latest["status"] == "reviewing" and latest["paid_at"] is None
    assert latest["kind"] == "rent" and latest["amount"] == Decimal("10800.00")
    assert latest["applied_at"].tzinfo is not None
    assert older["status"] == "paid" and older["paid_at"] > older["applied_at"]
    assert overview["pending_count"] == 1
    assert overview["entrust_agreement"] is None


def test_entrusted_agreement(db_session: Session, demo: dict[str, int]) -> None:
    overview = withdrawal_overview(db_session, demo["normal_loan"])
    assert overview["applications"] == [] and overview["pending_count"] == 0
    assert overview["entrust_agreement"] == {
        "signed_on": date(2019, 5, 20),
        "kind": "provident",
        "next_transfer_date": date(2027, 5, 20),
    }
