"""Complaints: filed once per key, ticket numbers, validation, races on PostgreSQL, the queue."""
from __future__ import annotations

import logging
import threading
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.records import complaints
from bot.records.base import Channel
from bot.records.complaints import (
    ComplaintFilters,
    create_complaint,
    find_complaint,
    list_complaints,
)
from bot.records.db import make_engine, session_scope
from bot.records.errors import RecordsValidationError
from bot.records.service_models import (
    Complaint,
    ComplaintCategory,
    ComplaintEvent,
    ComplaintStatus,
)
from bot.records.workdays import add_working_days

TODAY = date(2026, 11, 27)
NOW = datetime(2026, 11, 27, 2, 0, tzinfo=timezone.utc)  # 10:00 in Chengdu


def _complaint_kwargs(**overrides: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = dict(
        idempotency_key="conv-1:complaint:1",
        category="attitude",
        channel="voice",
        description="窗口工作人员态度生硬，不解释提取材料。",
        location="后子门房地产大厦三楼",
        staff_number="A1024",
        contact_phone="138 1234 5678",
        conversation_id="conv-1",
        transcript=[
            {"role": "user", "text": "我要投诉", "at": "2026-11-27T10:00:00+08:00"},
            {"role": "bot", "text": "请说明情况", "at": datetime(2026, 11, 27, 2, 0, 5,
                                                                tzinfo=timezone.utc)},
            {"role": "user", "text": "窗口态度差", "at": "2026-11-27T02:00:09.120Z"},
        ],
        now=NOW,
    )
    kwargs.update(overrides)
    return kwargs


# --------------------------------------------------------------- complaints


def test_create_complaint(db_session: Session) -> None:
    complaint, created = create_complaint(db_session, **_complaint_kwargs())
    assert created
    assert complaint.ticket_id == "TS2611270001"
    assert complaint.category == ComplaintCategory.attitude
    assert complaint.channel == Channel.voice
    assert complaint.status == ComplaintStatus.accepted
    assert complaint.contact_phone == "13812345678"
    assert complaint.due_date == add_working_days(TODAY, 5) == date(2026, 12, 4)
    assert complaint.owner is None and complaint.reply is None
    assert complaint.transcript == [
        {"role": "user", "text": "我要投诉", "at": "2026-11-27T02:00:00+00:00"},
        {"role": "bot", "text": "请说明情况", "at": "2026-11-27T02:00:05+00:00"},
        {"role": "user", "text": "窗口态度差", "at": "2026-11-27T02:00:09.120000+00:00"},
    ]
    events = db_session.scalars(select(ComplaintEvent)).all()
    assert [(e.complaint_id, e.action, e.at) for e in events] == [(complaint.id, "created", NOW)]


def test_same_key_twice_is_one_complaint(db_url: str) -> None:
    with session_scope(db_url) as session:
        first, created_first = create_complaint(session, **_complaint_kwargs())
        ticket = first.ticket_id
    with session_scope(db_url) as session:
        again, created_again = create_complaint(
            session, **_complaint_kwargs(description="重复提交", now=NOW + timedelta(minutes=3))
        )
        assert again.ticket_id == ticket
        assert again.description != "重复提交"
        assert session.scalar(select(func.count(Complaint.id))) == 1
        assert session.scalar(select(func.count(ComplaintEvent.id))) == 1
    assert (created_first, created_again) == (True, False)


def test_ticket_sequence_per_chengdu_day(db_session: Session) -> None:
    tickets = [
        create_complaint(db_session, **_complaint_kwargs(idempotency_key=f"k{i}"))[0].ticket_id
        for i in range(3)
    ]
    assert tickets == ["TS2611270001", "TS2611270002", "TS2611270003"]
    # 01:30 in Chengdu on the 28th is still the 27th in UTC.
    late = datetime(2026, 11, 27, 17, 30, tzinfo=timezone.utc)
    complaint, _ = create_complaint(db_session, **_complaint_kwargs(idempotency_key="k9", now=late))
    assert complaint.ticket_id == "TS2611280001"
    assert complaint.due_date == date(2026, 12, 4)  # filed on a Saturday


def test_find_complaint(db_session: Session) -> None:
    complaint, _ = create_complaint(db_session, **_complaint_kwargs())
    for given in ("TS2611270001", "ts2611270001", "2611270001", "TS 261127 0001"):
        assert find_complaint(db_session, given) is complaint
    assert find_complaint(db_session, "TS2611270002") is None
    assert find_complaint(db_session, "garbage") is None
    assert find_complaint(db_session, None) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"description": "x" * 2001}, "description"),
        ({"description": "   "}, "description"),
        ({"description": None}, "description"),
        ({"category": "rude"}, "category"),
        ({"channel": "fax"}, "channel"),
        ({"contact_phone": "12345"}, "contact_phone"),
        ({"staff_number": "A 10"}, "staff_number"),
        ({"staff_number": "张师傅，2号窗口"}, "staff_number"),
        ({"staff_number": "A" * 21}, "staff_number"),
        ({"location": "x" * 201}, "location"),
        ({"idempotency_key": ""}, "idempotency_key"),
        ({"idempotency_key": "k" * 129}, "idempotency_key"),
        ({"conversation_id": "c" * 65}, "conversation_id"),
        ({"transcript": "not a list"}, "transcript"),
        ({"transcript": [{"role": "user", "text": "hi"}]}, "at"),
        ({"transcript": [{"role": "user", "text": "hi", "at": "2026-11-27T10:00:00"}]}, "at"),
        ({"transcript": [{"role": "", "text": "hi", "at": "2026-11-27T02:00:00+00:00"}]}, "role"),
        ({"transcript": [{"role": "user", "text": 3, "at": "2026-11-27T02:00:00+00:00"}]}, "text"),
        ({"transcript": [{"role": "u", "text": "", "at": "2026-11-27T02:00:00+00:00"}] * 501},
         "transcript"),
        ({"now": datetime(2026, 11, 27, 10, 0)}, "aware"),
    ],
)
def test_create_complaint_validation(
    db_session: Session, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(RecordsValidationError, match=message):
        create_complaint(db_session, **_complaint_kwargs(**overrides))
    assert db_session.scalar(select(func.count(Complaint.id))) == 0


def test_optional_fields_may_be_empty(db_session: Session) -> None:
    complaint, created = create_complaint(
        db_session,
        **_complaint_kwargs(location=None, staff_number="", contact_phone=None,
                            conversation_id=None, transcript=None, category="other",
                            channel=Channel.webchat),
    )
    assert created
    assert (complaint.location, complaint.staff_number, complaint.contact_phone) == (
        None, None, None
    )
    assert complaint.transcript == []


# ------------------------------------------------- complaints racing on PostgreSQL


def _race(
    pg_url: str, first_key: str, second_key: str, caplog: pytest.LogCaptureFixture
) -> tuple[tuple[str, bool], tuple[str, bool], list[str]]:
    """Filing 1 holds its transaction open while filing 2 reaches its INSERT.

    Filing 2 has already looked for its key and picked a ticket number, so it
    blocks on the unique indexes until filing 1 commits and then takes the
    IntegrityError path.
    """
    engine = make_engine(pg_url)
    allocating = threading.Event()
    first_flushed = threading.Event()
    results: dict[str, tuple[str, bool]] = {}
    errors: list[BaseException] = []
    original = complaints._next_ticket_id

    def spy(session: Session, day: date) -> str:
        ticket = original(session, day)
        if threading.current_thread().name == "second":
            allocating.set()
        return ticket

    def first() -> None:
        try:
            with Session(engine) as session:
                complaint, created = create_complaint(
                    session, **_complaint_kwargs(idempotency_key=first_key)
                )
                first_flushed.set()
                assert allocating.wait(10)
                threading.Event().wait(0.5)  # let the second INSERT block
                session.commit()
                results["first"] = (complaint.ticket_id, created)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
            first_flushed.set()

    def second() -> None:
        try:
            assert first_flushed.wait(10)
            with Session(engine) as session:
                complaint, created = create_complaint(
                    session, **_complaint_kwargs(idempotency_key=second_key)
                )
                session.commit()
                results["second"] = (complaint.ticket_id, created)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
            allocating.set()

    complaints._next_ticket_id = spy  # type: ignore[assignment]
    try:
        with caplog.at_level(logging.INFO, logger="bot.records.complaints"):
            threads = [threading.Thread(target=first, name="first"),
                       threading.Thread(target=second, name="second")]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
    finally:
        complaints._next_ticket_id = original  # type: ignore[assignment]
        engine.dispose()
    assert not errors, errors
    messages = [record.getMessage() for record in caplog.records]
    return results["first"], results["second"], messages


def test_two_threads_same_key_make_one_complaint(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    first, second, messages = _race(pg_url, "same-key", "same-key", caplog)
    assert first == ("TS2611270001", True)
    assert second == ("TS2611270001", False)
    assert any("already filed" in message for message in messages)
    with session_scope(pg_url) as session:
        assert session.scalar(select(func.count(Complaint.id))) == 1
        assert session.scalar(select(func.count(ComplaintEvent.id))) == 1


def test_two_threads_different_keys_get_different_tickets(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    first, second, messages = _race(pg_url, "key-a", "key-b", caplog)
    assert first == ("TS2611270001", True)
    assert second == ("TS2611270002", True)
    assert any("taken concurrently" in message for message in messages)


def test_many_threads_file_without_collisions(pg_url: str) -> None:
    engine = make_engine(pg_url, pool_size=8)
    keys = [f"key-{i % 12}" for i in range(16)]  # 4 keys filed twice
    barrier = threading.Barrier(len(keys))
    outcomes: list[tuple[str, str, bool]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def file(key: str) -> None:
        try:
            barrier.wait(10)
            with Session(engine) as session:
                complaint, created = create_complaint(
                    session, **_complaint_kwargs(idempotency_key=key)
                )
                session.commit()
                with lock:
                    outcomes.append((key, complaint.ticket_id, created))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=file, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    engine.dispose()
    assert not errors, errors
    assert len(outcomes) == 16
    assert sum(created for _, _, created in outcomes) == 12
    by_key: dict[str, set] = {}
    for key, ticket, _ in outcomes:
        by_key.setdefault(key, set()).add(ticket)
    assert all(len(tickets) == 1 for tickets in by_key.values())
    tickets = sorted(ticket for tickets in by_key.values() for ticket in tickets)
    assert tickets == [f"TS261127{n:04d}" for n in range(1, 13)]


# ------------------------------------------------------------ the desk queue


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
    rows, total = list_complaints(db_session, ComplaintFilters())
    assert total == 3
    assert [row.ticket_id for row in rows] == [
        tickets[2].ticket_id, tickets[1].ticket_id, tickets[0].ticket_id]


# ------------------------------------------------------- masked transcripts


def test_the_transcript_is_masked_when_filed(db_session: Session) -> None:
    from bot.records.identifiers import has_unmasked_number
    from bot.records.seed import DEMO_BY_KEY

    demo = DEMO_BY_KEY["normal_loan"]
    said = [
        f"我的身份证是{demo.id_number}，账号{demo.account_number}",
        f"联名卡{demo.card_number}，电话幺三八 幺二三四 五六七八",
        "您的公积金账户1020****5060状态正常。账户余额12,345.60元；月缴存额1,200.00元",
        "联系电话：13812345678。请问是否正确？",
    ]
    turns = [{"role": "user" if i % 2 == 0 else "bot", "text": text, "at": "2026-11-27T10:00:00+08:00"}
             for i, text in enumerate(said)]
    complaint, _ = create_complaint(db_session, **_complaint_kwargs(transcript=turns))
    db_session.commit()
    db_session.expire_all()
    stored = " ".join(turn["text"] for turn in db_session.get(Complaint, complaint.id).transcript)
    for secret in (demo.id_number, demo.account_number, demo.card_number, "13812345678",
                   "12,345.60", "1,200.00"):
        assert secret not in stored
    assert not has_unmasked_number(stored)
    assert "138****5678" in stored and "账户余额***元" in stored
    # The contact itself is kept whole, for the desk's logged reveal.
    assert complaint.contact_phone == "13812345678"

