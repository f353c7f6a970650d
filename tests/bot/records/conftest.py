"""Fixtures of the records tests; the databases (`db_url`, `db_session`) are tests/conftest.py's."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.records import passwords
from bot.records.account_models import AccountStatus, Depositor, FundAccount
from bot.records.staff import create_staff
from bot.records.staff_models import StaffRole, StaffUser

GOOD = "Wenshu-monastery-1"
ACCOUNT = "102030405060"
ID_NUMBER = "510104198503150017"
PASSWORD = "135790"


@pytest.fixture
def quick_hasher(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """argon2id at its lightest cost (still real hashing); the full profile is in test_passwords."""
    monkeypatch.setattr(passwords, "_HASHER", PasswordHasher(time_cost=1, memory_cost=8192,
                                                             parallelism=1))
    passwords._dummy_hash.cache_clear()
    yield
    passwords._dummy_hash.cache_clear()


def add_staff(session: Session, username: str = "lihua",
              role: StaffRole = StaffRole.agent) -> StaffUser:
    """Create a staff member with the password :data:`GOOD` (as the command line) and commit."""
    staff = create_staff(session, None, username=username, display_name="李华", role=role,
                         password=GOOD, must_change_password=False)
    session.commit()
    return staff


SECRET_PARAMETER = "510104198503150017"


def assert_parameters_hidden(engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    """Neither a failed statement's error nor the SQL log shows a statement's parameters."""
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    with engine.connect() as connection:
        connection.execute(text("SELECT :value AS echoed"), {"value": SECRET_PARAMETER})
    with pytest.raises(SQLAlchemyError) as failure:
        with engine.connect() as connection:
            connection.execute(text("SELECT no_such_column FROM no_such_table WHERE 1 = :value"),
                               {"value": SECRET_PARAMETER})
    assert "no_such_table" in str(failure.value)  # the SQL is still shown
    assert SECRET_PARAMETER not in str(failure.value)
    assert "AS echoed" in caplog.text  # the statement is logged, its value is not
    assert SECRET_PARAMETER not in caplog.text


def add_account(session: Session, *, account_number: str = ACCOUNT, id_number: str = ID_NUMBER,
                phone: str | None = "13800001234", strength: str = "light") -> FundAccount:
    """A depositor with one normal account whose query password is :data:`PASSWORD`; commits."""
    depositor = Depositor(name="张明远", id_number=id_number, phone=phone, synthetic=True)
    account = FundAccount(
        account_number=account_number, card_number=None, depositor=depositor,
        status=AccountStatus.normal, balance=Decimal("56789.12"),
        monthly_deposit=Decimal("2076.00"), base=Decimal("8650.00"),
        employee_rate=Decimal("0.12"), employer_rate=Decimal("0.12"),
        paid_up_month=date(2026, 10, 1), opened_on=date(2012, 7, 16),
        query_password_hash=passwords.hash_password(
            PASSWORD, strength=strength  # type: ignore[arg-type]
        ),
    )
    session.add(account)
    session.commit()
    return account
