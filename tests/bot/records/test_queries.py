from __future__ import annotations

import logging
import threading
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.records import queries
from bot.records import seed as seed_module
from bot.records.account_models import FundAccount, Loan, LoanStatus
from bot.records.base import Channel
from bot.records.db import make_engine, session_scope
from bot.records.errors import RecordNotFoundError, RecordsValidationError
from bot.records.passwords import hash_password
from bot.records.queries import (
    account_overview,
    create_complaint,
    find_complaint,
    loan_overview,
    record_callback,
    record_handover,
    record_onsite_request,
    record_rating,
    withdrawal_overview,
)
from bot.records.seed import DEMO_BY_KEY
from bot.records.service_models import (
    CallbackStatus,
    Complaint,
    ComplaintCategory,
    ComplaintEvent,
    ComplaintStatus,
    Handover,
    OnsiteStatus,
    Rating,
)
from bot.records.workdays import add_working_days

TODAY = date(2026, 11, 27)
NOW = datetime(2026, 11, 27, 2, 0, tzinfo=timezone.utc)  # 10:00 in Chengdu


@pytest.fixture
def demo(db_session: Session, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """The seeded demo data (smallest crowd); returns demo key → account id."""

    def light(password: str, *, strength: str = "full") -> str:
        return hash_password(password, strength="light")

    monkeypatch.setattr(seed_module, "hash_password", light)
    seed_module.seed(db_session, count=seed_module.MIN_COUNT)
    db_session.commit()
    ids = {}
    for key, identity in DEMO_BY_KEY.items():
        ids[key] = db_session.scalar(
            select(FundAccount.id).where(FundAccount.account_number == identity.account_number)
        )
    return ids


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


# ---------------------------------------------------------------- accounts


def test_account_overview(db_session: Session, demo: dict[str, int]) -> None:
    overview = account_overview(db_session, demo["normal_loan"], today=TODAY)
    assert overview["account_number"] == "102030405060"
    assert overview["masked_account"] == "1020****5060"
    assert overview["masked_card"] == "6217***********2345"
    assert overview["status"] == "normal"
    assert overview["balance"] == Decimal("56789.12")
    assert overview["monthly_deposit"] == Decimal("2076.00")
    assert overview["base"] == Decimal("8650.00")
    assert overview["employee_rate"] == Decimal("0.12")
    assert overview["paid_up_month"] == date(2026, 10, 1)
    assert [c["month"] for c in overview["last_contributions"]] == [
        date(2026, 10, 1), date(2026, 9, 1), date(2026, 8, 1)
    ]
    assert overview["last_contributions"][0]["total"] == Decimal("2076.00")
    assert (overview["arrears_months"], overview["arrears_since"]) == (0, None)
    for value in (overview["balance"], *overview["last_contributions"][0].values()):
        assert not isinstance(value, float)


def test_arrears_when_the_employer_stops_paying(db_session: Session, demo: dict[str, int]) -> None:
    account = db_session.get(FundAccount, demo["lockout"])
    assert account is not None
    account.paid_up_month = date(2026, 7, 1)
    db_session.flush()
    overview = account_overview(db_session, account.id, today=date(2026, 11, 15))
    assert (overview["arrears_months"], overview["arrears_since"]) == (3, date(2026, 8, 1))
    # Time passing without payment adds months.
    later = account_overview(db_session, account.id, today=date(2027, 1, 3))
    assert later["arrears_months"] == 5


def test_sealed_account_owes_nothing(db_session: Session, demo: dict[str, int]) -> None:
    overview = account_overview(db_session, demo["sealed"], today=TODAY)
    assert overview["status"] == "sealed"
    assert overview["paid_up_month"] == date(2025, 6, 1)
    assert overview["arrears_months"] == 0


def test_unknown_account(db_session: Session) -> None:
    with pytest.raises(RecordNotFoundError):
        account_overview(db_session, 424242)
    with pytest.raises(RecordNotFoundError):
        loan_overview(db_session, 424242)
    with pytest.raises(RecordNotFoundError):
        withdrawal_overview(db_session, 424242)


# ------------------------------------------------------------------- loans


def test_loan_paid_on_time(db_session: Session, demo: dict[str, int]) -> None:
    loan = loan_overview(db_session, demo["normal_loan"], today=TODAY)
    assert loan is not None
    assert (loan["status"], loan["settled"]) == ("active", False)
    assert loan["principal"] == Decimal("600000.00")
    assert Decimal("0") < loan["remaining_principal"] < loan["principal"]
    assert loan["next_due_date"] == date(2026, 12, 15)
    assert loan["next_due_amount"] == loan["monthly_payment"]
    assert (loan["overdue_amount"], loan["overdue_periods"]) == (Decimal("0.00"), 0)
    assert loan["paid_periods"] + loan["remaining_periods"] == loan["term_months"]
    assert loan["end_date"] == date(2044, 4, 15)


def test_loan_overdue_two_periods(db_session: Session, demo: dict[str, int]) -> None:
    loan = loan_overview(db_session, demo["overdue_loan"], today=TODAY)
    assert loan is not None
    assert loan["status"] == "overdue"
    assert loan["overdue_periods"] == 2
    assert loan["overdue_amount"] == loan["monthly_payment"] * 2
    assert loan["next_due_date"] == date(2026, 12, 10)
    assert loan["remaining_periods"] == loan["term_months"] - loan["paid_periods"]


def test_no_loan(db_session: Session, demo: dict[str, int]) -> None:
    assert loan_overview(db_session, demo["sealed"], today=TODAY) is None
    assert loan_overview(db_session, demo["pending_withdrawal"], today=TODAY) is None


def test_settled_loan(db_session: Session, demo: dict[str, int]) -> None:
    settled = db_session.scalar(select(Loan).where(Loan.status == LoanStatus.settled).limit(1))
    if settled is None:  # the smallest crowd may have none: settle the demo loan
        settled = db_session.scalar(select(Loan).where(Loan.account_id == demo["normal_loan"]))
        assert settled is not None
        settled.status = LoanStatus.settled
        settled.remaining_principal = Decimal("0.00")
        db_session.flush()
    loan = loan_overview(db_session, settled.account_id, today=TODAY)
    assert loan is not None and loan["settled"] is True
    assert loan["next_due_date"] is None and loan["remaining_periods"] == 0


# ------------------------------------------------------------- withdrawals


def test_withdrawal_under_review(db_session: Session, demo: dict[str, int]) -> None:
    overview = withdrawal_overview(db_session, demo["pending_withdrawal"])
    latest, older = overview["applications"]
    assert latest["status"] == "reviewing" and latest["paid_at"] is None
    assert latest["kind"] == "rent" and latest["amount"] == Decimal("10800.00")
    assert latest["applied_at"].tzinfo is not None
    assert older["status"] == "paid" and older["paid_at"] > older["applied_at"]
    assert overview["pending_count"] == 1
    assert overview["entrust_agreement"] is None


def test_entrusted_agreement(db_session: Session, demo: dict[str, int]) -> None:
    overview = withdrawal_overview(db_session, demo["normal_loan"])
    assert overview["applications"] == [] and overview["pending_count"] == 0
    assert overview["entrust_agreement"] == {
        "signed_on": date(2019, 5, 20),
        "kind": "provident",
        "next_transfer_date": date(2027, 5, 20),
    }


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
    original = queries._next_ticket_id

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

    queries._next_ticket_id = spy  # type: ignore[assignment]
    try:
        with caplog.at_level(logging.INFO, logger="bot.records.queries"):
            threads = [threading.Thread(target=first, name="first"),
                       threading.Thread(target=second, name="second")]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
    finally:
        queries._next_ticket_id = original  # type: ignore[assignment]
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


# ------------------------------------------------ ratings, hand-overs, requests


def test_record_rating(db_session: Session) -> None:
    rating = record_rating(db_session, conversation_id="c1", channel="webchat", score=5,
                           comment=" 很好 ", now=NOW)
    assert (rating.score, rating.comment, rating.channel, rating.created_at) == (
        5, "很好", Channel.webchat, NOW
    )
    assert db_session.scalar(select(func.count(Rating.id))) == 1


@pytest.mark.parametrize("score", [0, 6, True, "5", 4.5])
def test_record_rating_rejects_bad_scores(db_session: Session, score: Any) -> None:
    with pytest.raises(RecordsValidationError, match="score"):
        record_rating(db_session, conversation_id="c1", channel="voice", score=score)


def test_record_handover(db_session: Session) -> None:
    handover = record_handover(
        db_session,
        conversation_id="c1",
        channel="voice",
        reason="no_match_twice",
        intent_path="query_loan>nlu_fallback>nlu_fallback",
        masked_account="102030405060",
        context={"last_intent": "query_loan", "slots": {"ticket_id": None}},
        now=NOW,
    )
    assert handover.masked_account == "1020****5060"
    assert handover.context["slots"] == {"ticket_id": None}
    assert handover.status.value == "open"
    assert db_session.scalar(select(func.count(Handover.id))) == 1


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"reason": "No Match"}, "reason"),
        ({"reason": ""}, "reason"),
        ({"context": {"when": datetime(2026, 1, 1)}}, "context"),
        ({"context": {"blob": "x" * 30_000}}, "context"),
        ({"conversation_id": ""}, "conversation_id"),
        ({"channel": "pager"}, "channel"),
    ],
)
def test_record_handover_validation(
    db_session: Session, overrides: dict[str, Any], message: str
) -> None:
    kwargs: dict[str, Any] = dict(conversation_id="c1", channel="voice", reason="user_request")
    kwargs.update(overrides)
    with pytest.raises(RecordsValidationError, match=message):
        record_handover(db_session, **kwargs)


def test_record_callback(db_session: Session) -> None:
    callback = record_callback(db_session, conversation_id="c1", channel="voice",
                               phone="028-8627 9298", reason="after_hours", now=NOW)
    assert (callback.phone, callback.status, callback.done_at) == (
        "02886279298", CallbackStatus.open, None
    )
    with pytest.raises(RecordsValidationError, match="phone"):
        record_callback(db_session, conversation_id="c1", channel="voice", phone="96319")


def test_record_onsite_request(db_session: Session) -> None:
    request = record_onsite_request(
        db_session,
        employer_name="成都某某制造有限公司",
        contact_name="赵女士",
        phone="13912345678",
        headcount=120,
        preferred_time="工作日晚上",
        note="夜班员工较多",
        conversation_id="c1",
        channel="webchat",
        now=NOW,
    )
    assert request.status == OnsiteStatus.open and request.headcount == 120
    for headcount in (0, -3, True, "12"):
        with pytest.raises(RecordsValidationError, match="headcount"):
            record_onsite_request(db_session, employer_name="x", contact_name="y",
                                  phone="13912345678", headcount=headcount)  # type: ignore[arg-type]
    with pytest.raises(RecordsValidationError, match="employer_name"):
        record_onsite_request(db_session, employer_name=" ", contact_name="y",
                              phone="13912345678", headcount=3)
