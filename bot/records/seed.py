"""Synthetic demo data: ``python -m bot.records.seed [--count 600] [--reset]``.

Every person here is made up (``Depositor.synthetic`` is True). The data is
deterministic: Faker ``zh_CN`` and ``random`` share a fixed seed and every
date is computed from a fixed reference date (2026-11-01), so two runs give
identical rows; only the password hashes differ, because each hash has its own
random salt.

Besides the crowd there are five fixed demo identities (:data:`DEMO_IDENTITIES`)
with known ID numbers, account and card numbers and query passwords, one per
scenario the README walks through.

Password cost: the demo identities get the full argon2id profile. The crowd
gets the light profile (see ``passwords.py``): at full strength 600 hashes take
about 100 s on two cores, light ones about 5 s (the whole seed about 10 s).
Crowd passwords are random and printed nowhere, so nobody can log in with
them; a successful verification would upgrade a light hash to full strength.

Running twice does nothing the second time (the demo identities exist); use
``--reset`` to delete all records rows first. Refuses to run in production.
"""
from __future__ import annotations

import argparse
import logging
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from faker import Faker
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from bot.records.account_models import (
    AccountStatus,
    AgreementStatus,
    ContributionRecord,
    Depositor,
    Employer,
    EntrustAgreement,
    FundAccount,
    Loan,
    LoanInstallment,
    LoanStatus,
    MortgageKind,
    WithdrawalApplication,
    WithdrawalKind,
    WithdrawalStatus,
)
from bot.records.clock import SHANGHAI, add_months, first_of_month, months_between
from bot.records.db import session_scope
from bot.records.identifiers import id_check_char
from bot.records.migrate import upgrade
from bot.records.passwords import hash_password
from bot.records.schema import metadata
from bot.settings import load_settings

logger = logging.getLogger(__name__)

SEED = 96319
REFERENCE_DATE = date(2026, 11, 1)
DEFAULT_COUNT = 600
MIN_COUNT = 10

YUAN = Decimal("1")
CENTS = Decimal("0.01")

# Chengdu's districts (data for the synthetic employers).
CHENGDU_DISTRICTS = (
    "锦江区", "青羊区", "金牛区", "武侯区", "成华区", "龙泉驿区", "青白江区", "新都区",
    "温江区", "双流区", "郫都区", "新津区", "高新区", "天府新区",
)
CHENGDU_AREA_CODES = ("510104", "510105", "510106", "510107", "510108", "510112",
                      "510113", "510114", "510115", "510116", "510117", "510118")
REJECT_REASONS = ("incomplete_materials", "not_eligible", "insufficient_balance", "duplicate")


@dataclass(frozen=True)
class DemoIdentity:
    """A fixed demo person: use these in the README, demos and tests only."""

    key: str
    scenario: str
    name: str
    id_number: str
    account_number: str
    card_number: str
    password: str = field(repr=False)
    phone: str


DEMO_IDENTITIES: tuple[DemoIdentity, ...] = (
    DemoIdentity(
        key="normal_loan",
        scenario="normal account, active loan paid on time, active entrusted withdrawal",
        name="张明远",
        id_number="510104198503150017",
        account_number="102030405060",
        card_number="6217003810000012345",
        password="135790",
        phone="13800000001",
    ),
    DemoIdentity(
        key="sealed",
        scenario="sealed account (封存), no loan",
        name="李秀英",
        id_number="510105199007080022",
        account_number="102030405071",
        card_number="6217003810000023456",
        password="246801",
        phone="13800000002",
    ),
    DemoIdentity(
        key="overdue_loan",
        scenario="loan overdue by 2 periods",
        name="王建国",
        id_number="510106197802220036",
        account_number="102030405082",
        card_number="6217003810000034567",
        password="314159",
        phone="13800000003",
    ),
    DemoIdentity(
        key="pending_withdrawal",
        scenario="withdrawal under review, no loan",
        name="刘芳",
        id_number="510107199211110041",
        account_number="102030405093",
        card_number="6217003810000045678",
        password="271828",
        phone="13800000004",
    ),
    DemoIdentity(
        key="lockout",
        scenario="plain normal account, for the lock-out demo",
        name="陈志强",
        id_number="51010819881030005X",
        account_number="102030405104",
        card_number="6217003810000056789",
        password="161803",
        phone="13800000005",
    ),
)
DEMO_BY_KEY: dict[str, DemoIdentity] = {identity.key: identity for identity in DEMO_IDENTITIES}


@dataclass
class SeedReport:
    """What a seed run did."""

    skipped: bool = False
    depositors: int = 0
    accounts: int = 0
    loans: int = 0
    installments: int = 0
    contributions: int = 0
    withdrawals: int = 0
    agreements: int = 0
    seconds: float = 0.0


# ----------------------------------------------------------------- arithmetic


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENTS, rounding=ROUND_HALF_UP)


def provident_rate(start: date, term_months: int) -> Decimal:
    """The first-home provident-fund rate in force when a loan started."""
    long_term = term_months > 60
    if start >= date(2025, 5, 8):
        return Decimal("0.02600") if long_term else Decimal("0.02100")
    if start >= date(2024, 5, 18):
        return Decimal("0.02850") if long_term else Decimal("0.02350")
    if start >= date(2022, 10, 1):
        return Decimal("0.03100") if long_term else Decimal("0.02600")
    return Decimal("0.03250") if long_term else Decimal("0.02750")


def level_payment(principal: Decimal, annual_rate: Decimal, term_months: int) -> Decimal:
    """Equal monthly instalment (等额本息) rounded to cents."""
    monthly = annual_rate / 12
    factor = (1 + monthly) ** term_months
    return _money(principal * monthly * factor / (factor - 1))


def schedule(
    principal: Decimal, annual_rate: Decimal, term_months: int, start: date
) -> tuple[Decimal, list[tuple[date, Decimal, Decimal]]]:
    """Monthly payment and ``(due_date, principal_part, interest_part)`` rows."""
    payment = level_payment(principal, annual_rate, term_months)
    monthly = annual_rate / 12
    remaining = principal
    rows: list[tuple[date, Decimal, Decimal]] = []
    for period in range(1, term_months + 1):
        interest = _money(remaining * monthly)
        part = remaining if period == term_months else payment - interest
        remaining -= part
        rows.append((add_months(start, period), part, interest))
    return payment, rows


def _at(day: date, rng: random.Random) -> datetime:
    """A working-hours moment on ``day`` in Chengdu."""
    local = datetime.combine(day, dtime(rng.randint(9, 16), rng.randint(0, 59)), tzinfo=SHANGHAI)
    return local


# ----------------------------------------------------------------- generation


class _Generator:
    def __init__(self, session: Session, count: int, reference: date) -> None:
        self.session = session
        self.count = count
        self.ref = reference
        self.rng = random.Random(SEED)
        self.fake = Faker("zh_CN")
        self.fake.seed_instance(SEED)
        self.report = SeedReport()
        self.used_ids: set[str] = {identity.id_number for identity in DEMO_IDENTITIES}
        self.used_accounts: set[str] = {identity.account_number for identity in DEMO_IDENTITIES}
        self.used_cards: set[str] = {identity.card_number for identity in DEMO_IDENTITIES}
        self.loan_seq = 0
        self.application_seq = 0
        self.installment_rows: list[dict[str, Any]] = []
        self.contribution_rows: list[dict[str, Any]] = []

    # identifiers -----------------------------------------------------------

    def _unique(self, used: set[str], make: Callable[[], str]) -> str:
        while True:
            value = make()
            if value not in used:
                used.add(value)
                return value

    def id_number(self) -> str:
        def make() -> str:
            birth = date(1960, 1, 1) + timedelta(days=self.rng.randint(0, 365 * 43))
            body = (
                self.rng.choice(CHENGDU_AREA_CODES)
                + birth.strftime("%Y%m%d")
                + f"{self.rng.randint(1, 999):03d}"
            )
            return body + id_check_char(body)

        return self._unique(self.used_ids, make)

    def account_number(self) -> str:
        return self._unique(
            self.used_accounts, lambda: f"{self.rng.randint(2 * 10**11, 10**12 - 1)}"
        )

    def card_number(self) -> str:
        return self._unique(
            self.used_cards, lambda: "6217" + f"{self.rng.randint(0, 10**15 - 1):015d}"
        )

    def phone(self) -> str:
        return "1" + self.rng.choice("3456789") + f"{self.rng.randint(0, 10**9 - 1):09d}"

    def password(self) -> str:
        return f"{self.rng.randint(0, 999_999):06d}"

    # rows -------------------------------------------------------------------

    def employers(self) -> tuple[Employer, list[tuple[Employer, int]]]:
        """The demo employer and ``(employer, months_in_arrears)`` for the crowd."""
        demo = Employer(
            name=self.fake.company(), unit_account_number="9000000001", district="青羊区"
        )
        crowd: list[tuple[Employer, int]] = []
        used: set[str] = {demo.unit_account_number}
        for _ in range(max(5, self.count // 15)):
            employer = Employer(
                name=self.fake.company(),
                unit_account_number=self._unique(
                    used, lambda: f"{self.rng.randint(10**9, 9 * 10**9 - 1)}"
                ),
                district=self.rng.choice(CHENGDU_DISTRICTS),
            )
            stopped = self.rng.random() < 0.1
            crowd.append((employer, self.rng.randint(2, 6) if stopped else 0))
        self.session.add(demo)
        self.session.add_all(employer for employer, _ in crowd)
        self.session.flush()
        return demo, crowd

    def account(
        self,
        depositor: Depositor,
        employer: Employer | None,
        *,
        account_number: str,
        card_number: str | None,
        status: AccountStatus,
        opened_on: date,
        paid_up_month: date | None,
        base: Decimal,
        rate: Decimal,
        balance: Decimal,
        password_hash: str,
    ) -> FundAccount:
        part = (base * rate).quantize(YUAN, rounding=ROUND_HALF_UP)
        account = FundAccount(
            account_number=account_number,
            card_number=card_number,
            depositor=depositor,
            employer=employer,
            status=status,
            balance=_money(balance),
            monthly_deposit=_money(part * 2),
            base=_money(base),
            employee_rate=rate,
            employer_rate=rate,
            paid_up_month=paid_up_month,
            opened_on=opened_on,
            query_password_hash=password_hash,
        )
        self.session.add(account)
        return account

    def contributions(self, account: FundAccount, months: int = 12) -> None:
        if account.paid_up_month is None:
            return
        part = _money(account.monthly_deposit / 2)
        month = account.paid_up_month
        opened = first_of_month(account.opened_on)
        for _ in range(months):
            if month < opened:
                break
            paid_on = month + timedelta(days=self.rng.randint(4, 20))
            self.contribution_rows.append(
                {
                    "account_id": account.id,
                    "month": month,
                    "employee_part": part,
                    "employer_part": part,
                    "paid_on": paid_on,
                }
            )
            month = add_months(month, -1)

    def loan(
        self,
        account: FundAccount,
        *,
        principal: Decimal,
        term_months: int,
        start: date,
        overdue_periods: int = 0,
    ) -> Loan:
        rate = provident_rate(start, term_months)
        payment, rows = schedule(principal, rate, term_months, start)
        self.loan_seq += 1
        loan = Loan(
            account=account,
            loan_number=f"DK{start.year}{self.loan_seq:06d}",
            principal=principal,
            remaining_principal=principal,
            annual_rate=rate,
            term_months=term_months,
            start_date=start,
            monthly_payment=payment,
            status=LoanStatus.active,
            overdue_amount=Decimal("0.00"),
            overdue_periods=0,
        )
        self.session.add(loan)
        self.session.flush()
        past = [index for index, row in enumerate(rows) if row[0] < self.ref]
        unpaid = set(past[len(past) - overdue_periods:]) if overdue_periods else set()
        remaining = principal
        overdue_amount = Decimal("0.00")
        for index, (due, part, interest) in enumerate(rows):
            paid_on: date | None = None
            if index in unpaid:
                overdue_amount += part + interest
            elif due < self.ref:
                paid_on = due - timedelta(days=self.rng.randint(0, 3))
                remaining -= part
            self.installment_rows.append(
                {
                    "loan_id": loan.id,
                    "due_date": due,
                    "principal": part,
                    "interest": interest,
                    "paid_on": paid_on,
                }
            )
        loan.remaining_principal = _money(remaining)
        if remaining == 0:
            loan.status = LoanStatus.settled
        elif overdue_periods:
            loan.status = LoanStatus.overdue
            loan.overdue_amount = _money(overdue_amount)
            loan.overdue_periods = len(unpaid)
        self.report.loans += 1
        self.report.installments += len(rows)
        return loan

    def withdrawal(
        self,
        account: FundAccount,
        *,
        kind: WithdrawalKind,
        amount: Decimal,
        status: WithdrawalStatus,
        applied_on: date,
    ) -> WithdrawalApplication:
        self.application_seq += 1
        applied_at = _at(applied_on, self.rng)
        paid_at = None
        if status == WithdrawalStatus.paid:
            paid_at = applied_at + timedelta(days=self.rng.randint(1, 7), hours=2)
        application = WithdrawalApplication(
            account=account,
            application_number=f"TQ{applied_on:%Y%m%d}{self.application_seq:05d}",
            kind=kind,
            amount=_money(amount),
            status=status,
            applied_at=applied_at,
            paid_at=paid_at,
            reject_reason=(
                self.rng.choice(REJECT_REASONS) if status == WithdrawalStatus.rejected else None
            ),
        )
        self.session.add(application)
        self.report.withdrawals += 1
        return application

    def agreement(
        self, account: FundAccount, *, kind: MortgageKind, signed_on: date, active: bool = True
    ) -> EntrustAgreement:
        next_transfer = None
        if active:
            years = max(1, self.ref.year - signed_on.year)
            next_transfer = add_months(signed_on, 12 * years)
            while next_transfer <= self.ref:
                years += 1
                next_transfer = add_months(signed_on, 12 * years)
        agreement = EntrustAgreement(
            account=account,
            signed_on=signed_on,
            kind=kind,
            next_transfer_date=next_transfer,
            status=AgreementStatus.active if active else AgreementStatus.ended,
        )
        self.session.add(agreement)
        self.report.agreements += 1
        return agreement

    # scenarios ----------------------------------------------------------------

    def demo_people(self, employer: Employer) -> None:
        paid_up = add_months(first_of_month(self.ref), -1)
        accounts: dict[str, FundAccount] = {}
        for identity in DEMO_IDENTITIES:
            depositor = Depositor(
                name=identity.name,
                id_number=identity.id_number,
                phone=identity.phone,
                synthetic=True,
            )
            self.session.add(depositor)
            sealed = identity.key == "sealed"
            accounts[identity.key] = self.account(
                depositor,
                employer,
                account_number=identity.account_number,
                card_number=identity.card_number,
                status=AccountStatus.sealed if sealed else AccountStatus.normal,
                opened_on=date(2012, 7, 16),
                paid_up_month=date(2025, 6, 1) if sealed else paid_up,
                base=Decimal("8650"),
                rate=Decimal("0.12"),
                balance={
                    "normal_loan": Decimal("56789.12"),
                    "sealed": Decimal("23456.78"),
                    "overdue_loan": Decimal("8123.45"),
                    "pending_withdrawal": Decimal("41200.00"),
                    "lockout": Decimal("15020.60"),
                }[identity.key],
                password_hash=hash_password(identity.password),
            )
        self.session.flush()
        for account in accounts.values():
            self.contributions(account)
        self.loan(
            accounts["normal_loan"],
            principal=Decimal("600000.00"),
            term_months=300,
            start=date(2019, 4, 15),
        )
        self.agreement(accounts["normal_loan"], kind=MortgageKind.provident,
                       signed_on=date(2019, 5, 20))
        self.loan(
            accounts["overdue_loan"],
            principal=Decimal("450000.00"),
            term_months=240,
            start=date(2021, 8, 10),
            overdue_periods=2,
        )
        pending = accounts["pending_withdrawal"]
        self.withdrawal(pending, kind=WithdrawalKind.rent, amount=Decimal("10800.00"),
                        status=WithdrawalStatus.paid, applied_on=date(2026, 4, 13))
        self.withdrawal(pending, kind=WithdrawalKind.rent, amount=Decimal("10800.00"),
                        status=WithdrawalStatus.reviewing,
                        applied_on=self.ref - timedelta(days=4))
        self.report.depositors += len(DEMO_IDENTITIES)
        self.report.accounts += len(DEMO_IDENTITIES)

    def crowd(self, employers: Sequence[tuple[Employer, int]]) -> None:
        rng = self.rng
        normal_paid_up = add_months(first_of_month(self.ref), -1)
        people: list[FundAccount] = []
        for _ in range(self.count - len(DEMO_IDENTITIES)):
            employer, arrears = rng.choice(employers)
            depositor = Depositor(
                name=self.fake.name(),
                id_number=self.id_number(),
                phone=self.phone(),
                synthetic=True,
            )
            self.session.add(depositor)
            roll = rng.random()
            status = (
                AccountStatus.sealed if roll < 0.08
                else AccountStatus.closed if roll < 0.11
                else AccountStatus.normal
            )
            opened_on = date(2005, 1, 1) + timedelta(days=rng.randint(0, 20 * 365))
            opened_month = first_of_month(opened_on)
            if status == AccountStatus.normal:
                paid_up = add_months(normal_paid_up, -arrears)
            else:
                paid_up = add_months(normal_paid_up, -rng.randint(5, 80))
            paid_up = max(paid_up, opened_month)
            base = Decimal(rng.randint(2100, 31378))
            rate = Decimal(rng.choice(("0.05", "0.07", "0.08", "0.10", "0.12")))
            months = months_between(opened_month, paid_up) + 1
            monthly = (base * rate).quantize(YUAN, rounding=ROUND_HALF_UP) * 2
            balance = (
                Decimal("0")
                if status == AccountStatus.closed
                else monthly * min(months, rng.randint(3, 60)) + Decimal(rng.randint(0, 99)) / 100
            )
            account = self.account(
                depositor,
                employer,
                account_number=self.account_number(),
                card_number=self.card_number() if rng.random() < 0.85 else None,
                status=status,
                opened_on=opened_on,
                paid_up_month=paid_up,
                base=base,
                rate=rate,
                balance=balance,
                password_hash=hash_password(self.password(), strength="light"),
            )
            people.append(account)
        self.session.flush()
        self.report.depositors += len(people)
        self.report.accounts += len(people)

        for account in people:
            if account.status != AccountStatus.closed:
                self.contributions(account)
            roll = rng.random()
            has_loan = False
            if roll < 0.36 and account.status != AccountStatus.closed:
                has_loan = True
                term = rng.choice((120, 180, 240, 300, 360))
                earliest = max(account.opened_on, date(2012, 1, 1)) + timedelta(days=200)
                latest = self.ref - timedelta(days=150)
                if earliest >= latest:
                    earliest = latest - timedelta(days=400)
                start = earliest + timedelta(days=rng.randint(0, (latest - earliest).days))
                start = start.replace(day=min(start.day, 28))
                self.loan(
                    account,
                    principal=Decimal(rng.randint(15, 90) * 10000),
                    term_months=term,
                    start=start,
                    overdue_periods=rng.randint(1, 4) if roll >= 0.30 else 0,
                )
            elif roll < 0.64:
                term = rng.choice((60, 84, 120))
                latest = add_months(self.ref, -term - 2)
                earliest = account.opened_on + timedelta(days=180)
                if earliest < latest:
                    start = earliest + timedelta(days=rng.randint(0, (latest - earliest).days))
                    self.loan(
                        account,
                        principal=Decimal(rng.randint(5, 40) * 10000),
                        term_months=term,
                        start=start.replace(day=min(start.day, 28)),
                    )
            if has_loan and rng.random() < 0.4:
                signed = account.opened_on + timedelta(days=rng.randint(200, 2000))
                signed = min(signed, self.ref - timedelta(days=30))
                self.agreement(account, kind=MortgageKind.provident, signed_on=signed,
                               active=rng.random() < 0.92)
            elif not has_loan and account.status == AccountStatus.normal and rng.random() < 0.12:
                signed = self.ref - timedelta(days=rng.randint(60, 2500))
                self.agreement(account, kind=MortgageKind.commercial, signed_on=signed,
                               active=rng.random() < 0.9)
            if account.balance > 0 and rng.random() < 0.35:
                self._crowd_withdrawals(account, has_loan)

    def _crowd_withdrawals(self, account: FundAccount, has_loan: bool) -> None:
        rng = self.rng
        kinds = [WithdrawalKind.rent, WithdrawalKind.purchase, WithdrawalKind.illness,
                 WithdrawalKind.other]
        if has_loan:
            kinds.append(WithdrawalKind.repay_loan)
        if account.status == AccountStatus.sealed:
            kinds.append(WithdrawalKind.retirement)
        for index in range(rng.randint(1, 3)):
            latest = index == 0
            if latest and rng.random() < 0.35:
                status = rng.choice((WithdrawalStatus.submitted, WithdrawalStatus.reviewing,
                                     WithdrawalStatus.approved))
                applied_on = self.ref - timedelta(days=rng.randint(1, 12))
            else:
                status = WithdrawalStatus.rejected if rng.random() < 0.12 else WithdrawalStatus.paid
                applied_on = self.ref - timedelta(days=rng.randint(20, 1100))
            amount = min(account.balance, Decimal(rng.randint(10, 300) * 100))
            self.withdrawal(account, kind=rng.choice(kinds), amount=amount, status=status,
                            applied_on=applied_on)

    def flush_bulk_rows(self) -> None:
        if self.installment_rows:
            self.session.execute(insert(LoanInstallment), self.installment_rows)
        if self.contribution_rows:
            self.session.execute(insert(ContributionRecord), self.contribution_rows)
        self.report.contributions += len(self.contribution_rows)
        self.installment_rows, self.contribution_rows = [], []
        self.session.flush()


# ------------------------------------------------------------------ entry points


def demo_data_present(session: Session) -> bool:
    """True when the first demo identity is already in the database."""
    first = DEMO_IDENTITIES[0].id_number
    return session.scalar(select(Depositor.id).where(Depositor.id_number == first)) is not None


def reset(session: Session) -> None:
    """Delete every row of every records table (children first)."""
    for table in reversed(metadata.sorted_tables):
        session.execute(delete(table))
    session.flush()


def seed(
    session: Session,
    *,
    count: int = DEFAULT_COUNT,
    reset_first: bool = False,
    reference_date: date = REFERENCE_DATE,
) -> SeedReport:
    """Fill the records with ``count`` synthetic depositors (demo identities included)."""
    if count < MIN_COUNT:
        raise ValueError(f"count must be at least {MIN_COUNT}")
    started = time.perf_counter()
    if reset_first:
        reset(session)
    elif demo_data_present(session):
        return SeedReport(skipped=True, seconds=time.perf_counter() - started)
    generator = _Generator(session, count, reference_date)
    demo_employer, employers = generator.employers()
    generator.demo_people(demo_employer)
    generator.crowd(employers)
    generator.flush_bulk_rows()
    generator.report.seconds = time.perf_counter() - started
    return generator.report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.records.seed", description="Load synthetic demo records."
    )
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT,
                        help="synthetic depositors, demo identities included "
                        f"(default {DEFAULT_COUNT})")
    parser.add_argument("--reset", action="store_true", help="delete all records rows first")
    parser.add_argument("--url", help="database URL (default: DATABASE_URL)")
    parser.add_argument("--no-migrate", action="store_true",
                        help="do not apply migrations before seeding")
    parser.add_argument("--reference-date", type=date.fromisoformat, default=REFERENCE_DATE,
                        help=f"date the data is 'as of' (default {REFERENCE_DATE.isoformat()})")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    # Checked before the settings are loaded: demo data must never reach a
    # production database, whatever else is (or is not yet) configured.
    if os.environ.get("HOTLINE_ENV", "").strip() == "production":
        print("refusing to seed demo data: HOTLINE_ENV is production", file=sys.stderr)
        return 2
    settings = load_settings()
    if args.count < MIN_COUNT:
        parser.error(f"--count must be at least {MIN_COUNT}")
    url = args.url or settings.database_url
    if not args.no_migrate:
        upgrade(url)
    with session_scope(url) as session:
        report = seed(session, count=args.count, reset_first=args.reset,
                      reference_date=args.reference_date)
    if report.skipped:
        print("demo data already present; nothing done (use --reset to reload)")
        return 0
    print(
        f"seeded {report.depositors} depositors, {report.accounts} accounts, "
        f"{report.loans} loans ({report.installments} instalments), "
        f"{report.contributions} contributions, {report.withdrawals} withdrawals, "
        f"{report.agreements} entrusted agreements in {report.seconds:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
