"""Supervisors' TOTP codes: the window, sealing, one use per code (also in parallel), reset."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pyotp
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.records.db import make_engine
from bot.records.errors import DeskConflictError
from bot.records.second_factor import (
    check_code,
    matching_step,
    new_secret,
    normalize_code,
    open_secret,
    seal_secret,
)
from bot.records.staff import reset_second_factor
from bot.records.staff_models import DeskAuditEvent, StaffRole, StaffSession, StaffUser
from bot.records.staff_sessions import authenticate_staff, start_staff_session
from tests.bot.records.conftest import GOOD, add_staff

KEY = "unit-secret-key-for-sealing-totp-keys"
NOW = datetime(2026, 12, 7, 3, 0, 10, tzinfo=timezone.utc)


def _enrol(session: Session, staff: StaffUser, secret: str, now: datetime = NOW) -> None:
    code = pyotp.TOTP(secret).at(now)
    result = check_code(session, staff_id=staff.id, code=code, secret_key=KEY,
                        remote_addr="10.0.0.1", enrolling=secret, now=now)
    session.commit()
    assert result.ok


def _check(session: Session, staff: StaffUser, code: str, now: datetime = NOW):  # type: ignore[no-untyped-def]
    result = check_code(session, staff_id=staff.id, code=code, secret_key=KEY,
                        remote_addr="10.0.0.1", now=now)
    session.commit()
    return result


@pytest.mark.parametrize(("offset", "accepted"),
                         [(-60, False), (-30, True), (0, True), (30, True), (60, False)])
def test_a_code_is_good_in_its_step_and_one_either_side(offset: int, accepted: bool) -> None:
    secret = new_secret()
    code = pyotp.TOTP(secret).at(NOW + timedelta(seconds=offset))
    assert (matching_step(secret, code, NOW) is not None) is accepted


@pytest.mark.parametrize(("typed", "code"), [("123456", "123456"), (" 123 456 ", "123456"),
                                             ("123-456", "123456"), ("12345", None),
                                             ("１２３４５６", None), (None, None), ("1" * 100, None)])
def test_typed_codes(typed: object, code: str | None) -> None:
    assert normalize_code(typed) == code


def test_sealed_keys_open_only_for_their_owner_and_key() -> None:
    secret = new_secret()
    sealed = seal_secret(secret, 7, KEY)
    assert secret not in sealed
    assert open_secret(sealed, 7, KEY) == secret
    assert open_secret(sealed, 8, KEY) is None
    assert open_secret(sealed, 7, KEY + "-rotated") is None
    assert open_secret(sealed, 7, KEY, pending=True) is None
    assert open_secret(seal_secret(secret, 7, KEY, pending=True), 7, KEY, pending=True) == secret
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    assert open_secret(tampered, 7, KEY) is None
    assert open_secret("", 7, KEY) is None and open_secret(None, 7, KEY) is None


def test_enrolment_keeps_the_key_sealed_and_is_audited(db_session: Session, quick_hasher) -> None:
    staff = add_staff(db_session, "wangfang", StaffRole.supervisor)
    secret = new_secret()
    _enrol(db_session, staff, secret)
    db_session.refresh(staff)
    assert staff.has_second_factor and staff.totp_enrolled_at == NOW
    assert open_secret(staff.totp_secret, staff.id, KEY) == secret
    assert staff.totp_last_step == pyotp.TOTP(secret).timecode(NOW)
    event = db_session.scalar(select(DeskAuditEvent).where(
        DeskAuditEvent.action == "staff_totp_enrolled"))
    assert (event.actor, event.target_id) == ("wangfang", "wangfang")


def test_the_right_password_of_a_supervisor_is_only_half_a_log_in(db_session: Session,
                                                                   quick_hasher) -> None:
    staff = add_staff(db_session, "wangfang", StaffRole.supervisor)
    staff.failed_logins = 3
    db_session.commit()
    result = authenticate_staff(db_session, username="wangfang", password=GOOD,
                                remote_addr="10.0.0.1", secret_key=KEY, now=NOW)
    db_session.commit()
    assert result.outcome == "second_factor" and not result.ok
    db_session.refresh(staff)
    assert staff.failed_logins == 3 and staff.last_login_at is None


def test_an_unreadable_key_refuses_and_says_why_in_the_log(db_session: Session, quick_hasher,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    staff = add_staff(db_session, "wangfang", StaffRole.supervisor)
    secret = new_secret()
    _enrol(db_session, staff, secret)
    later = NOW + timedelta(minutes=5)
    result = check_code(db_session, staff_id=staff.id, code=pyotp.TOTP(secret).at(later),
                        secret_key=KEY + "-rotated", remote_addr=None, now=later)
    assert result.outcome == "invalid"
    assert "SECRET_KEY changed" in caplog.text and secret not in caplog.text


def test_a_supervisor_resets_another_ending_their_sessions(db_session: Session,
                                                            quick_hasher) -> None:
    boss = add_staff(db_session, "zhangwei", StaffRole.supervisor)
    staff = add_staff(db_session, "wangfang", StaffRole.supervisor)
    _enrol(db_session, staff, new_secret())
    start_staff_session(db_session, staff, remote_addr=None)
    reset_second_factor(db_session, boss, "wangfang")
    db_session.commit()
    db_session.refresh(staff)
    assert not staff.has_second_factor and staff.totp_last_step is None
    assert db_session.scalar(select(StaffSession.revoked)) is True
    with pytest.raises(DeskConflictError):
        reset_second_factor(db_session, boss, "wangfang")  # nothing left to reset
    db_session.rollback()
    with pytest.raises(DeskConflictError):
        reset_second_factor(db_session, boss, "zhangwei")  # not one's own


def test_one_code_sent_in_parallel_opens_one_log_in(pg_url: str, quick_hasher) -> None:
    """Eight browsers send the same right code at once: the row lock lets exactly one in."""
    engine = make_engine(pg_url, pool_size=8)
    secret = new_secret()
    with Session(engine) as session:
        staff = add_staff(session, "wangfang", StaffRole.supervisor)
        _enrol(session, staff, secret)
        staff_id = staff.id
    later = NOW + timedelta(seconds=30)
    code = pyotp.TOTP(secret).at(later)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def send() -> None:
        try:
            barrier.wait(10)
            with Session(engine) as session:
                result = check_code(session, staff_id=staff_id, code=code, secret_key=KEY,
                                    remote_addr="10.0.0.1", now=later)
                session.commit()
            with lock:
                outcomes.append(result.outcome)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    engine.dispose()
    assert not errors, errors
    # Seven reuses count as failures: five lock the account, the last two meet the lock.
    assert sorted(outcomes) == sorted(["ok"] + ["invalid"] * 4 + ["locked"] * 3)
