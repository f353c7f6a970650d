"""The phone line's records (bot/gateway/voice/store.py) on SQLite and PostgreSQL.

Each step commits in a transaction of its own, the way the webhook uses the
store: a turn is claimed once, a retry of the same turn finds it (and, once
finished, its answer), and the call state survives the trip to the database.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from bot.gateway.voice import store
from bot.gateway.voice.readout import Pause
from bot.gateway.voice.store import CallState
from bot.records.db import session_scope
from bot.records.voice_models import (
    CallOutcome,
    TurnStatus,
    VoiceCall,
    VoiceCallState,
    VoiceTurn,
)

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)
SID = "CA" + "1" * 32
OTHER = "CA" + "2" * 32


def begin(db_url: str, sid: str = SID, now: datetime = NOW) -> CallState:
    with session_scope(db_url) as session:
        return store.start_call(session, sid, from_number="+8613800000009",
                                to_number="+862896319", now=now)


# ------------------------------------------------------------------ the call


def test_a_new_call_is_recorded_once(db_url: str) -> None:
    first = begin(db_url)
    again = begin(db_url)  # Twilio retried the incoming webhook
    assert first.is_new and not again.is_new
    assert (first.call_sid, first.from_number, first.turn, first.mode, first.menu) == (
        SID, "+8613800000009", 0, "menu", "main")
    with session_scope(db_url) as session:
        assert session.scalar(select(func.count(VoiceCall.id))) == 1
        assert session.scalar(select(func.count(VoiceCallState.id))) == 1
        assert session.scalar(select(VoiceCall.started_at)) == NOW


def test_an_unknown_call_has_no_state(db_url: str) -> None:
    with session_scope(db_url) as session:
        assert store.load_state(session, OTHER) is None


def test_the_state_survives_the_round_trip(db_url: str) -> None:
    state = begin(db_url)
    state.turn, state.mode, state.menu = 5, "buttons", "policy"
    state.buttons = [{"title": "确认", "payload": "/affirm"}, {"title": "修改", "payload": "/deny"}]
    state.speech = ["尾号", "幺零二零", Pause(250), "三零四零"]
    state.reprompt = ["请按1"]
    state.no_input, state.no_match = 1, 2
    state.sealed_identifier = "sealed-blob"
    state.secure_retries, state.secure_failures = 1, 3
    state.masked_account = "1020****5060"
    state.intents = ["query_balance", "authenticated"]
    state.turns, state.answered, state.transferred = 4, True, True
    state.callback_requested, state.ended_by_assistant = True, True
    with session_scope(db_url) as session:
        store.save_state(session, state, now=NOW + timedelta(seconds=30))
    with session_scope(db_url) as session:
        loaded = store.load_state(session, SID)
    assert loaded == CallState(**{**vars(state), "is_new": False})
    assert loaded.speech[2] == Pause(250)


def test_only_the_last_twenty_intents_are_kept(db_url: str) -> None:
    state = begin(db_url)
    state.intents = [f"intent_{n}" for n in range(25)]
    with session_scope(db_url) as session:
        store.save_state(session, state, now=NOW)
    with session_scope(db_url) as session:
        assert store.load_state(session, SID).intents == [f"intent_{n}" for n in range(5, 25)]


@pytest.mark.parametrize(
    ("raw", "parts"),
    [
        (None, []),
        (["你好", {"pause": 250}, "再见"], ["你好", Pause(250), "再见"]),
        ([{"pause": "long"}, 7, {"other": 1}, "留下"], ["留下"]),  # damaged entries are dropped
    ],
)
def test_spoken_parts_from_json(raw, parts) -> None:  # type: ignore[no-untyped-def]
    assert store.parts_from_json(raw) == parts
    assert store.parts_from_json(store.parts_to_json(parts)) == parts


# ------------------------------------------------------------------ turns


def test_a_turn_is_claimed_once(db_url: str) -> None:
    begin(db_url)
    with session_scope(db_url) as session:
        assert store.claim_turn(session, SID, "turn:1", now=NOW)
    with session_scope(db_url) as session:  # the retried webhook
        assert not store.claim_turn(session, SID, "turn:1", now=NOW)
        row = store.find_turn(session, SID, "turn:1")
        assert row is not None and row.status is TurnStatus.processing and row.twiml is None
    with session_scope(db_url) as session:  # another turn, or another call, is its own
        assert store.claim_turn(session, SID, "turn:2", now=NOW)
        assert store.find_turn(session, OTHER, "turn:1") is None


def test_a_retry_finds_the_answer_of_the_finished_turn(db_url: str) -> None:
    begin(db_url)
    with session_scope(db_url) as session:
        store.claim_turn(session, SID, "turn:1", now=NOW)
    with session_scope(db_url) as session:
        store.finish_turn(session, SID, "turn:1", "<Response/>", now=NOW + timedelta(seconds=1))
    with session_scope(db_url) as session:
        assert not store.claim_turn(session, SID, "turn:1", now=NOW)
        row = store.find_turn(session, SID, "turn:1")
        assert (row.status, row.twiml) == (TurnStatus.done, "<Response/>")
        assert session.scalar(select(func.count(VoiceTurn.id))) == 1


def test_a_failed_claim_leaves_the_transaction_usable(db_url: str) -> None:
    begin(db_url)
    with session_scope(db_url) as session:
        store.claim_turn(session, SID, "turn:1", now=NOW)
    with session_scope(db_url) as session:
        assert not store.claim_turn(session, SID, "turn:1", now=NOW)
        state = store.load_state(session, SID)  # the same transaction goes on
        state.turn = 2
        store.save_state(session, state, now=NOW)
    with session_scope(db_url) as session:
        assert store.load_state(session, SID).turn == 2


# ------------------------------------------------------------------ end of call


@pytest.mark.parametrize(
    ("flags", "outcome"),
    [
        ({}, CallOutcome.abandoned),
        ({"answered": True}, CallOutcome.resolved),
        ({"ended_by_assistant": True}, CallOutcome.resolved),
        ({"callback_requested": True, "answered": True}, CallOutcome.callback),
        ({"transferred": True, "callback_requested": True}, CallOutcome.transferred),
    ],
)
def test_the_end_of_a_call_records_its_outcome_and_forgets_its_working_data(
        db_url: str, flags: dict, outcome: CallOutcome) -> None:
    state = begin(db_url)
    for name, value in flags.items():
        setattr(state, name, value)
    with session_scope(db_url) as session:
        store.save_state(session, state, now=NOW)
        store.claim_turn(session, SID, "turn:1", now=NOW)
    with session_scope(db_url) as session:
        ended = store.end_call(session, SID, status="completed", duration=42,
                               now=NOW + timedelta(minutes=1))
    assert ended is outcome
    with session_scope(db_url) as session:
        call = session.scalar(select(VoiceCall))
        assert (call.outcome, call.duration_seconds, call.twilio_status) == (outcome, 42, "completed")
        assert call.ended_at == NOW + timedelta(minutes=1)
        assert store.load_state(session, SID) is None
        assert session.scalar(select(func.count(VoiceTurn.id))) == 0


def test_the_end_of_an_unknown_call_is_none(db_url: str) -> None:
    with session_scope(db_url) as session:
        assert store.end_call(session, OTHER, status="completed", duration=None, now=NOW) is None


def test_stale_calls_are_forgotten(db_url: str) -> None:
    begin(db_url, SID, now=NOW - store.STALE_AFTER - timedelta(minutes=1))
    begin(db_url, OTHER, now=NOW)
    with session_scope(db_url) as session:
        store.claim_turn(session, SID, "turn:1", now=NOW)
    with session_scope(db_url) as session:
        assert store.purge_stale(session, now=NOW) == 1
    with session_scope(db_url) as session:
        assert store.load_state(session, SID) is None
        assert store.load_state(session, OTHER) is not None
        assert store.find_turn(session, SID, "turn:1") is None
        assert session.scalar(select(func.count(VoiceCall.id))) == 2  # the records stay
