"""The learning inbox's records: harvest from a real Rasa tracker store, label, count.

The tracker store is written by Rasa's own ``SQLTrackerStore`` (run in the
Rasa environment by ``tests/rasa_tracker.py``), on SQLite and on PostgreSQL,
beside a records database on the same backend.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.records.clock import SHANGHAI
from bot.records.errors import DeskNotFoundError, DeskValidationError
from bot.records.identifiers import has_unmasked_number
from bot.records.learning import (
    InboxFilters,
    harvest,
    harvest_since,
    label_miss,
    labelled_examples,
    list_misses,
    weekly_figures,
)
from bot.records.learning_models import IGNORE_LABEL, MissedTurn, MissKind
from bot.records.misses import conversation_key
from bot.records.staff_models import DeskAuditEvent, StaffRole
from tests.bot.records.conftest import add_staff
from tests.rasa_tracker import sample_conversations, write_conversations

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)  # a Wednesday
START = (NOW - timedelta(hours=3)).timestamp()
LABELS = ["complain", "faq/loan_limit", "faq/loan_rate", "human_agent", "query_balance"]

CONVERSATIONS = sample_conversations(START)


@pytest.fixture
def harvested(db_session: Session, tracker_db_url: str) -> Session:
    write_conversations(tracker_db_url, CONVERSATIONS)
    result = harvest(db_session, tracker_db_url, now=NOW)
    db_session.commit()
    assert result.unavailable is None
    assert (result.conversations, result.found, result.added) == (5, 3, 3)
    return db_session


def _rows(session: Session) -> dict[str, MissedTurn]:
    return {row.kind.value: row for row in session.scalars(select(MissedTurn))}


def test_harvest_keeps_each_miss_masked_with_its_context(harvested: Session) -> None:
    rows = _rows(harvested)
    assert set(rows) == {"handover", "rephrase", "clarify"}
    handover = rows["handover"]
    assert handover.text == "我的电话是138****5678 那个钱咋个整"
    assert handover.context == "转人工"
    assert handover.predicted_label == "query_balance" and handover.confidence == 0.22
    assert handover.channel.value == "webchat"
    assert handover.conversation_key == conversation_key("web-1")
    assert handover.occurred_at == datetime.fromtimestamp(START + 8, tz=timezone.utc)
    rephrase = rows["rephrase"]
    assert (rephrase.text, rephrase.context) == ("贷款利息", "不是 我问的是能贷好多")
    assert (rephrase.predicted_label, rephrase.confidence) == ("faq/loan_rate", 0.71)
    assert rephrase.channel.value == "voice"
    assert rows["clarify"].text == "身份证510104********0017 提取和贷款"
    assert rows["clarify"].channel.value == "rest"
    for row in rows.values():
        assert row.label is None and row.labelled_by is None
        assert not has_unmasked_number(row.text) and not has_unmasked_number(row.context or "")


def test_harvesting_twice_adds_nothing(harvested: Session, tracker_db_url: str) -> None:
    again = harvest(harvested, tracker_db_url, days=30, now=NOW)
    harvested.commit()
    assert (again.found, again.added) == (3, 0)
    assert len(_rows(harvested)) == 3
    audits = harvested.scalars(select(DeskAuditEvent.detail).where(
        DeskAuditEvent.action == "misses_harvested")).all()
    assert [detail.rsplit(" ", 1)[1] for detail in audits] == ["added=3", "added=0"]


def test_a_new_conversation_is_picked_up_by_the_next_harvest(
    harvested: Session, tracker_db_url: str
) -> None:
    write_conversations(tracker_db_url, [{
        "sender": "web-9", "channel": "webchat", "start": START + 600,
        "steps": [{"user": "住房补贴在哪里领", "intent": "nlu_fallback"},
                  {"action": "action_handle_fallback"}],
    }])
    result = harvest(harvested, tracker_db_url, now=NOW + timedelta(minutes=30))
    assert result.added == 1
    assert _rows(harvested)["fallback"].text == "住房补贴在哪里领"


def test_a_verified_chat_moved_to_a_new_id_is_harvested_once(
    db_session: Session, tracker_db_url: str
) -> None:
    """The new id starts with a copy of web-1 (its miss included): only its own turns count."""
    moved = {
        "sender": "web-1-verified", "continues": "web-1", "channel": "webchat",
        "start": START + 600,
        "steps": [{"user": "/authenticated"}, {"action": "action_answer_balance"},
                  {"bot": "您的余额是…"}, {"action": "action_listen"},
                  {"user": "住房补贴在哪里领", "intent": "nlu_fallback"},
                  {"action": "action_handle_fallback"}, {"bot": "没听懂，换个说法？"}],
    }
    write_conversations(tracker_db_url, [*CONVERSATIONS, moved])
    result = harvest(db_session, tracker_db_url, now=NOW)
    db_session.commit()
    assert (result.conversations, result.found, result.added) == (6, 4, 4)
    keys = {row.text: row.conversation_key for row in db_session.scalars(select(MissedTurn))}
    assert keys["我的电话是138****5678 那个钱咋个整"] == conversation_key("web-1")
    assert keys["住房补贴在哪里领"] == conversation_key("web-1-verified")


def test_absent_store_is_reported_and_nothing_is_written(
    db_session: Session, tracker_db_url: str, db_backend: str
) -> None:
    if db_backend == "postgresql":  # an empty database: Rasa has not created its table
        assert harvest(db_session, tracker_db_url, now=NOW).unavailable == "unreadable"
    else:
        assert harvest(db_session, tracker_db_url, now=NOW).unavailable == "absent"
    assert db_session.scalars(select(MissedTurn)).all() == []
    assert db_session.scalars(select(DeskAuditEvent)).all() == []


def test_a_store_that_is_no_database_is_unreadable(db_session: Session, tmp_path: Path) -> None:
    path = tmp_path / "tracker.db"
    path.write_bytes(b"not a database at all" * 100)
    assert harvest(db_session, f"sqlite:///{path}", now=NOW).unavailable == "unreadable"


def test_harvest_window(db_session: Session) -> None:
    assert harvest_since(db_session, NOW) == NOW - timedelta(days=30)
    assert harvest_since(db_session, NOW, days=7) == NOW - timedelta(days=7)
    assert harvest_since(db_session, NOW, days=999) == NOW - timedelta(days=92)
    db_session.add(_miss("k", NOW - timedelta(days=3)))
    db_session.flush()
    assert harvest_since(db_session, NOW) == NOW - timedelta(days=4)


def _miss(key: str, at: datetime, *, kind: MissKind = MissKind.fallback,
          label: str | None = None, text: str = "啥子") -> MissedTurn:
    return MissedTurn(conversation_key="c" * 64, event_key=key, channel="webchat", kind=kind,
                      occurred_at=at, text=text, label=label, harvested_at=at)


def test_inbox_lists_newest_first_by_kind_and_pages(db_session: Session) -> None:
    for number in range(53):
        kind = MissKind.clarify if number % 2 else MissKind.fallback
        db_session.add(_miss(f"e{number}", NOW - timedelta(minutes=number), kind=kind))
    db_session.add(_miss("done", NOW, label="complain"))
    db_session.flush()
    first, total = list_misses(db_session, InboxFilters())
    assert total == 53 and len(first) == 50
    assert [row.event_key for row in first[:3]] == ["e0", "e1", "e2"]
    second, _ = list_misses(db_session, InboxFilters(), page=2)
    assert [row.event_key for row in second] == ["e50", "e51", "e52"]
    clarify, total = list_misses(db_session, InboxFilters(kind=MissKind.clarify))
    assert total == 26 and {row.kind for row in clarify} == {MissKind.clarify}
    labelled, total = list_misses(db_session, InboxFilters(labelled=True))
    assert total == 1 and labelled[0].event_key == "done"


def test_labelling_is_checked_and_audited(db_session: Session, quick_hasher: None) -> None:
    staff = add_staff(db_session, "lihua", StaffRole.agent)
    db_session.add(_miss("e1", NOW))
    db_session.flush()
    miss = db_session.scalars(select(MissedTurn)).one()
    with pytest.raises(DeskValidationError) as refused:
        label_miss(db_session, staff, miss.id, "faq/no_such_topic", LABELS)
    assert refused.value.code == "label_invalid"
    with pytest.raises(DeskNotFoundError):
        label_miss(db_session, staff, miss.id + 99, "complain", LABELS)
    label_miss(db_session, staff, miss.id, "faq/loan_rate", LABELS, now=NOW)
    label_miss(db_session, staff, miss.id, IGNORE_LABEL, LABELS, now=NOW)
    assert (miss.label, miss.labelled_by, miss.labelled_at) == (IGNORE_LABEL, "lihua", NOW)
    details = db_session.scalars(select(DeskAuditEvent.detail).where(
        DeskAuditEvent.action == "miss_labelled").order_by(DeskAuditEvent.id)).all()
    assert details == ["faq/loan_rate", "faq/loan_rate -> ignore"]


def test_only_real_labels_are_exported(db_session: Session) -> None:
    db_session.add_all([_miss("a", NOW, label="complain", text="窗口的人凶得很"),
                        _miss("b", NOW, label=IGNORE_LABEL), _miss("c", NOW)])
    db_session.flush()
    assert [(row.label, row.text) for row in labelled_examples(db_session)] == [
        ("complain", "窗口的人凶得很")]


def test_weekly_figures_cover_eight_iso_weeks_in_beijing_time(db_session: Session) -> None:
    today = date(2026, 11, 25)  # Wednesday of ISO week 48
    monday = datetime(2026, 11, 23, 0, 30, tzinfo=SHANGHAI)  # Sunday 16:30 UTC
    db_session.add_all([
        _miss("w48a", monday, label="complain"), _miss("w48b", monday + timedelta(days=1)),
        _miss("w47", monday - timedelta(hours=1), label=IGNORE_LABEL),
        _miss("w41", monday - timedelta(weeks=7)),
        _miss("w40", monday - timedelta(weeks=8)),  # outside the eight weeks
    ])
    db_session.flush()
    weeks = weekly_figures(db_session, today=today)
    assert [week.iso_week for week in weeks] == [f"2026-W{n}" for n in range(41, 49)]
    by_week = {week.iso_week: (week.misses, week.labelled, week.labelled_share) for week in weeks}
    assert by_week["2026-W48"] == (2, 1, 0.5)
    assert by_week["2026-W47"] == (1, 1, 1.0)
    assert by_week["2026-W41"] == (1, 0, 0.0)
    assert by_week["2026-W45"] == (0, 0, None)


def test_two_harvests_at_once_add_each_miss_once(pg_url: str, tmp_path: Path) -> None:
    """The second harvest waits on the first one's rows and then adds nothing (PostgreSQL)."""
    import threading

    from bot.records.db import make_engine

    tracker = f"sqlite:///{tmp_path / 'tracker.db'}"
    write_conversations(tracker, CONVERSATIONS[:2])
    engine = make_engine(pg_url)
    try:
        first, second = Session(engine), Session(engine)
        assert harvest(first, tracker, now=NOW).added == 2  # not committed yet
        results = []
        racer = threading.Thread(target=lambda: results.append(harvest(second, tracker, now=NOW)))
        racer.start()
        racer.join(timeout=1)
        assert racer.is_alive()  # waiting on the first harvest's uncommitted rows
        first.commit()
        racer.join(timeout=10)
        second.commit()
        assert results[0].added == 0
        assert len(first.scalars(select(MissedTurn)).all()) == 2
        first.close(), second.close()
    finally:
        engine.dispose()


@pytest.mark.parametrize("db_backend", ["sqlite"])
def test_the_command_line_harvests_and_says_what_it_did(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.records.learning import main

    tracker = f"sqlite:///{tmp_path / 'tracker.db'}"
    write_conversations(tracker, sample_conversations(datetime.now(timezone.utc).timestamp()
                                                      - 3600))
    args = ["harvest", "--url", db_url, "--tracker-url", tracker]
    assert main(args) == 0
    assert capsys.readouterr().out.endswith("5 conversations, 3 misses, 3 new\n")
    assert main([*args, "--days", "2"]) == 0
    assert capsys.readouterr().out.endswith("5 conversations, 3 misses, 0 new\n")
    absent = ["harvest", "--url", db_url, "--tracker-url", f"sqlite:///{tmp_path / 'no.db'}"]
    assert main(absent) == 1
    assert "tracker store absent" in capsys.readouterr().err
