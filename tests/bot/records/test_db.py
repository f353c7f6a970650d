from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.records.account_models import AccountStatus, Depositor, FundAccount
from bot.records.base import Channel
from bot.records.coltypes import to_money
from bot.records.db import get_sessionmaker, make_engine, normalize_url, session_scope
from bot.records.service_models import Rating
from tests.bot.records.conftest import assert_parameters_hidden

PROJECT_ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    "url, driver",
    [
        ("postgresql://u@h/db", "postgresql+psycopg"),
        ("postgres://u@h/db", "postgresql+psycopg"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg"),
        ("sqlite:///var/hotline.db", "sqlite"),
    ],
)
def test_normalize_url(url: str, driver: str) -> None:
    assert normalize_url(url).drivername == driver


def test_normalize_url_rejects_other_databases() -> None:
    with pytest.raises(ValueError, match="DATABASE_URL"):
        normalize_url("mysql://u@h/db")


def test_importing_the_package_connects_nowhere(tmp_path: Path) -> None:
    target = tmp_path / "never" / "created.db"
    code = (  # every module of the package
        "import importlib, pkgutil, bot.records\n"
        "for module in pkgutil.iter_modules(bot.records.__path__):\n"
        "    if not module.ispkg:\n"
        "        importlib.import_module('bot.records.' + module.name)\n"
        "assert 'bot.records.seed' in __import__('sys').modules"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env={"DATABASE_URL": f"sqlite:///{target}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert not target.parent.exists()


def test_sqlite_creates_parent_dir_and_enables_fk_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "var" / "sub" / "records.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert path.exists()
    finally:
        engine.dispose()


def _depositor(session: Session, id_number: str = "510104198503150017") -> Depositor:
    depositor = Depositor(name="测试", id_number=id_number, phone=None, synthetic=True)
    session.add(depositor)
    session.flush()
    return depositor


def _account(session: Session, depositor: Depositor, balance: Decimal) -> FundAccount:
    account = FundAccount(
        account_number="102030405060",
        depositor=depositor,
        status=AccountStatus.normal,
        balance=balance,
        monthly_deposit=Decimal("2076.00"),
        base=Decimal("8650.00"),
        employee_rate=Decimal("0.12"),
        employer_rate=Decimal("0.12"),
        paid_up_month=date(2026, 10, 1),
        opened_on=date(2012, 7, 16),
        query_password_hash="x",
    )
    session.add(account)
    session.flush()
    return account


def test_foreign_keys_are_enforced(db_session: Session) -> None:
    db_session.add(
        FundAccount(
            account_number="102030405060",
            depositor_id=999_999,
            status=AccountStatus.normal,
            balance=Decimal("0"),
            monthly_deposit=Decimal("0"),
            base=Decimal("0"),
            employee_rate=Decimal("0.05"),
            employer_rate=Decimal("0.05"),
            opened_on=date(2020, 1, 1),
            query_password_hash="x",
        )
    )
    with pytest.raises(IntegrityError):
        db_session.flush()


@pytest.mark.parametrize(
    "amount",
    ["123456789012.34", "0.01", "0.10", "999999999999.99", "56789.12", "1e3"],
)
def test_money_round_trips_as_decimal(db_url: str, amount: str) -> None:
    maker = get_sessionmaker(db_url)
    with session_scope(db_url) as session:
        account_id = _account(session, _depositor(session), Decimal(amount)).id
    session = maker()
    try:
        balance = session.scalar(select(FundAccount.balance).where(FundAccount.id == account_id))
        rate = session.scalar(select(FundAccount.employee_rate).where(FundAccount.id == account_id))
    finally:
        session.close()
    assert isinstance(balance, Decimal)
    assert balance == to_money(Decimal(amount))
    assert str(balance) == str(to_money(Decimal(amount)))
    assert rate == Decimal("0.12000")


def test_money_refuses_floats(db_session: Session) -> None:
    depositor = _depositor(db_session)
    with pytest.raises(Exception) as excinfo:
        _account(db_session, depositor, 12.5)  # type: ignore[arg-type]
    assert "float" in str(excinfo.value)


def test_aware_datetimes_round_trip(db_url: str) -> None:
    shanghai = timezone(timedelta(hours=8))
    moment = datetime(2026, 11, 28, 1, 30, 15, 123456, tzinfo=shanghai)
    with session_scope(db_url) as session:
        session.add(Rating(conversation_id="c1", channel=Channel.voice, score=5, created_at=moment))
    with session_scope(db_url) as session:
        stored = session.scalar(select(Rating.created_at))
    assert stored is not None
    assert stored.tzinfo is not None
    assert stored.utcoffset() == timedelta(0)
    assert stored == moment
    assert stored == datetime(2026, 11, 27, 17, 30, 15, 123456, tzinfo=timezone.utc)


def test_sqlite_stores_utc_text(tmp_path: Path) -> None:
    from bot.records.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'utc.db'}"
    upgrade(url)
    moment = datetime(2026, 11, 28, 1, 30, tzinfo=timezone(timedelta(hours=8)))
    with session_scope(url) as session:
        session.add(Rating(conversation_id="c1", channel="webchat", score=4, created_at=moment))
    with session_scope(url) as session:
        raw = session.execute(text("SELECT created_at FROM ratings")).scalar()
    assert str(raw).startswith("2026-11-27 17:30:00")


def test_naive_datetimes_are_refused(db_session: Session) -> None:
    db_session.add(
        Rating(conversation_id="c1", channel=Channel.voice, score=3,
               created_at=datetime(2026, 1, 1))
    )
    with pytest.raises(Exception) as excinfo:
        db_session.flush()
    assert "naive" in str(excinfo.value)


def test_session_scope_commits_and_rolls_back(db_url: str) -> None:
    with session_scope(db_url) as session:
        session.add(Rating(conversation_id="kept", channel=Channel.voice, score=5,
                           created_at=datetime.now(timezone.utc)))
    with pytest.raises(RuntimeError):
        with session_scope(db_url) as session:
            session.add(Rating(conversation_id="lost", channel=Channel.voice, score=1,
                               created_at=datetime.now(timezone.utc)))
            session.flush()
            raise RuntimeError("boom")
    with session_scope(db_url) as session:
        kept = session.scalars(select(Rating.conversation_id)).all()
    assert kept == ["kept"]


def test_savepoint_rollback_keeps_the_outer_transaction(db_session: Session) -> None:
    _depositor(db_session, "510105199007080022")
    with pytest.raises(IntegrityError):
        with db_session.begin_nested():
            _depositor(db_session, "510105199007080022")
    _depositor(db_session, "510106197802220036")
    db_session.commit()
    assert len(db_session.scalars(select(Depositor)).all()) == 2


def test_sessionmaker_is_cached_per_url(db_url: str) -> None:
    assert get_sessionmaker(db_url) is get_sessionmaker(db_url)


def test_sql_errors_and_the_sql_log_hide_parameters(db_url: str,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    engine = make_engine(db_url)
    try:
        assert_parameters_hidden(engine, caplog)
    finally:
        engine.dispose()
