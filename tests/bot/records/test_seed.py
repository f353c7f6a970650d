from __future__ import annotations

import time
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.records import seed as seed_module
from bot.records.account_models import (
    AccountStatus,
    AgreementStatus,
    ContributionRecord,
    Depositor,
    EntrustAgreement,
    FundAccount,
    Loan,
    LoanInstallment,
    LoanStatus,
    WithdrawalApplication,
    WithdrawalStatus,
)
from bot.records.accounts import account_overview, loan_overview
from bot.records.complaints import create_complaint
from bot.records.db import session_scope
from bot.records.identifiers import classify_identifier, is_valid_phone
from bot.records.migrate import upgrade
from bot.records.passwords import hash_password, needs_rehash
from bot.records.seed import DEMO_BY_KEY, DEMO_IDENTITIES, MIN_COUNT, REFERENCE_DATE, seed
from bot.records.service_models import Complaint
from bot.records.verification import verify_identity
from bot.settings import Settings

SETTINGS = Settings(secret_key="test-secret")
NOW = datetime(2026, 11, 2, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
def light_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hash demo passwords with the light profile to keep small tests fast."""

    def light(password: str, *, strength: str = "full") -> str:
        return hash_password(password, strength="light")

    monkeypatch.setattr(seed_module, "hash_password", light)


def test_demo_identities_are_well_formed() -> None:
    assert len(DEMO_IDENTITIES) == 5
    assert set(DEMO_BY_KEY) == {
        "normal_loan", "sealed", "overdue_loan", "pending_withdrawal", "lockout"
    }
    for field in ("id_number", "account_number", "card_number", "password", "phone"):
        values = [getattr(identity, field) for identity in DEMO_IDENTITIES]
        assert len(set(values)) == 5, field
    for identity in DEMO_IDENTITIES:
        assert classify_identifier(identity.id_number) == ("id_number", identity.id_number)
        assert identity.id_number.startswith("5101")
        assert classify_identifier(identity.account_number)[0] == "account_number"
        assert classify_identifier(identity.card_number)[0] == "card_number"
        assert len(identity.password) == 6 and identity.password.isdigit()
        assert is_valid_phone(identity.phone)
        assert identity.password not in repr(identity)


def test_demo_identities_log_in_at_full_strength(db_session: Session) -> None:
    seed(db_session, count=MIN_COUNT)
    for identity in DEMO_IDENTITIES:
        account = db_session.scalar(
            select(FundAccount).where(FundAccount.account_number == identity.account_number)
        )
        assert account is not None and not needs_rehash(account.query_password_hash)
        identifiers = [identity.id_number]
        if identity.key == "normal_loan":
            identifiers += [identity.account_number, identity.card_number]
        for identifier in identifiers:
            result = verify_identity(db_session, identifier, identity.password,
                                     channel="webchat", conversation_id="demo",
                                     settings=SETTINGS, now=NOW)
            assert result.ok, (identity.key, identifier)


def test_demo_scenarios(db_session: Session, light_hashes: None) -> None:
    seed(db_session, count=MIN_COUNT)
    ids = {
        key: db_session.scalar(
            select(FundAccount.id).where(FundAccount.account_number == identity.account_number)
        )
        for key, identity in DEMO_BY_KEY.items()
    }
    today = REFERENCE_DATE
    a = account_overview(db_session, ids["normal_loan"], today=today)
    loan_a = loan_overview(db_session, ids["normal_loan"], today=today)
    assert a["status"] == "normal" and loan_a is not None
    assert loan_a["status"] == "active" and loan_a["overdue_periods"] == 0
    agreement = db_session.scalar(
        select(EntrustAgreement).where(EntrustAgreement.account_id == ids["normal_loan"])
    )
    assert agreement is not None and agreement.status == AgreementStatus.active
    assert agreement.next_transfer_date is not None and agreement.next_transfer_date > today

    assert account_overview(db_session, ids["sealed"], today=today)["status"] == "sealed"
    assert loan_overview(db_session, ids["sealed"], today=today) is None

    loan_c = loan_overview(db_session, ids["overdue_loan"], today=today)
    assert loan_c is not None and loan_c["status"] == "overdue"
    assert loan_c["overdue_periods"] == 2

    pending = db_session.scalars(
        select(WithdrawalApplication.status).where(
            WithdrawalApplication.account_id == ids["pending_withdrawal"]
        )
    ).all()
    assert WithdrawalStatus.reviewing in pending
    assert loan_overview(db_session, ids["pending_withdrawal"], today=today) is None

    e = account_overview(db_session, ids["lockout"], today=today)
    assert e["status"] == "normal" and e["arrears_months"] == 0
    assert loan_overview(db_session, ids["lockout"], today=today) is None


def test_lockout_identity_locks(db_session: Session, light_hashes: None) -> None:
    seed(db_session, count=MIN_COUNT)
    identity = DEMO_BY_KEY["lockout"]
    for _ in range(5):
        verify_identity(db_session, identity.card_number, "000000", channel="voice",
                        conversation_id="demo", settings=SETTINGS, now=NOW)
    result = verify_identity(db_session, identity.id_number, identity.password, channel="voice",
                             conversation_id="demo", settings=SETTINGS, now=NOW)
    assert result.reason == "locked"


def test_second_run_changes_nothing(db_url: str, light_hashes: None) -> None:
    with session_scope(db_url) as session:
        first = seed(session, count=20)
    with session_scope(db_url) as session:
        second = seed(session, count=20)
        assert session.scalar(select(func.count(Depositor.id))) == 20
        assert session.scalar(select(func.count(Loan.id))) == first.loans
    assert not first.skipped and second.skipped


def test_reset_reloads_everything(db_url: str, light_hashes: None) -> None:
    with session_scope(db_url) as session:
        seed(session, count=20)
        create_complaint(session, idempotency_key="k", category="other", channel="rest",
                         description="test", now=NOW)
    with session_scope(db_url) as session:
        report = seed(session, count=30, reset_first=True)
    with session_scope(db_url) as session:
        assert not report.skipped
        assert session.scalar(select(func.count(Depositor.id))) == 30
        assert session.scalar(select(func.count(Complaint.id))) == 0


def _snapshot(session: Session) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for account in session.scalars(select(FundAccount).order_by(FundAccount.account_number)):
        rows.append((
            account.depositor.name, account.depositor.id_number, account.depositor.phone,
            account.account_number, account.card_number, account.status, account.balance,
            account.base, account.employee_rate, account.paid_up_month, account.opened_on,
            account.employer.name if account.employer else None,
        ))
    for loan in session.scalars(select(Loan).order_by(Loan.loan_number)):
        rows.append((loan.loan_number, loan.principal, loan.remaining_principal, loan.status,
                     loan.overdue_amount, loan.start_date, loan.account.account_number))
    for item in session.scalars(
        select(WithdrawalApplication).order_by(WithdrawalApplication.application_number)
    ):
        rows.append((item.application_number, item.kind, item.amount, item.status,
                     item.applied_at, item.paid_at, item.reject_reason))
    rows.append((
        session.scalar(select(func.count(LoanInstallment.id))),
        session.scalar(select(func.count(ContributionRecord.id))),
    ))
    return rows


def test_seed_is_deterministic(db_url: str, tmp_path: Path, light_hashes: None) -> None:
    other = f"sqlite:///{tmp_path / 'other.db'}"
    upgrade(other)
    for url in (db_url, other):
        with session_scope(url) as session:
            seed(session, count=40)
    with session_scope(db_url) as session:
        first = _snapshot(session)
    with session_scope(other) as session:
        second = _snapshot(session)
    assert first == second
    assert len(first) > 40


def test_full_crowd(db_url: str) -> None:
    started = time.perf_counter()
    with session_scope(db_url) as session:
        report = seed(session, count=600)
    elapsed = time.perf_counter() - started
    assert elapsed < 60, f"seeding 600 people took {elapsed:.1f} s"

    with session_scope(db_url) as session:
        accounts = session.scalars(select(FundAccount)).all()
        assert len(accounts) == report.accounts == 600
        assert all(account.depositor.synthetic for account in accounts)
        statuses = [account.status for account in accounts]
        sealed = statuses.count(AccountStatus.sealed) / 600
        assert 0.05 <= sealed <= 0.12
        assert statuses.count(AccountStatus.closed) > 0

        loans = session.scalars(select(Loan)).all()
        by_account = {loan.account_id: loan.status for loan in loans}
        active = sum(status == LoanStatus.active for status in by_account.values()) / 600
        no_loan = 1 - len(by_account) / 600
        assert 0.22 <= active <= 0.38
        assert 0.32 <= no_loan <= 0.50
        assert any(status == LoanStatus.overdue for status in by_account.values())
        assert any(status == LoanStatus.settled for status in by_account.values())
        for loan in loans:
            if loan.status == LoanStatus.settled:
                assert loan.remaining_principal == Decimal("0.00")
            else:
                assert Decimal("0") < loan.remaining_principal <= loan.principal
            if loan.status == LoanStatus.overdue:
                assert loan.overdue_periods > 0 and loan.overdue_amount > 0

        withdrawal_statuses = set(session.scalars(select(WithdrawalApplication.status)))
        assert {WithdrawalStatus.paid, WithdrawalStatus.rejected} <= withdrawal_statuses
        assert withdrawal_statuses & {WithdrawalStatus.submitted, WithdrawalStatus.reviewing}
        assert session.scalar(select(func.count(EntrustAgreement.id))) > 20

        in_arrears = [
            account for account in accounts
            if account_overview(session, account.id, today=date(2026, 11, 15))["arrears_months"]
        ]
        assert in_arrears, "some employers should have stopped paying"

        for account in accounts:
            assert classify_identifier(account.depositor.id_number)[0] == "id_number"
            assert classify_identifier(account.account_number)[0] == "account_number"
            if account.card_number:
                assert classify_identifier(account.card_number)[0] == "card_number"
            assert account.balance >= 0
    print(f"seeded 600 on {db_url.split(':')[0]} in {elapsed:.1f} s")


def test_cli_refuses_production(monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HOTLINE_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://prod@db/hotline")
    assert seed_module.main(["--count", "20"]) == 2
    assert "production" in capsys.readouterr().err


def test_cli_seeds_and_is_idempotent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str],
                                     light_hashes: None) -> None:
    monkeypatch.delenv("HOTLINE_ENV", raising=False)
    url = f"sqlite:///{tmp_path / 'cli' / 'hotline.db'}"
    assert seed_module.main(["--count", "15", "--url", url]) == 0
    assert "seeded 15 depositors" in capsys.readouterr().out
    assert seed_module.main(["--count", "15", "--url", url]) == 0
    assert "already present" in capsys.readouterr().out


def test_count_too_small(db_session: Session) -> None:
    with pytest.raises(ValueError):
        seed(db_session, count=MIN_COUNT - 1)
