"""The desk's records functions: password and log-in policy, sessions, figures, migration 0002."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from bot.records import desk_queries as dq
from bot.records import passwords
from bot.records.clock import shanghai_date, utc_now
from bot.records.complaints import create_complaint
from bot.records.db import make_engine
from bot.records.handovers import record_handover
from bot.records.migrate import downgrade, schema_diff, upgrade
from bot.records.ratings import record_rating
from bot.records.service_models import ComplaintStatus
from bot.records.staff_models import StaffLoginFailure, StaffRole, StaffSession, StaffUser

SECRET = "unit-secret"
GOOD = "Wenshu-monastery-1"
DESK_TABLES = {"staff_users", "staff_sessions", "staff_login_failures", "desk_audit_events"}


@pytest.fixture
def quick_hasher(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(passwords, "_HASHER", PasswordHasher(time_cost=1, memory_cost=8192,
                                                             parallelism=1))
    passwords._dummy_hash.cache_clear()
    yield
    passwords._dummy_hash.cache_clear()


def _staff(session: Session, username: str = "lihua",
           role: StaffRole = StaffRole.agent) -> StaffUser:
    staff = dq.create_staff(session, None, username=username, display_name="李华", role=role,
                            password=GOOD, must_change_password=False)
    session.commit()
    return staff


def _login(session: Session, password: str = GOOD, username: str = "lihua",
           addr: str = "10.0.0.1", now=None) -> dq.LoginResult:  # type: ignore[no-untyped-def]
    result = dq.authenticate_staff(session, username=username, password=password,
                                   remote_addr=addr, secret_key=SECRET, now=now)
    session.commit()
    return result


@pytest.mark.parametrize(
    ("password", "problems"),
    [
        (GOOD, []),
        ("", ["password_required"]),
        (None, ["password_required"]),
        ("Abc-12345", ["password_too_short"]),
        ("Tianfu-square-" * 10, ["password_too_long"]),
        ("my-lihua-secret-pw", ["password_contains_username"]),
        ("abababababababab", ["password_too_common"]),
        ("Password1234", ["password_too_common"]),
        ("一二三四五六七八九十百千", []),
    ],
)
def test_password_problems(password, problems: list[str]) -> None:
    assert dq.password_problems(password, "lihua") == problems


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [("lihua", "lihua"), (" LiHua ", "lihua"), ("li.hua_2-x", "li.hua_2-x"), ("ab", None),
     ("2lihua", None), ("li hua", None), ("李华", None), ("x" * 51, None), (None, None),
     ("_me", None), ("lihua\n", "lihua")],
)
def test_normalize_username(raw, normalized) -> None:
    assert dq.normalize_username(raw) == normalized


def test_only_supervisors_create_staff(db_session: Session, quick_hasher) -> None:
    agent = _staff(db_session)
    with pytest.raises(dq.DeskPermissionError):
        dq.create_staff(db_session, agent, username="zhaolei", display_name="赵磊",
                        role="agent", password=GOOD, must_change_password=True)


def test_address_throttle_stops_even_the_right_password(db_session: Session,
                                                       quick_hasher) -> None:
    _staff(db_session)
    for index in range(dq.IP_FAILURE_LIMIT):
        _login(db_session, username=f"guess{index}", password="nope-nope-nope")
    assert _login(db_session).outcome == "throttled"
    assert _login(db_session, addr="10.0.0.2").outcome == "ok"


def test_a_light_hash_is_upgraded_at_login(db_session: Session) -> None:
    staff = _staff(db_session)
    staff.password_hash = PasswordHasher(time_cost=1, memory_cost=8192,
                                         parallelism=1).hash(GOOD)
    db_session.commit()
    assert _login(db_session).ok
    assert db_session.get(StaffUser, staff.id).password_hash.startswith(
        "$argon2id$v=19$m=65536,t=3,p=4$")


def test_lock_uses_the_configured_window(db_session: Session, quick_hasher) -> None:
    _staff(db_session)
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
    check = dq.resolve_staff_session(db_session, token, idle_minutes=30)
    assert check.staff is None and check.problem == "missing"


def test_session_lifecycle(db_session: Session, quick_hasher) -> None:
    staff = _staff(db_session)
    now = utc_now()
    token = dq.start_staff_session(db_session, staff, remote_addr="10.0.0.1", now=now)
    db_session.commit()
    assert dq.resolve_staff_session(db_session, token, idle_minutes=30,
                                    now=now + timedelta(minutes=29)).staff is not None
    assert dq.resolve_staff_session(db_session, token, idle_minutes=30,
                                    now=now + timedelta(minutes=58)).staff is not None
    assert dq.resolve_staff_session(db_session, token, idle_minutes=30,
                                    now=now + timedelta(minutes=90)).problem == "expired"
    assert dq.resolve_staff_session(db_session, token, idle_minutes=30,
                                    now=now + timedelta(minutes=91)).problem == "revoked"
    assert token not in {row.token_hash for row in db_session.scalars(select(StaffSession))}


def test_records_figures_count_a_conversation_once(db_session: Session) -> None:
    now = utc_now()
    record_rating(db_session, conversation_id="c1", channel="voice", score=5, now=now)
    record_handover(db_session, conversation_id="c1", channel="voice",
                            reason="requested", now=now)
    record_rating(db_session, conversation_id="c2", channel="webchat", score=3, now=now)
    db_session.commit()
    today = shanghai_date(now)
    figures = dq.records_figures(db_session, today, today)
    assert figures.conversations_by_day == {today: {"voice": 1, "webchat": 1}}
    assert figures.ratings_average == 4 and figures.ratings_count == 2
    assert figures.ratings_by_score == {5: 1, 4: 0, 3: 1, 2: 0, 1: 0}


def test_complaint_queue_order(db_session: Session, quick_hasher) -> None:
    tickets = []
    for index in range(3):
        complaint, _ = create_complaint(
            db_session, idempotency_key=f"k{index}", category="other", channel="voice",
            description="第几件投诉的内容")
        tickets.append(complaint)
    tickets[0].status = ComplaintStatus.closed
    tickets[1].due_date = tickets[2].due_date + timedelta(days=2)
    db_session.commit()
    rows, total = dq.list_complaints(db_session, dq.ComplaintFilters())
    assert total == 3
    assert [row.ticket_id for row in rows] == [
        tickets[2].ticket_id, tickets[1].ticket_id, tickets[0].ticket_id]


def test_migration_0002_adds_and_removes_only_the_desk_tables(empty_db_url: str) -> None:
    upgrade(empty_db_url, "0001")
    engine = make_engine(empty_db_url)
    try:
        before = set(inspect(engine).get_table_names())
        upgrade(empty_db_url, "0002")
        assert set(inspect(engine).get_table_names()) - before == DESK_TABLES
        downgrade(empty_db_url, "0001")
        assert set(inspect(engine).get_table_names()) == before
    finally:
        engine.dispose()
    upgrade(empty_db_url)
    assert schema_diff(empty_db_url) == []


def test_role_is_checked_by_the_database(db_session: Session, quick_hasher) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    _staff(db_session)
    with pytest.raises(IntegrityError):
        db_session.execute(text("UPDATE staff_users SET role = 'admin'"))
        db_session.flush()
    db_session.rollback()
    assert db_session.scalar(select(func.count(StaffUser.id))) == 1
