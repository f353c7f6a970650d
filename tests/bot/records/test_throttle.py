"""The soft per-source throttle: slowed, then stopped, long before an account locks."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.records import verification
from bot.records.account_models import AuthFailure, AuthSourceEvent
from bot.records.db import make_engine
from bot.records.throttle import address_source, call_sources, web_sources
from bot.records.verification import VerifyResult, verify_identity
from bot.settings import Settings, SettingsError, load_settings
from tests.bot.records.conftest import ACCOUNT, PASSWORD, add_account

WRONG = "000000"
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)
SETTINGS = Settings(secret_key="test-secret")  # the defaults: slow after 2, stop after 3
ATTACKER = web_sources("203.0.113.7", "conv-attacker")
OTHERS = ["102030405061", "102030405062", "102030405063", "102030405064"]


def attempt(session: Session, identifier: str, password: str, at: datetime,
            sources=ATTACKER) -> VerifyResult:  # type: ignore[no-untyped-def]
    return verify_identity(session, identifier, password, channel="webchat",
                           conversation_id="conv-attacker", settings=SETTINGS, now=at,
                           sources=sources)


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every argon2 check verification runs (the real functions, counted)."""
    seen: list[str] = []
    real_verify, real_burn = verification.verify_password, verification.burn_verification_time

    def counted_verify(password_hash: str, password: object) -> bool:
        seen.append("verify")
        return real_verify(password_hash, password)

    def counted_burn(password: object) -> None:
        seen.append("burn")
        real_burn(password)

    monkeypatch.setattr(verification, "verify_password", counted_verify)
    monkeypatch.setattr(verification, "burn_verification_time", counted_burn)
    return seen


def test_sources_are_the_address_or_its_64_network_and_the_session() -> None:
    assert address_source("203.0.113.7").kind == "address"
    one, two = address_source("2001:db8:1:2::7"), address_source("2001:db8:1:2:ffff::1")
    assert one == two and one.kind == "network"
    assert address_source("2001:db8:1:3::7") != one
    assert address_source("::ffff:203.0.113.7") == address_source("203.0.113.7")
    assert [s.kind for s in web_sources("203.0.113.7", "c")] == ["address", "session"]
    assert call_sources("+86 138 0000 1234", "CA1")[0] == call_sources("13800001234", "CA2")[0]
    assert call_sources(None, "CA1")[0] == call_sources("", "CA2")[0]  # hidden numbers share
    assert "203.0.113.7" not in repr(address_source("203.0.113.7"))


def test_three_accounts_stop_a_source_without_argon2_or_counting(
    db_session: Session, quick_hasher: None, checks: list[str]
) -> None:
    for index, number in enumerate(OTHERS[:3]):
        # Slowed after two failures: the third waits the five minutes.
        assert attempt(db_session, number, WRONG, NOW + timedelta(minutes=6 * index)).reason \
            == "mismatch"
    assert len(checks) == 3
    result = attempt(db_session, OTHERS[3], WRONG, NOW + timedelta(minutes=20))
    assert (result.reason, result.ok) == ("throttled", False)
    # Stopped until the oldest failure leaves the 24-hour window (two are not a stop).
    assert result.retry_after_seconds == (timedelta(hours=24, minutes=-20)).total_seconds()
    assert len(checks) == 3
    assert db_session.scalar(select(func.count(AuthFailure.id))) == 3
    # A new chat session from the same address is stopped too; another address is not.
    new_session = web_sources("203.0.113.7", "conv-new")
    assert attempt(db_session, OTHERS[3], WRONG, NOW + timedelta(hours=1),
                   sources=new_session).reason == "throttled"
    assert attempt(db_session, OTHERS[3], WRONG, NOW + timedelta(hours=1),
                   sources=web_sources("198.51.100.9", "conv-other")).reason == "mismatch"


def test_slowed_after_two_failures_then_free_again(
    db_session: Session, quick_hasher: None
) -> None:
    add_account(db_session)
    assert attempt(db_session, ACCOUNT, WRONG, NOW).reason == "mismatch"
    assert attempt(db_session, ACCOUNT, WRONG, NOW + timedelta(minutes=1)).reason == "mismatch"
    slowed = attempt(db_session, ACCOUNT, PASSWORD, NOW + timedelta(minutes=2))
    assert (slowed.reason, slowed.retry_after_seconds) == ("throttled", 4 * 60)
    # The owner, after the wait: the right password still works, and clears the source.
    assert attempt(db_session, ACCOUNT, PASSWORD, NOW + timedelta(minutes=6)).ok
    assert attempt(db_session, ACCOUNT, WRONG, NOW + timedelta(minutes=7)).reason == "mismatch"


def test_a_source_never_locks_an_account_it_does_not_own(
    db_session: Session, quick_hasher: None
) -> None:
    account = add_account(db_session)
    at, outcomes = NOW, []
    while at < NOW + timedelta(days=3):  # an attempt every 10 minutes for three days
        outcomes.append(attempt(db_session, ACCOUNT, WRONG, at).reason)
        at += timedelta(minutes=10)
    assert "locked" not in outcomes
    times = db_session.scalars(select(AuthFailure.at).where(
        AuthFailure.account_id == account.id).order_by(AuthFailure.at)).all()
    for index, first in enumerate(times):
        within = [t for t in times[index:] if t - first < timedelta(hours=24)]
        assert len(within) <= 3
    # The owner, from their own phone, is not locked out.
    own = call_sources("13800001234", "CA-owner")
    assert attempt(db_session, ACCOUNT, PASSWORD, at, sources=own).ok


def test_the_throttle_is_shared_by_every_gateway_process(db_url: str, quick_hasher: None) -> None:
    first, second = make_engine(db_url), make_engine(db_url)
    try:
        for minute, number in enumerate(OTHERS[:3]):
            with Session(first) as session:
                attempt(session, number, WRONG, NOW + timedelta(minutes=6 * minute))
                session.commit()
        with Session(second) as session:
            assert attempt(session, OTHERS[3], WRONG, NOW + timedelta(minutes=30)).reason \
                == "throttled"
    finally:
        first.dispose()
        second.dispose()


def test_source_events_hold_only_keyed_hashes(db_session: Session, quick_hasher: None) -> None:
    attempt(db_session, OTHERS[0], WRONG, NOW, sources=call_sources("13800001234", "CA77"))
    attempt(db_session, OTHERS[1], WRONG, NOW, sources=web_sources("203.0.113.7", "conv-x"))
    rows = db_session.scalars(select(AuthSourceEvent)).all()
    assert sorted(r.source_kind for r in rows) == ["address", "phone", "session", "session"]
    stored = " ".join(f"{r.source_hash} {r.target_key}" for r in rows)
    for raw in ("13800001234", "CA77", "203.0.113.7", "conv-x", OTHERS[0], OTHERS[1]):
        assert raw not in stored


def test_settings_keep_the_stop_below_the_lock() -> None:
    loaded = load_settings({"AUTH_SOURCE_SLOW_AFTER": "1", "AUTH_SOURCE_SLOW_MINUTES": "10",
                            "AUTH_SOURCE_STOP_AFTER": "4", "AUTH_SOURCE_STOP_ACCOUNTS": "2",
                            "AUTH_SOURCE_WINDOW_HOURS": "48", "AUTH_SPIKE_FAILURES": "20",
                            "AUTH_SPIKE_WINDOW_MINUTES": "5"})
    assert (loaded.auth_source_slow_after, loaded.auth_source_slow_minutes,
            loaded.auth_source_stop_after, loaded.auth_source_stop_accounts,
            loaded.auth_source_window_hours, loaded.auth_spike_failures,
            loaded.auth_spike_window_minutes) == (1, 10, 4, 2, 48, 20, 5)
    with pytest.raises(SettingsError, match="AUTH_SOURCE_STOP_AFTER"):
        load_settings({"AUTH_SOURCE_STOP_AFTER": "5"})
    with pytest.raises(SettingsError, match="AUTH_SOURCE_STOP_AFTER"):
        Settings(auth_source_stop_after=5).validate()
    with pytest.raises(SettingsError, match="AUTH_SOURCE_WINDOW_HOURS"):
        Settings(auth_source_window_hours=12).validate()
