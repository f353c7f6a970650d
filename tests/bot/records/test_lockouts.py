"""Account lock-outs: atomic on PostgreSQL, the desk's list and unlock, the SMS, spikes."""
from __future__ import annotations

import logging
import threading
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.records.account_models import AuthFailure
from bot.records.db import make_engine
from bot.records.errors import DeskPermissionError
from bot.records.lockouts import failure_spike, locked_accounts, unlock_account
from bot.records.staff_models import DeskAuditEvent, StaffRole
from bot.records.throttle import web_sources
from bot.records.verification import VerifyResult, verify_identity
from bot.settings import Settings
from tests.bot.records.conftest import ACCOUNT, PASSWORD, add_account, add_staff

WRONG = "000000"
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)
SETTINGS = Settings(auth_max_failures=5, auth_failure_window_hours=24, secret_key="test-secret",
                    auth_spike_failures=3, auth_spike_window_minutes=15)


def verify(session: Session, password: str, *, at: datetime = NOW,
           identifier: str = ACCOUNT, sources=()) -> VerifyResult:  # type: ignore[no-untyped-def]
    return verify_identity(session, identifier, password, channel="webchat", conversation_id="c-1",
                           settings=SETTINGS, now=at, sources=sources)


# ------------------------------------------------------------ atomic lock-out


def _race(pg_url: str, passwords: list[str]) -> list[str]:
    """Every password in its own thread and session, released together by a barrier."""
    engine = make_engine(pg_url, pool_size=len(passwords) + 2)
    barrier = threading.Barrier(len(passwords))
    reasons: list[str] = [""] * len(passwords)

    def attempt(index: int) -> None:
        with Session(engine) as session:
            barrier.wait()
            result = verify(session, passwords[index])
            session.commit()
            reasons[index] = "ok" if result.ok else str(result.reason)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(passwords))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    engine.dispose()
    return reasons


@pytest.mark.parametrize("parallel", [10, 20])
def test_parallel_wrong_passwords_on_postgresql_stop_at_the_limit(
    pg_url: str, parallel: int
) -> None:
    engine = make_engine(pg_url)
    with Session(engine) as session:
        add_account(session, strength="full")
    engine.dispose()
    reasons = _race(pg_url, [WRONG] * parallel)
    assert reasons.count("mismatch") == 5
    assert reasons.count("locked") == parallel - 5
    # The right password now, and during a race, is locked too.
    reasons = _race(pg_url, [PASSWORD] + [WRONG] * 3)
    assert reasons == ["locked"] * 4


# -------------------------------------------------------------- desk, unlock


def _lock(session: Session, *, sources=()) -> None:  # type: ignore[no-untyped-def]
    for minute in range(5):
        assert verify(session, WRONG, at=NOW + timedelta(minutes=minute),
                      sources=sources).reason == "mismatch"


def test_locked_accounts_say_why_without_identifiers(
    db_session: Session, quick_hasher: None
) -> None:
    account = add_account(db_session)
    other = add_account(db_session, account_number="102030405099", id_number="11010519491231002X")
    settings = SETTINGS
    _lock(db_session)
    verify(db_session, WRONG, identifier="102030405099")
    [locked] = locked_accounts(db_session, settings, NOW + timedelta(minutes=10))
    assert locked.account_id == account.id and locked.account_id != other.id
    assert locked.masked_account == "1020****5060"
    assert (locked.failures, locked.since, locked.last_at) == (
        5, NOW, NOW + timedelta(minutes=4))
    assert locked.locked_until == NOW + timedelta(hours=24)
    assert locked.channels == ("webchat",)
    assert locked_accounts(db_session, settings, NOW + timedelta(hours=24, minutes=1)) == []


def test_failures_record_the_source_kind_and_only_a_hash(
    db_session: Session, quick_hasher: None
) -> None:
    add_account(db_session)
    big = replace(SETTINGS, auth_source_stop_after=4, auth_source_stop_accounts=4,
                  auth_source_slow_after=4)
    for minute in range(4):
        verify_identity(db_session, ACCOUNT, WRONG, channel="webchat", conversation_id="c-1",
                        settings=big, now=NOW + timedelta(minutes=minute),
                        sources=web_sources("2001:db8:1:2::7", "conv-abc"))
    failure = db_session.scalars(select(AuthFailure)).first()
    assert failure is not None and failure.source_kind == "network"
    assert failure.source_hash and len(failure.source_hash) == 64
    assert "2001" not in failure.source_hash


def test_only_a_supervisor_unlocks_and_it_is_audited(
    db_session: Session, quick_hasher: None
) -> None:
    account = add_account(db_session)
    agent = add_staff(db_session, "lihua", StaffRole.agent)
    supervisor = add_staff(db_session, "wangfang", StaffRole.supervisor)
    _lock(db_session)
    assert verify(db_session, PASSWORD, at=NOW + timedelta(minutes=6)).reason == "locked"
    with pytest.raises(DeskPermissionError):
        unlock_account(db_session, agent, account.id, now=NOW + timedelta(minutes=7))
    assert unlock_account(db_session, supervisor, account.id, now=NOW + timedelta(minutes=7)) == 6
    assert locked_accounts(db_session, SETTINGS, NOW + timedelta(minutes=8)) == []
    assert verify(db_session, PASSWORD, at=NOW + timedelta(minutes=8)).ok
    event = db_session.scalars(select(DeskAuditEvent).where(
        DeskAuditEvent.action == "account_unlocked")).one()
    assert (event.actor, event.target_id) == ("wangfang", str(account.id))
    assert ACCOUNT not in (event.detail or "")


# ------------------------------------------------------------- the lock itself


def test_only_the_attempt_that_locks_names_the_account_for_the_sms(
    db_session: Session, quick_hasher: None
) -> None:
    account = add_account(db_session)
    results = [verify(db_session, WRONG, at=NOW + timedelta(minutes=m)) for m in range(8)]
    assert [r.locked_account_id for r in results] == [None] * 4 + [account.id] + [None] * 3
    assert str(account.id) not in repr(results[4]).replace("remaining_attempts=0", "")
    # Locked again after the window: a second lock, named again.
    later = NOW + timedelta(days=2)
    again = [verify(db_session, WRONG, at=later + timedelta(minutes=m)) for m in range(5)]
    assert again[-1].locked_account_id == account.id


# --------------------------------------------------------------------- spike


def test_failures_across_accounts_spike_is_logged_without_personal_data(
    db_session: Session, quick_hasher: None, caplog: pytest.LogCaptureFixture
) -> None:
    add_account(db_session)
    with caplog.at_level(logging.WARNING, logger="bot.records.lockouts"):
        for index in range(4):
            verify(db_session, WRONG, identifier=f"1020304050{index:02d}",
                   at=NOW + timedelta(minutes=index))
    spike = failure_spike(db_session, SETTINGS, NOW + timedelta(minutes=4))
    assert (spike.failures, spike.alarming) == (4, True)
    warnings = [r.getMessage() for r in caplog.records if "spike" in r.getMessage()]
    assert len(warnings) == 1 and "4 failed verifications" in warnings[0]
    assert "102030" not in warnings[0]
    assert not failure_spike(db_session, SETTINGS, NOW + timedelta(minutes=30)).alarming
