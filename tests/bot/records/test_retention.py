"""The retention job on SQLite and PostgreSQL: old rows deleted or masked, recent rows kept.

Every table of :mod:`bot.records.retention_tables` gets a row past its period
and one within it (and, where the status matters, an open one past it: open
complaints, open callbacks and pending SMS are never touched). The tracker
store is written by Rasa's own ``SQLTrackerStore`` (``tests/rasa_tracker.py``).
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.records import retention
from bot.records.account_models import (
    AccountStatus,
    AuthFailure,
    AuthSession,
    AuthSourceEvent,
    Depositor,
    FundAccount,
)
from bot.records.base import Channel
from bot.records.complaints import create_complaint
from bot.records.db import make_engine
from bot.records.retention import Policy, PolicyError, load_policy, purge_tracker, run
from bot.records.retention_tables import KEPT_TABLES, MASKED_EVENT, PERIOD_NAMES, RULES
from bot.records.schema import metadata
from bot.records.service_models import (
    CallbackRequest,
    CallbackStatus,
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
)
from bot.records.staff_models import StaffLoginFailure, StaffRole, StaffSession, StaffUser
from bot.records.voice_models import (
    SmsMessage,
    SmsStatus,
    TurnStatus,
    VoiceCall,
    VoiceCallState,
    VoiceTurn,
)
from bot.settings import Settings
from bot.tracker_store import events
from tests.bot.records.conftest import assert_parameters_hidden
from tests.rasa_tracker import write_conversations

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=timezone.utc)
ID_NUMBER = "510104198503150017"
PHONE = "13812345678"
CALLER = "+8613812345678"
# Said, not typed: the ID in words and an amount, as an old raw transcript holds them.
SPOKEN_TURN = "身份证五幺零幺零四幺九八五零三幺五零零幺七，取了三万五千元"
PERIODS = {
    "tracker_events": 180, "auth_failures": 30, "auth_source_events": 30, "auth_sessions": 30,
    "staff_login_failures": 30, "staff_sessions": 30, "voice_call_working_data": 1,
    "sms_contents": 30, "sms_outbox": 90, "call_numbers": 180, "callback_phones": 90,
    "closed_complaint_contacts": 1095,
}


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def policy(batch_size: int = 500) -> Policy:
    return Policy(periods=dict(PERIODS), batch_size=batch_size)


# ------------------------------------------------------------------ the rows


def _complaint(session: Session, key: str, status: ComplaintStatus, changed: datetime) -> Complaint:
    complaint, _ = create_complaint(
        session, idempotency_key=key, category="attitude", channel="webchat",
        description=f"窗口态度差，我的电话{PHONE}", location="后子门大厅",
        contact_phone=PHONE, conversation_id=f"conv-{key}",
        transcript=[{"role": "user", "text": f"身份证{ID_NUMBER}", "at": changed},
                    {"role": "bot", "text": "请问在哪里办理的？", "at": changed}],
        now=changed,
    )
    # Filed before transcripts were masked on capture: the job must mask what is left.
    complaint.transcript = [{"role": "user", "text": f"身份证{ID_NUMBER}", "at": changed.isoformat()},
                            {"role": "bot", "text": "请问在哪里办理的？", "at": changed.isoformat()},
                            {"role": "user", "text": SPOKEN_TURN, "at": changed.isoformat()}]
    complaint.status = status
    complaint.reply = f"已回电{PHONE}说明情况" if status is ComplaintStatus.closed else None
    complaint.updated_at = changed
    session.add(ComplaintEvent(complaint_id=complaint.id, at=changed, actor="lihua",
                               action="note", detail=f"回拨{PHONE}未接"))
    return complaint


def populate(session: Session) -> None:
    """An old and a recent row in every table the job looks after."""
    depositor = Depositor(name="张明远", id_number=ID_NUMBER, synthetic=True)
    account = FundAccount(
        account_number="102030405060", depositor=depositor, status=AccountStatus.normal,
        balance=Decimal("1.00"), monthly_deposit=Decimal("1.00"), base=Decimal("1.00"),
        employee_rate=Decimal("0.12"), employer_rate=Decimal("0.12"),
        opened_on=date(2012, 7, 16), query_password_hash="not-a-hash",
    )
    staff = StaffUser(username="lihua", display_name="李华", role=StaffRole.agent,
                      password_hash="not-a-hash", password_changed_at=days_ago(400),
                      created_at=days_ago(400), updated_at=days_ago(400))
    session.add_all([depositor, account, staff])
    session.flush()
    for name, age in (("old", 31), ("new", 29)):
        session.add(AuthFailure(identifier_hash=name * 8, account_id=account.id,
                                channel=Channel.webchat, at=days_ago(age), reason="mismatch"))
        session.add(AuthSourceEvent(source_hash=name * 16, source_kind="address",
                                    target_key=name * 16, failed=True, at=days_ago(age)))
        session.add(AuthSession(token_hash=name * 16, account_id=account.id,
                                channel=Channel.webchat, conversation_id=f"auth-{name}",
                                created_at=days_ago(age), expires_at=days_ago(age),
                                revoked=False))
        session.add(StaffLoginFailure(username_hash=name * 8, staff_id=staff.id,
                                      remote_addr="10.0.0.7", at=days_ago(age), reason="password"))
        session.add(StaffSession(token_hash=name * 16, staff_id=staff.id,
                                 created_at=days_ago(age), last_seen_at=days_ago(age),
                                 expires_at=days_ago(age), revoked=False,
                                 remote_addr="10.0.0.7"))
    for sid, age in (("CA" + "0" * 32, 200), ("CA" + "1" * 32, 2), ("CA" + "2" * 32, 0.01)):
        session.add(VoiceCall(call_sid=sid, from_number=CALLER, to_number="+862896319",
                              started_at=days_ago(age)))
        session.flush()
        session.add(VoiceCallState(call_sid=sid, mode="menu", sealed_identifier="sealed",
                                   updated_at=days_ago(age)))
        session.add(VoiceTurn(call_sid=sid, turn_key="incoming", status=TurnStatus.done,
                              twiml="<Response/>", created_at=days_ago(age)))
    for reference, status, age in (("sent-old", SmsStatus.sent, 91),
                                   ("failed-old", SmsStatus.failed, 91),
                                   ("sent-month", SmsStatus.sent, 31),
                                   ("sent-new", SmsStatus.sent, 29),
                                   ("pending-old", SmsStatus.pending, 91)):
        session.add(SmsMessage(to_number=PHONE, body="您的投诉已受理", purpose="complaint",
                               reference=reference, status=status, created_at=days_ago(age)))
    for status, done_age in ((CallbackStatus.done, 91), (CallbackStatus.done, 89),
                             (CallbackStatus.open, None)):
        session.add(CallbackRequest(
            conversation_id=f"cb-{status.value}-{done_age}", channel=Channel.voice, phone=PHONE,
            status=status, created_at=days_ago(100),
            done_at=days_ago(done_age) if done_age is not None else None))
    _complaint(session, "closed-old", ComplaintStatus.closed, days_ago(1096))
    _complaint(session, "open-old", ComplaintStatus.in_progress, days_ago(1096))
    _complaint(session, "closed-new", ComplaintStatus.closed, days_ago(1094))
    session.commit()


def outcomes(db_url: str, tracker_url: str, **options: Any) -> dict[tuple[str, str], int]:
    return {(o.rule, o.table): o.rows
            for o in run(db_url, tracker_url, options.pop("policy", policy()), now=NOW,
                         **options)}


EXPECTED = {
    ("tracker_events", "events"): 0,
    ("auth_failures", "auth_failures"): 1,
    ("auth_source_events", "auth_source_events"): 1,
    ("auth_sessions", "auth_sessions"): 1,
    ("staff_login_failures", "staff_login_failures"): 1,
    ("staff_sessions", "staff_sessions"): 1,
    ("voice_call_working_data", "voice_turns"): 2,
    ("voice_call_working_data", "voice_call_states"): 2,
    ("sms_contents", "sms_outbox"): 3,
    ("sms_outbox", "sms_outbox"): 2,
    ("call_numbers", "voice_calls"): 1,
    ("callback_phones", "callback_requests"): 1,
    ("closed_complaint_contacts", "complaints"): 1,
}


def snapshot(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table the job touches, as plain tuples."""
    tables = (AuthFailure, AuthSourceEvent, AuthSession, StaffLoginFailure, StaffSession, VoiceCall,
              VoiceCallState, VoiceTurn, SmsMessage, CallbackRequest, Complaint, ComplaintEvent)
    session.rollback()  # read afresh (a SQLite read transaction would keep its old snapshot)
    return {model.__tablename__: [
        tuple(str(getattr(row, column.key)) for column in model.__table__.columns)
        for row in session.scalars(select(model).order_by(model.id))
    ] for model in tables}


@pytest.fixture
def missing_tracker(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'no-tracker' / 'rasa_tracker.db'}"


# --------------------------------------------------------------- the records


def test_old_rows_are_deleted_or_masked_and_recent_rows_kept(
        db_url: str, db_session: Session, missing_tracker: str) -> None:
    populate(db_session)
    assert outcomes(db_url, missing_tracker) == EXPECTED
    session = db_session
    session.expire_all()
    assert session.scalars(select(AuthFailure.identifier_hash)).all() == ["new" * 8]
    assert session.scalars(select(AuthSession.conversation_id)).all() == ["auth-new"]
    assert session.scalars(select(StaffLoginFailure.username_hash)).all() == ["new" * 8]
    assert session.scalars(select(StaffSession.token_hash)).all() == ["new" * 16]
    # Working data of a live call stays; a call without a status callback loses it after a day.
    live = "CA" + "2" * 32
    assert session.scalars(select(VoiceCallState.call_sid)).all() == [live]
    assert session.scalars(select(VoiceTurn.call_sid)).all() == [live]
    assert dict(session.execute(select(VoiceCall.call_sid, VoiceCall.from_number)).all()) == {
        "CA" + "0" * 32: "+86*******5678", "CA" + "1" * 32: CALLER, live: CALLER}
    sms = {row.reference: (row.to_number, row.body)
           for row in session.scalars(select(SmsMessage))}
    assert sms == {"sent-month": ("138****5678", ""), "sent-new": (PHONE, "您的投诉已受理"),
                   "pending-old": (PHONE, "您的投诉已受理")}
    callbacks = {row.conversation_id: row.phone for row in session.scalars(select(CallbackRequest))}
    assert callbacks == {"cb-done-91": "138****5678", "cb-done-89": PHONE, "cb-open-None": PHONE}


def test_a_closed_complaint_is_masked_after_the_period_and_open_ones_never(
        db_url: str, db_session: Session, missing_tracker: str) -> None:
    populate(db_session)
    list(run(db_url, missing_tracker, policy(), now=NOW))
    db_session.expire_all()
    complaints = {c.conversation_id: c for c in db_session.scalars(select(Complaint))}
    masked = complaints["conv-closed-old"]
    assert masked.contact_phone == "138****5678"
    assert masked.description == "窗口态度差，我的电话138****5678"
    assert masked.reply == "已回电138****5678说明情况"
    assert [turn["text"] for turn in masked.transcript] == [
        "身份证510104********0017", "请问在哪里办理的？", "身份证510104********0017,取了***元"]
    assert masked.location == "后子门大厅" and masked.status is ComplaintStatus.closed
    trail = db_session.scalars(select(ComplaintEvent).where(
        ComplaintEvent.complaint_id == masked.id).order_by(ComplaintEvent.id)).all()
    assert [(e.action, e.detail) for e in trail][-2:] == [("note", "回拨138****5678未接"),
                                                          (MASKED_EVENT, None)]
    assert trail[-1].actor == "retention" and trail[-1].at == NOW
    for untouched in ("conv-open-old", "conv-closed-new"):
        complaint = complaints[untouched]
        assert complaint.contact_phone == PHONE
        assert complaint.transcript[0]["text"] == f"身份证{ID_NUMBER}"
        notes = db_session.scalars(select(ComplaintEvent.detail).where(
            ComplaintEvent.complaint_id == complaint.id, ComplaintEvent.action == "note"))
        assert list(notes) == [f"回拨{PHONE}未接"]


def test_a_second_run_changes_nothing(db_url: str, db_session: Session,
                                      missing_tracker: str) -> None:
    populate(db_session)
    list(run(db_url, missing_tracker, policy(), now=NOW))
    before = snapshot(db_session)
    assert set(outcomes(db_url, missing_tracker).values()) == {0}
    assert snapshot(db_session) == before


def test_a_dry_run_counts_the_same_rows_and_changes_nothing(
        db_url: str, db_session: Session, missing_tracker: str) -> None:
    populate(db_session)
    before = snapshot(db_session)
    assert outcomes(db_url, missing_tracker, dry_run=True) == EXPECTED
    assert snapshot(db_session) == before


def test_small_batches_reach_every_row(db_url: str, db_session: Session,
                                       missing_tracker: str) -> None:
    populate(db_session)
    for number in range(7):
        db_session.add(AuthFailure(identifier_hash=f"{number:064}", channel=Channel.voice,
                                   at=days_ago(40), reason="mismatch"))
        db_session.add(CallbackRequest(channel=Channel.voice, phone=f"1391234567{number}",
                                       status=CallbackStatus.done, created_at=days_ago(100),
                                       done_at=days_ago(95)))
    db_session.commit()
    counted = outcomes(db_url, missing_tracker, policy=policy(batch_size=2))
    assert counted[("auth_failures", "auth_failures")] == 8
    assert counted[("callback_phones", "callback_requests")] == 8
    assert db_session.scalar(select(func.count()).select_from(AuthFailure)) == 1
    assert db_session.scalar(select(func.count()).select_from(CallbackRequest).where(
        CallbackRequest.phone.not_like("%*%"))) == 2  # the recent one and the open one


# ------------------------------------------------------------ tracker store


def _conversation(sender: str, start: datetime) -> dict[str, Any]:
    return {"sender": sender, "channel": "webchat", "start": start.timestamp(),
            "steps": [{"user": f"身份证{ID_NUMBER}", "intent": "inform"},
                      {"action": "action_listen"}]}


def test_tracker_events_older_than_the_period_are_deleted(
        tracker_db_url: str, db_url: str) -> None:
    write_conversations(tracker_db_url, [_conversation("web-old", days_ago(181)),
                                         _conversation("web-new", days_ago(179))])
    engine = retention.tracker_engine(tracker_db_url)
    assert engine is not None

    def senders() -> dict[str, int]:
        with engine.connect() as connection:
            return dict(connection.execute(
                select(events.c.sender_id, func.count())
                .group_by(events.c.sender_id)).all())

    per_conversation = senders()["web-old"]
    assert per_conversation == 5
    dry = purge_tracker(tracker_db_url, policy(), now=NOW, dry_run=True)
    assert dry.rows == per_conversation and senders() == {"web-old": 5, "web-new": 5}
    first = purge_tracker(tracker_db_url, policy(batch_size=2), now=NOW, dry_run=False)
    assert first.rows == per_conversation
    assert senders() == {"web-new": 5}
    assert purge_tracker(tracker_db_url, policy(batch_size=2), now=NOW, dry_run=False).rows == 0
    assert senders() == {"web-new": 5}
    engine.dispose()


def test_the_tracker_engine_hides_parameters(db_url: str,
                                            caplog: pytest.LogCaptureFixture) -> None:
    writer = make_engine(db_url)
    with writer.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE events (id INTEGER PRIMARY KEY, timestamp FLOAT)")
    writer.dispose()
    engine = retention.tracker_engine(db_url)
    assert engine is not None
    try:
        assert_parameters_hidden(engine, caplog)
    finally:
        engine.dispose()


def test_a_missing_tracker_store_is_skipped_not_created(missing_tracker: str) -> None:
    outcome = purge_tracker(missing_tracker, policy(), now=NOW, dry_run=False)
    assert outcome.cutoff is None and outcome.rows == 0
    assert not Path(missing_tracker[len("sqlite:///"):]).parent.exists()


# ------------------------------------------------------------------ the file


def test_the_project_file_names_every_period() -> None:
    loaded = load_policy(settings=Settings())
    assert set(loaded.periods) == set(PERIOD_NAMES) == set(PERIODS)
    assert loaded.periods["tracker_events"] == 180 and loaded.periods["auth_failures"] == 30


def test_every_table_is_looked_after_or_kept_for_a_stated_reason() -> None:
    ruled = {rule.table for rule in RULES}
    assert not ruled & set(KEPT_TABLES)
    assert ruled | set(KEPT_TABLES) == set(metadata.tables)


def _write(tmp_path: Path, periods: dict[str, Any], **extra: Any) -> Path:
    path = tmp_path / "retention.yml"
    path.write_text(yaml.safe_dump({"periods": periods, **extra}), encoding="utf-8")
    return path


@pytest.mark.parametrize(("change", "message"), [
    ({"tracker_events": None}, "missing periods ['tracker_events']"),
    ({"tracker_event": 10}, "unknown periods ['tracker_event']"),
    ({"auth_failures": 0}, "periods.auth_failures must be a whole number of days"),
    ({"sms_outbox": "90 days"}, "periods.sms_outbox must be a whole number of days"),
    ({"call_numbers": 1.5}, "periods.call_numbers must be a whole number of days"),
])
def test_a_bad_period_is_refused_with_its_name(tmp_path: Path, change: dict[str, Any],
                                               message: str) -> None:
    periods = {**PERIODS, **change}
    periods = {name: days for name, days in periods.items() if days is not None}
    with pytest.raises(PolicyError, match=f"retention.yml: .*{message}".replace("[", r"\[")
                       .replace("]", r"\]")):
        load_policy(_write(tmp_path, periods), Settings())


def test_deleting_failures_may_not_lift_a_lock_out(tmp_path: Path) -> None:
    path = _write(tmp_path, {**PERIODS, "auth_failures": 1})
    assert load_policy(path, Settings(auth_failure_window_hours=24)).periods["auth_failures"] == 1
    with pytest.raises(PolicyError, match="auth_failures .*AUTH_FAILURE_WINDOW_HOURS"):
        load_policy(path, Settings(auth_failure_window_hours=48, auth_source_window_hours=48))


def test_deleting_source_outcomes_may_not_lift_a_throttle(tmp_path: Path) -> None:
    path = _write(tmp_path, {**PERIODS, "auth_source_events": 2})
    assert load_policy(path, Settings(auth_source_window_hours=48)).periods[
        "auth_source_events"] == 2
    with pytest.raises(PolicyError, match="auth_source_events .*AUTH_SOURCE_WINDOW_HOURS"):
        load_policy(path, Settings(auth_source_window_hours=72))


def test_batch_size_is_bounded(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="batch_size must be 1-10000"):
        load_policy(_write(tmp_path, PERIODS, batch_size=0), Settings())


# ------------------------------------------------------------ command line


def test_the_command_prints_each_table_and_a_dry_run_changes_nothing(
        db_url: str, db_session: Session, missing_tracker: str,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    now = datetime.now(timezone.utc)
    for number, age in enumerate((31, 40, 29)):
        db_session.add(AuthFailure(identifier_hash=f"{number:064}", channel=Channel.voice,
                                   at=now - timedelta(days=age), reason="mismatch"))
    db_session.add(CallbackRequest(channel=Channel.voice, phone=PHONE, status=CallbackStatus.done,
                                   created_at=now - timedelta(days=100),
                                   done_at=now - timedelta(days=95)))
    db_session.commit()
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("TRACKER_DB_URL", missing_tracker)
    assert retention.main(["--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert "dry run: nothing is changed" in printed
    assert "auth_failures" in printed and "would be deleted" in printed
    assert db_session.scalar(select(func.count()).select_from(AuthFailure)) == 3
    assert retention.main([]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 + len(EXPECTED)
    by_rule = {tuple(line.split()[:2]): line.split()[2:4] for line in lines[1:]}
    assert by_rule[("auth_failures", "auth_failures")] == ["deleted:", "2"]
    assert by_rule[("callback_phones", "callback_requests")] == ["masked:", "1"]
    assert by_rule[("tracker_events", "events")] == ["skipped:", "no"]
    assert PHONE not in "\n".join(lines)
    db_session.rollback()  # a new snapshot (SQLite keeps the old one in a read transaction)
    assert db_session.scalar(select(func.count()).select_from(AuthFailure)) == 1


def test_a_database_that_refuses_fails_its_rules_only(
        db_url: str, db_session: Session, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    db_session.add(AuthFailure(identifier_hash="x" * 64, channel=Channel.voice,
                               at=datetime.now(timezone.utc) - timedelta(days=40),
                               reason="mismatch"))
    db_session.commit()
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("TRACKER_DB_URL", "postgresql://rasa@127.0.0.1:1/tracker")
    assert retention.main([]) == 1
    lines = capsys.readouterr().out.splitlines()
    tracker = next(line for line in lines if line.startswith("tracker_events"))
    assert "FAILED: OperationalError" in tracker and "TRACKER_DB_URL" in tracker
    failures = next(line for line in lines if line.startswith("auth_failures"))
    assert failures.split()[2:4] == ["deleted:", "1"]  # the records were still looked after
    assert any(record.exc_info for record in caplog.records if record.levelno == logging.ERROR)
