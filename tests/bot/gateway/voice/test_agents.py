"""The way to a person (bot/gateway/voice/agents.py): silence, the person key,
callbacks after hours (with the caller's number, or one keyed in), a transfer
nobody answers, and the apology when Rasa is down.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.gateway.voice.agents import callback_phone
from bot.records.db import session_scope
from bot.records.service_models import CallbackRequest, Handover
from bot.records.voice_models import CallOutcome, VoiceCall
from tests.bot.gateway.voice.conftest import (
    AFTER_HOURS,
    MAIN_MENU_WORDS,
    Twilio,
    call_sid,
    spoken,
    start,
)


# ------------------------------------------------------------------ silence


def test_silence_once_reprompts_twice_transfers_in_agent_hours(twilio: Twilio, db_url: str) -> None:
    start(twilio)
    once = twilio.twiml("/voice/noinput?t=1", CallSid=call_sid())
    assert spoken(once).startswith("您好，您还在线吗？")
    assert MAIN_MENU_WORDS in spoken(once)
    twice = twilio.twiml("/voice/noinput?t=2", CallSid=call_sid())
    assert "正在为您转接人工客服" in spoken(twice)
    assert twice.xpath("string(/Response/Dial/Sip)") == "sip:agents@pbx.invalid"
    assert twice.xpath("/Response/Dial/@action") == ["dial?t=3"]
    with session_scope(db_url) as session:
        handover = session.scalar(select(Handover).where(Handover.conversation_id == call_sid()))
        assert handover is not None and handover.reason == "no_input"


def test_silence_twice_after_hours_records_a_callback_and_says_goodbye(
        twilio: Twilio, clock, db_url: str) -> None:  # type: ignore[no-untyped-def]
    clock.now = AFTER_HOURS
    start(twilio)
    twilio.twiml("/voice/noinput?t=1", CallSid=call_sid())
    doc = twilio.twiml("/voice/noinput?t=2", CallSid=call_sid())
    heard = spoken(doc)
    assert "现在不是人工客服的工作时间" in heard
    assert "上午九点到十二点、下午一点半到五点半" in heard
    assert "尾号零零零九" in heard
    assert doc.xpath("/Response/Hangup") and not doc.xpath("//Dial")
    with session_scope(db_url) as session:
        callback = session.scalar(select(CallbackRequest))
        assert callback.phone == "13800000009" and callback.channel.value == "voice"


# ------------------------------------------------------------------ people


def test_key_zero_after_hours_becomes_a_callback_with_the_callers_number(
        twilio: Twilio, clock, db_url: str) -> None:  # type: ignore[no-untyped-def]
    clock.now = AFTER_HOURS
    start(twilio)
    doc = twilio.twiml("/voice/turn?t=1", CallSid=call_sid(), Digits="0")
    assert "已为您登记回电" in spoken(doc)
    assert doc.xpath("//Gather") and not doc.xpath("//Dial")
    with session_scope(db_url) as session:
        callback = session.scalar(select(CallbackRequest))
        assert callback.phone == "13800000009"
        assert callback.conversation_id == call_sid()


@pytest.mark.parametrize(("caller", "phone"), [("+862886279298", "02886279298"),
                                               ("+8613912345678", "13912345678")])
def test_callback_numbers_from_e164(twilio: Twilio, clock, db_url: str, caller: str, phone: str) -> None:  # type: ignore[no-untyped-def]
    clock.now = AFTER_HOURS
    start(twilio, caller=caller)
    twilio.twiml("/voice/turn?t=1", CallSid=call_sid(), Digits="0")
    with session_scope(db_url) as session:
        assert session.scalar(select(CallbackRequest.phone)) == phone


def test_withheld_number_is_asked_for_a_callback_number(twilio: Twilio, clock, db_url: str) -> None:  # type: ignore[no-untyped-def]
    clock.now = AFTER_HOURS
    start(twilio, caller="anonymous")
    ask = twilio.twiml("/voice/turn?t=1", CallSid=call_sid(), Digits="0")
    assert "请输入您的手机号" in spoken(ask)
    assert ask.xpath("//Gather/@input") == ["dtmf"]
    assert ask.xpath("//Gather/@finishOnKey") == ["#"]
    wrong = twilio.twiml("/voice/turn?t=2", CallSid=call_sid(), Digits="12345")
    assert "这个号码格式不对" in spoken(wrong)
    done = twilio.twiml("/voice/turn?t=3", CallSid=call_sid(), Digits="13712345678")
    assert "尾号五六七八" in spoken(done)
    with session_scope(db_url) as session:
        assert session.scalar(select(CallbackRequest.phone)) == "13712345678"


def test_dial_not_answered_offers_a_callback(twilio: Twilio, db_url: str) -> None:
    start(twilio)
    twilio.twiml("/voice/noinput?t=1", CallSid=call_sid())
    twilio.twiml("/voice/noinput?t=2", CallSid=call_sid())
    doc = twilio.twiml("/voice/dial?t=3", CallSid=call_sid(), DialCallStatus="no-answer")
    assert "坐席现在都在忙" in spoken(doc) and "尾号零零零九" in spoken(doc)
    twilio.post("/voice/status", CallSid=call_sid(), CallStatus="completed", CallDuration="95")
    with session_scope(db_url) as session:
        assert session.scalar(select(VoiceCall.outcome)) is CallOutcome.callback


# ------------------------------------------------------------------ failures


def test_rasa_down_in_hours_apologises_and_transfers(twilio: Twilio, db_url: str) -> None:
    start(twilio)
    doc = twilio.twiml("/voice/turn?t=1", CallSid=call_sid(), Digits="1")
    heard = spoken(doc)
    assert heard.startswith("非常抱歉，系统暂时出现故障")
    assert doc.xpath("/Response/Dial/Sip")
    with session_scope(db_url) as session:
        handover = session.scalar(select(Handover))
        assert handover.reason == "backend_error"
        assert handover.intent_path == "query_balance"


def test_rasa_down_after_hours_apologises_with_a_callback(twilio: Twilio, clock) -> None:  # type: ignore[no-untyped-def]
    clock.now = AFTER_HOURS
    start(twilio)
    doc = twilio.twiml("/voice/turn?t=1", CallSid=call_sid(), SpeechResult="我要查余额")
    heard = spoken(doc)
    assert heard.startswith("非常抱歉，系统暂时出现故障")
    assert "已为您登记回电" in heard
    assert doc.xpath("/Response/Hangup")


def test_rasa_down_after_hours_asks_a_withheld_caller_for_a_callback_number(
        twilio: Twilio, clock, db_url: str) -> None:  # type: ignore[no-untyped-def]
    clock.now = AFTER_HOURS
    start(twilio, caller="anonymous")
    doc = twilio.twiml("/voice/turn?t=1", CallSid=call_sid(), SpeechResult="我要投诉")
    heard = spoken(doc)
    assert heard.startswith("非常抱歉，系统暂时出现故障") and "监督电话" in heard
    assert "请输入您的手机号" in heard and doc.xpath("//Gather/@input") == ["dtmf"]
    done = twilio.twiml("/voice/turn?t=2", CallSid=call_sid(), Digits="13712345678#")
    assert "尾号五六七八" in spoken(done)
    with session_scope(db_url) as session:
        assert session.scalar(select(CallbackRequest.phone)) == "13712345678"


# ------------------------------------------------------------------ callback numbers


@pytest.mark.parametrize(
    ("number", "phone"),
    [("+8613800000001", "13800000001"), ("+862886279298", "02886279298"),
     ("13800000001", "13800000001"), ("anonymous", None), ("+12025550123", None),
     ("", None), (None, None), ("+8675512345678", None)],
)
def test_callback_phone_from_twilio_numbers(number, phone) -> None:  # type: ignore[no-untyped-def]
    assert callback_phone(number) == phone
