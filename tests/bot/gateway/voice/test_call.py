"""One call across its webhooks (bot/gateway/voice/call.py): the turn claimed once,
retries answered from the turn record, stale and odd webhooks, the database down
before the turn, and the end of the call.

Rasa is unreachable here on purpose (a closed port): nothing here needs it.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.gateway.voice import store
from bot.records.db import session_scope
from bot.records.voice_models import (
    CallOutcome,
    TurnStatus,
    VoiceCall,
    VoiceCallState,
    VoiceTurn,
)
from bot.settings import load_settings
from tests.bot.gateway.voice.conftest import (
    CALLER,
    MAIN_MENU_WORDS,
    Twilio,
    call_sid,
    parse,
    spoken,
    start,
)


# ------------------------------------------------------------------ incoming


def test_incoming_call_greets_and_listens_for_keys_and_mandarin_speech(twilio: Twilio) -> None:
    doc = start(twilio)
    assert doc.tag == "Response"
    gather = doc.xpath("/Response/Gather")[0]
    assert gather.get("input") == "dtmf speech"
    assert gather.get("language") == "cmn-Hans-CN"
    assert gather.get("numDigits") == "1"
    assert gather.get("bargeIn") == "true"
    assert gather.get("action") == "turn?t=1"
    assert "公积金" in gather.get("hints").split(", ")
    assert "嘛" not in gather.get("hints").split(", ")
    say = gather.xpath("Say")[0]
    assert say.get("voice") == "Polly.Zhiyu-Neural"
    assert say.get("language") == "cmn-CN"
    heard = spoken(doc)
    assert heard.startswith("您好，欢迎致电成都住房公积金管理中心九六三幺九服务热线")
    assert MAIN_MENU_WORDS in heard and "人工服务请按零" in heard
    assert doc.xpath("string(/Response/Redirect)") == "noinput?t=1"
    assert doc.xpath("/Response/Redirect/@method") == ["POST"]


def test_a_retried_incoming_webhook_gets_the_same_answer_once(twilio: Twilio, db_url: str) -> None:
    first = twilio.post("/voice/incoming", CallSid=call_sid(), From=CALLER)
    second = twilio.post("/voice/incoming", CallSid=call_sid(), From=CALLER)
    assert first.data == second.data
    with session_scope(db_url) as session:
        assert session.scalar(select(func.count(VoiceCall.id))) == 1


# ------------------------------------------------------------------ odd webhooks


@pytest.mark.parametrize("sid", ["", "CA123", "XX" + "0" * 32, "CA" + "G" * 32, "CA" + "0" * 40])
def test_missing_or_odd_call_sid_gets_a_spoken_apology_and_hangup(twilio: Twilio, sid: str) -> None:
    params = {"From": CALLER} if not sid else {"CallSid": sid, "From": CALLER}
    doc = twilio.twiml("/voice/turn?t=1", **params)
    assert "本次通话信息有误" in spoken(doc)
    assert doc.xpath("/Response/Hangup")


def test_unknown_call_sid_starts_the_call_properly(twilio: Twilio) -> None:
    doc = twilio.twiml("/voice/turn?t=7", CallSid=call_sid(42), From=CALLER, Digits="1")
    assert MAIN_MENU_WORDS in spoken(doc)
    assert doc.xpath("//Gather/@action") == ["turn?t=1"]


@pytest.mark.parametrize("turn", ["", "abc", "-1", "99", "1e3"])
def test_a_missing_or_stale_turn_number_repeats_the_current_prompt(twilio: Twilio, turn: str) -> None:
    start(twilio)
    doc = twilio.twiml(f"/voice/turn?t={turn}", CallSid=call_sid(), From=CALLER, Digits="3")
    assert MAIN_MENU_WORDS in spoken(doc)
    assert doc.xpath("//Gather/@action") == ["turn?t=1"]


# ------------------------------------------------------------------ exactly once


def test_the_same_turn_posted_twice_runs_once(twilio: Twilio, db_url: str) -> None:
    start(twilio)
    first = twilio.post("/voice/turn?t=1", CallSid=call_sid(), Digits="3")
    again = twilio.post("/voice/turn?t=1", CallSid=call_sid(), Digits="3")
    assert first.data == again.data
    with session_scope(db_url) as session:
        state = store.load_state(session, call_sid())
        assert state is not None and state.turn == 2 and state.turns == 1


def test_a_turn_still_being_handled_makes_the_copy_wait_and_retry(twilio: Twilio, db_url: str) -> None:
    start(twilio)
    with session_scope(db_url) as session:
        from datetime import datetime, timezone

        store.claim_turn(session, call_sid(), "turn:1", now=datetime.now(timezone.utc))
    doc = twilio.twiml("/voice/turn?t=1", CallSid=call_sid(), Digits="3")
    assert "正在为您办理，请稍候" in spoken(doc)
    assert doc.xpath("string(/Response/Redirect)") == "turn?t=1"
    assert doc.xpath("/Response/Pause")


def test_turn_rows_record_their_answers(twilio: Twilio, db_url: str) -> None:
    start(twilio)
    twilio.twiml("/voice/turn?t=1", CallSid=call_sid(), Digits="3")
    with session_scope(db_url) as session:
        rows = session.scalars(select(VoiceTurn)).all()
        assert {row.turn_key for row in rows} == {"incoming", "turn:1"}
        assert all(row.status is TurnStatus.done and row.twiml for row in rows)


# ------------------------------------------------------------------ no database


def test_database_down_still_answers_with_twiml(twilio: Twilio, app) -> None:  # type: ignore[no-untyped-def]
    service = app.extensions["voice"]
    broken = load_settings({"HOTLINE_ENV": "test",
                            "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    original = service.settings
    service.settings = broken
    try:
        doc = twilio.twiml("/voice/incoming", CallSid=call_sid(), From=CALLER)
    finally:
        service.settings = original
    assert spoken(doc).startswith("非常抱歉，系统暂时出现故障")
    assert doc.xpath("/Response/Dial")



CALL_AGAIN = ("非常抱歉，系统暂时出现故障。如需投诉，也可以直接拨打监督电话八六二七九二九八。"
              "请您稍后再拨打九六三幺九。")


@pytest.mark.parametrize(("dial_status", "heard"), [
    ("completed", ""),  # the agent hung up: so does the line
    ("answered", ""),
    ("no-answer", CALL_AGAIN),
    ("busy", CALL_AGAIN),
])
def test_the_end_of_a_transfer_with_the_database_down_is_not_transferred_again(
        twilio: Twilio, app, dial_status: str, heard: str) -> None:  # type: ignore[no-untyped-def]
    """The apology's transfer ends while the records are still down: no second transfer
    (with the database down it would loop for as long as the outage lasts)."""
    service = app.extensions["voice"]
    original = service.settings
    service.settings = load_settings({"HOTLINE_ENV": "test",
                                      "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    try:
        doc = twilio.twiml("/voice/dial?t=0", CallSid=call_sid(), From=CALLER,
                           DialCallStatus=dial_status)
    finally:
        service.settings = original
    assert spoken(doc).startswith(heard) and (heard or spoken(doc) == "")
    assert not doc.xpath("//Dial")
    assert doc.xpath("/Response/Hangup")


# ------------------------------------------------------------------ end of call


def test_status_callback_records_duration_and_outcome_and_forgets_the_state(
        twilio: Twilio, db_url: str) -> None:
    start(twilio)
    twilio.twiml("/voice/turn?t=1", CallSid=call_sid(), Digits="3")
    response = twilio.post("/voice/status", CallSid=call_sid(), CallStatus="completed",
                           CallDuration="42")
    assert response.status_code == 200
    assert parse(response.data).tag == "Response"
    with session_scope(db_url) as session:
        call = session.scalar(select(VoiceCall))
        assert call.duration_seconds == 42
        assert call.twilio_status == "completed"
        assert call.outcome is CallOutcome.abandoned
        assert call.ended_at is not None
        assert session.scalar(select(func.count(VoiceCallState.id))) == 0
        assert session.scalar(select(func.count(VoiceTurn.id))) == 0


@pytest.mark.parametrize("status", ["ringing", "in-progress", "", "weird"])
def test_status_callbacks_that_are_not_the_end_change_nothing(
        twilio: Twilio, db_url: str, status: str) -> None:
    start(twilio)
    twilio.post("/voice/status", CallSid=call_sid(), CallStatus=status)
    with session_scope(db_url) as session:
        assert session.scalar(select(VoiceCall.outcome)) is None
        assert session.scalar(select(func.count(VoiceCallState.id))) == 1


def test_status_callback_for_an_unknown_call_is_harmless(twilio: Twilio) -> None:
    response = twilio.post("/voice/status", CallSid=call_sid(99), CallStatus="completed")
    assert response.status_code == 200
