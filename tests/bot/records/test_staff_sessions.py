"""Desk log-in and staff sessions: throttle, lock-out window, rehash at log-in, session lifetime."""
from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.records.clock import utc_now
from bot.records.staff_models import StaffLoginFailure, StaffSession, StaffUser
from bot.records.staff_sessions import (
    IP_FAILURE_LIMIT,
    LoginResult,
    authenticate_staff,
    resolve_staff_session,
    start_staff_session,
)
from tests.bot.records.conftest import GOOD, add_staff

SECRET = "unit-secret"


def _login(session: Session, password: str = GOOD, username: str = "lihua",
           addr: str = "10.0.0.1", now=None) -> LoginResult:  # type: ignore[no-untyped-def]
    result = authenticate_staff(session, username=username, password=password,
                                remote_addr=addr, secret_key=SECRET, now=now)
    session.commit()
    return result


def test_address_throttle_stops_even_the_right_password(db_session: Session,
                                                       quick_hasher) -> None:
    add_staff(db_session)
    for index in range(IP_FAILURE_LIMIT):
        _login(db_session, username=f"guess{index}", password="nope-nope-nope")
    assert _login(db_session).outcome == "throttled"
    assert _login(db_session, addr="10.0.0.2").outcome == "ok"


def test_a_light_hash_is_upgraded_at_login(db_session: Session) -> None:
    staff = add_staff(db_session)
    staff.password_hash = PasswordHasher(time_cost=1, memory_cost=8192,
                                         parallelism=1).hash(GOOD)
    db_session.commit()
    assert _login(db_session).ok
    assert db_session.get(StaffUser, staff.id).password_hash.startswith(
        "$argon2id$v=19$m=65536,t=3,p=4$")


def test_lock_uses_the_configured_window(db_session: Session, quick_hasher) -> None:
    add_staff(db_session)
    now = utc_now()
    for _ in range(4):
        assert _login(db_session, "wrong-password-1", now=now).outcome == "invalid"
    locked = _login(db_session, "wrong-password-1", now=now)
    assert locked.outcome == "locked"
    assert locked.locked_until == now + timedelta(minutes=15)
    assert _login(db_session, now=now + timedelta(minutes=14)).outcome == "locked"
    assert _login(db_session, now=now + timedelta(minutes=16)).outcome == "ok"
    reasons = list(db_session.scalars(select(StaffLoginFailure.reason)))
    assert reasons == ["wrong_password"] * 5 + ["locked"]


@pytest.mark.parametrize("token", [None, "", "x" * 300, 12345, "not-a-session"])
def test_unknown_session_tokens(db_session: Session, token) -> None:
    check = resolve_staff_session(db_session, token, idle_minutes=30)
    assert check.staff is None and check.problem == "missing"


def test_session_lifecycle(db_session: Session, quick_hasher) -> None:
    staff = add_staff(db_session)
    now = utc_now()
    token = start_staff_session(db_session, staff, remote_addr="10.0.0.1", now=now)
    db_session.commit()
    assert resolve_staff_session(db_session, token, idle_minutes=30,
                                 now=now + timedelta(minutes=29)).staff is not None
    assert resolve_staff_session(db_session, token, idle_minutes=30,
                                 now=now + timedelta(minutes=58)).staff is not None
    assert resolve_staff_session(db_session, token, idle_minutes=30,
                                 now=now + timedelta(minutes=90)).problem == "expired"
    assert resolve_staff_session(db_session, token, idle_minutes=30,
                                 now=now + timedelta(minutes=91)).problem == "revoked"
    assert token not in {row.token_hash for row in db_session.scalars(select(StaffSession))}


def test_unknown_names_lock_without_a_time(db_session: Session, quick_hasher) -> None:
    add_staff(db_session)
    outcomes = [_login(db_session, username="ghost") for _ in range(5)]
    assert [result.outcome for result in outcomes] == ["invalid"] * 4 + ["locked"]
    assert all(result.locked_until is None for result in outcomes)


def test_unknown_names_take_as_long_as_wrong_passwords(db_session: Session) -> None:
    """At the production argon2 cost, measured: the medians are within a factor of two."""
    import statistics
    import time

    add_staff(db_session)
    _login(db_session, username="warm-up")  # the dummy hash is made once per process

    def median_seconds(username: str) -> float:
        times = []
        for index in range(3):
            started = time.perf_counter()
            _login(db_session, "wrong-password-1", username=username, addr=f"10.1.0.{index}")
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    known, unknown = median_seconds("lihua"), median_seconds("ghost")
    assert 0.5 < unknown / known < 2, (known, unknown)
