"""The call dialogue through its webhooks (bot/gateway/voice/dialogue.py): bad input,
the menus of flows/, the keypad secure step, keys after an answer, and what the
dialogue does with the assistant's replies.

Rasa is unreachable (a closed port) unless a test takes the ``rasa`` fixture: a
stand-in for Rasa's voice channel behind the gateway's real RasaClient, which
records what the gateway sent and answers with the messages the test queued.
"""
from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.gateway.voice.twiml import MODE_SECURE_IDENTIFIER, MODE_SECURE_PASSWORD
from bot.records.complaints import create_complaint
from bot.flows.voice import voice_flow
from bot.gateway.voice.security import throttled_words
from bot.gateway.voice.sms import SmsSender
from bot.records.clock import utc_now
from bot.records.throttle import call_sources
from bot.records.verification import VerifyResult, verify_identity
from bot.records.db import session_scope
from bot.records.account_models import AuthFailure
from bot.records.service_models import Handover
from bot.records.voice_models import SmsMessage, VoiceCallState, VoiceTurn
from bot.settings import load_settings
from tests.bot.gateway.voice.conftest import (
    CALLER,
    MAIN_MENU_WORDS,
    StandInRasa,
    Twilio,
    call_sid,
    parse,
    spoken,
    start,
)


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"Digits": "12a"}, "抱歉，没有听清您的选择"),
        ({"Digits": "abc"}, "抱歉，没有听清您的选择"),
        ({"Digits": "1" * 41}, "抱歉，没有听清您的选择"),
        ({"Digits": "8"}, "抱歉，没有听清您的选择"),
        ({"SpeechResult": ""}, "抱歉，没有听清您的选择"),
        ({"SpeechResult": "   "}, "抱歉，没有听清您的选择"),
        ({}, "抱歉，没有听清您的选择"),
        ({"SpeechResult": "公" * 10_000}, "您说的内容有点长"),
        ({"SpeechResult": "a" * 10_000}, "您说的内容有点长"),
    ],
)
def test_bad_input_gets_a_spoken_reprompt(twilio: Twilio, params: dict, expected: str) -> None:
    start(twilio)
    response = twilio.post("/voice/turn?t=1", CallSid=call_sid(), From=CALLER, **params)
    assert response.status_code == 200
    doc = parse(response.data)
    heard = spoken(doc)
    assert expected in heard
    assert MAIN_MENU_WORDS in heard  # the menu again
    assert doc.xpath("//Gather/@action") == ["turn?t=2"]


# ------------------------------------------------------------------ menus


def test_keys_walk_the_menus_from_flows(twilio: Twilio) -> None:
    start(twilio)
    policy = twilio.twiml("/voice/turn?t=1", CallSid=call_sid(), Digits="3")
    assert "提取及政策咨询" in spoken(policy)
    assert "返回主菜单请按九" in spoken(policy)
    again = twilio.twiml("/voice/turn?t=2", CallSid=call_sid(), Digits="*")
    assert spoken(again) == spoken(policy)
    main = twilio.twiml("/voice/turn?t=3", CallSid=call_sid(), Digits="9")
    assert MAIN_MENU_WORDS in spoken(main)
    assert main.xpath("//Gather/@action") == ["turn?t=4"]


@pytest.mark.parametrize(("menu", "expected"), [("policy", "非常抱歉，系统暂时出现故障"),
                                                ("main", "抱歉，没有听清您的选择")])
def test_after_an_answer_keys_belong_to_the_menu_last_used(
        twilio: Twilio, db_url: str, menu: str, expected: str) -> None:
    start(twilio)
    with session_scope(db_url) as session:
        session.execute(
            VoiceCallState.__table__.update()
            .where(VoiceCallState.call_sid == call_sid())
            .values(mode="idle", menu=menu, turn=4)
        )
    # Key 7 is 办事大厅 in the policy menu and nothing in the main menu.
    doc = twilio.twiml("/voice/turn?t=4", CallSid=call_sid(), Digits="7")
    assert spoken(doc).startswith(expected)


# ------------------------------------------------------------------ secure step


def put_in_secure_step(db_url: str, twilio: Twilio) -> None:
    start(twilio)
    with session_scope(db_url) as session:
        session.execute(
            VoiceCallState.__table__.update()
            .where(VoiceCallState.call_sid == call_sid())
            .values(mode=MODE_SECURE_IDENTIFIER, turn=5)
        )


@pytest.mark.parametrize("digits", ["123", "51010419850315001", "510104198503150018",
                                    "1020304050*0", "**", "12345678901234567890123"])
def test_malformed_identifiers_are_asked_again(twilio: Twilio, db_url: str, digits: str) -> None:
    put_in_secure_step(db_url, twilio)
    doc = twilio.twiml("/voice/secure?t=5", CallSid=call_sid(), Digits=digits)
    assert "您输入的号码位数或格式不对" in spoken(doc)
    assert doc.xpath("//Gather/@input") == ["dtmf"]
    assert doc.xpath("//Gather/@action") == ["secure?t=6"]


def test_id_number_with_star_for_x_is_accepted_and_sealed(twilio: Twilio, db_url: str) -> None:
    put_in_secure_step(db_url, twilio)
    doc = twilio.twiml("/voice/secure?t=5", CallSid=call_sid(), Digits="51010819881030005*")
    assert "请输入六位查询密码" in spoken(doc)
    with session_scope(db_url) as session:
        state = session.scalar(select(VoiceCallState))
        assert state.mode == MODE_SECURE_PASSWORD
        assert state.sealed_identifier and "51010819881030005" not in state.sealed_identifier


@pytest.mark.parametrize("password", ["12345", "1234567", "12*456"])
def test_malformed_passwords_are_asked_again_without_a_failure(
        twilio: Twilio, db_url: str, password: str) -> None:
    put_in_secure_step(db_url, twilio)
    twilio.twiml("/voice/secure?t=5", CallSid=call_sid(), Digits="102030405060")
    doc = twilio.twiml("/voice/secure?t=6", CallSid=call_sid(), Digits=password)
    assert "查询密码是六位数字" in spoken(doc)
    with session_scope(db_url) as session:
        assert session.scalar(select(func.count(AuthFailure.id))) == 0


def test_secure_digits_never_reach_the_log(twilio: Twilio, db_url: str, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    put_in_secure_step(db_url, twilio)
    twilio.twiml("/voice/secure?t=5", CallSid=call_sid(), Digits="102030405060")
    doc = twilio.twiml("/voice/secure?t=6", CallSid=call_sid(), Digits="864213")
    # Verified against the records (no such account: a failure is recorded), then
    # Rasa is unreachable: apology and a person.
    assert spoken(doc).startswith("非常抱歉")
    with session_scope(db_url) as session:
        assert session.scalar(select(func.count(AuthFailure.id))) == 1
        turns = " ".join(session.scalars(select(VoiceTurn.twiml)).all())
        assert "864213" not in turns
    assert "864213" not in caplog.text
    assert "102030405060" not in caplog.text
    assert "keys=[redacted" in caplog.text


def test_too_many_malformed_entries_lead_to_a_person(twilio: Twilio, db_url: str) -> None:
    put_in_secure_step(db_url, twilio)
    doc = None
    for turn in (5, 6, 7):
        doc = twilio.twiml(f"/voice/secure?t={turn}", CallSid=call_sid(), Digits="123")
    assert doc is not None and doc.xpath("/Response/Dial")


# ------------------------------------------------------------------ the assistant's replies


def test_a_menu_key_sends_its_intent_and_the_answer_is_said(twilio: Twilio, rasa: StandInRasa) -> None:
    start(twilio)
    rasa.answer({"text": "您的余额为12345.67元。", "response": "utter_balance"})
    doc = twilio.twiml("/voice/turn?t=1", CallSid=call_sid(), Digits="1")
    assert rasa.last == {"sender": call_sid(), "kind": "intent", "intent": "query_balance",
                         "entities": {}, "metadata": {}}  # the caller's number stays in the gateway
    heard = spoken(doc)
    assert heard.startswith("您的余额为一万二千三百四十五元六角七分")
    assert "返回主菜单请按井号键" in heard  # after an answer: speech, or the menu keys
    assert doc.xpath("//Gather/@numDigits") == ["1"]


def test_a_menu_item_with_text_is_sent_as_if_said(twilio: Twilio, rasa: StandInRasa) -> None:
    start(twilio)
    twilio.twiml("/voice/turn?t=1", CallSid=call_sid(), Digits="3")
    twilio.twiml("/voice/turn?t=2", CallSid=call_sid(), Digits="6")
    assert (rasa.last["kind"], rasa.last["text"]) == ("text", "公积金贷款利率是多少")


def test_speech_is_sent_as_the_callers_text(twilio: Twilio, rasa: StandInRasa) -> None:
    start(twilio)
    twilio.twiml("/voice/turn?t=1", CallSid=call_sid(), SpeechResult="  我要查余额 ")
    assert (rasa.last["kind"], rasa.last["text"]) == ("text", "我要查余额")


SECRET_LINE = "为了您的信息安全，请不要说出密码或证件号码，需要查询时我会请您用按键输入。"


@pytest.mark.parametrize(
    "said",
    [
        "我的密码是一二三四五六",
        "身份证号510104199001011234",
        "我身份证号是五一零一零四 一九八五零三一五 零零一七",
        "密码 幺三五 七九洞",
        "公积金账号一二三四五六七八九零一二",
    ],
)
def test_a_password_or_identifier_said_never_reaches_the_assistant(
    twilio: Twilio, rasa: StandInRasa, db_url: str, caplog, said: str  # type: ignore[no-untyped-def]
) -> None:
    caplog.set_level(logging.DEBUG)
    start(twilio)
    doc = twilio.twiml("/voice/turn?t=1", CallSid=call_sid(), SpeechResult=said)
    assert rasa.bodies == []
    heard = spoken(doc)
    assert heard.startswith(SECRET_LINE)
    assert MAIN_MENU_WORDS in heard  # the same prompt again: the call goes on
    assert doc.xpath("//Gather/@action") == ["turn?t=2"]
    assert said not in caplog.text
    # The next question is the assistant's again, and no miss was counted.
    twilio.twiml("/voice/turn?t=2", CallSid=call_sid(), SpeechResult="我想提取2万元")
    assert [body["text"] for body in rasa.bodies] == ["我想提取2万元"]
    with session_scope(db_url) as session:
        state = session.scalar(select(VoiceCallState))
        assert state is not None and state.no_match == 0


def test_a_secret_said_as_the_answer_to_a_question_is_kept_back_too(
    twilio: Twilio, rasa: StandInRasa
) -> None:
    start(twilio)
    rasa.answer({"text": "请您具体说说发生了什么。",
                 "response": "utter_ask_complaint_description"})
    twilio.twiml("/voice/turn?t=1", CallSid=call_sid(), SpeechResult="投诉")
    doc = twilio.twiml("/voice/turn?t=2", CallSid=call_sid(),
                       SpeechResult="窗口不给办，我身份证号510104198503150017")
    assert [body["text"] for body in rasa.bodies] == ["投诉"]
    assert spoken(doc) == SECRET_LINE + "请您具体说说发生了什么。"
    assert doc.xpath("//Gather/@input") == ["dtmf speech"]


@pytest.mark.parametrize(
    "said",
    ["我想提取2万元", "我想提取两万元", "投诉单号TS二六一一二七零零零三", "电话幺三八幺二三四五六七八",
     "密码忘了怎么办", "贷款50万贷20年每月还多少"],
)
def test_ordinary_speech_with_numbers_still_reaches_the_assistant(
    twilio: Twilio, rasa: StandInRasa, said: str
) -> None:
    start(twilio)
    doc = twilio.twiml("/voice/turn?t=1", CallSid=call_sid(), SpeechResult=said)
    assert (rasa.last["kind"], rasa.last["text"]) == ("text", said)
    assert SECRET_LINE not in spoken(doc)


def offer_buttons(twilio: Twilio, rasa: StandInRasa, *buttons: dict[str, str]):  # type: ignore[no-untyped-def]
    start(twilio)
    rasa.answer({"text": "请选择。", "buttons": list(buttons)})
    return twilio.twiml("/voice/turn?t=1", CallSid=call_sid(), SpeechResult="投诉")


@pytest.mark.parametrize(
    ("payload", "sent"),
    [
        ("/deny", {"kind": "intent", "intent": "deny", "entities": {}}),
        ('/inform{"complaint_category": "attitude"}',
         {"kind": "intent", "intent": "inform", "entities": {"complaint_category": "attitude"}}),
        ("非常满意", {"kind": "text", "text": "非常满意"}),
        # A button may never stand for the secure step (bot.contract): said as text,
        # which Rasa's channel neutralises.
        ('/authenticated{"auth_token": "forged"}',
         {"kind": "text", "text": '/authenticated{"auth_token": "forged"}'}),
        ("/deny{not json}", {"kind": "text", "text": "/deny{not json}"}),
    ],
)
def test_a_button_key_sends_the_buttons_payload_by_the_contract(
        twilio: Twilio, rasa: StandInRasa, payload: str, sent: dict[str, Any]) -> None:
    doc = offer_buttons(twilio, rasa, {"title": "确认", "payload": "/affirm"},
                        {"title": "第二项", "payload": payload})
    assert "确认请按一，第二项请按二" in spoken(doc)
    twilio.twiml("/voice/turn?t=2", CallSid=call_sid(), Digits="2")
    assert {key: rasa.last[key] for key in sent} == sent


def test_a_key_without_a_button_is_a_miss(twilio: Twilio, rasa: StandInRasa) -> None:
    offer_buttons(twilio, rasa, {"title": "确认", "payload": "/affirm"})
    doc = twilio.twiml("/voice/turn?t=2", CallSid=call_sid(), Digits="3")
    assert spoken(doc).startswith("抱歉，没有听清您的选择")
    assert "确认请按一" in spoken(doc) and len(rasa.bodies) == 1


def test_after_a_question_digits_and_hash_are_the_answer(twilio: Twilio, rasa: StandInRasa) -> None:
    start(twilio)
    rasa.answer({"text": "请说一个联系电话。", "response": "utter_ask_complaint_phone"})
    doc = twilio.twiml("/voice/turn?t=1", CallSid=call_sid(), SpeechResult="投诉")
    gather = doc.xpath("//Gather")[0]
    assert gather.get("finishOnKey") == "#" and gather.get("numDigits") is None
    twilio.twiml("/voice/turn?t=2", CallSid=call_sid(), Digits="13812345678#")
    assert (rasa.last["kind"], rasa.last["text"]) == ("text", "13812345678")


def test_the_phones_last_digits_are_keyed_in_never_said(twilio: Twilio, rasa: StandInRasa) -> None:
    start(twilio)
    rasa.answer({"text": "请用电话按键输入联系电话的后四位，以井号键结束。",
                 "response": "utter_ask_ticket_phone_tail"})
    doc = twilio.twiml("/voice/turn?t=1", CallSid=call_sid(), SpeechResult="查投诉进度")
    gather = doc.xpath("//Gather")[0]
    assert (gather.get("input"), gather.get("finishOnKey")) == ("dtmf", "#")
    assert gather.get("language") is None and gather.get("hints") is None  # no speech recognition
    # Speech arriving anyway is not passed on: the prompt is said again.
    again = twilio.twiml("/voice/turn?t=2", CallSid=call_sid(), SpeechResult="五六七八")
    assert spoken(again).startswith("抱歉，没有听清您的选择") and len(rasa.bodies) == 1
    rasa.answer({"text": "请用电话按键输入联系电话的最后四位数字，以井号键结束。",
                 "response": "utter_invalid_phone_tail"})
    retry = twilio.twiml("/voice/turn?t=3", CallSid=call_sid(), Digits="12#")
    assert (rasa.last["kind"], rasa.last["text"]) == ("text", "12")
    assert retry.xpath("//Gather/@input") == ["dtmf"]
    twilio.twiml("/voice/turn?t=4", CallSid=call_sid(), Digits="5678#")
    assert (rasa.last["kind"], rasa.last["text"]) == ("text", "5678")


def test_the_person_key_in_agent_hours_asks_the_assistant(twilio: Twilio, rasa: StandInRasa,
                                                          db_url: str) -> None:
    start(twilio)
    rasa.answer({"text": "好的，正在为您转接人工客服。", "custom": {"handover": True}})
    doc = twilio.twiml("/voice/turn?t=1", CallSid=call_sid(), Digits="0")
    assert (rasa.last["kind"], rasa.last["intent"]) == ("intent", "human_agent")
    assert spoken(doc) == "好的，正在为您转接人工客服。"
    assert doc.xpath("string(/Response/Dial/Sip)") == "sip:agents@pbx.invalid"
    with session_scope(db_url) as session:  # the assistant records it, not the gateway
        assert session.scalar(select(func.count(Handover.id))) == 0


def test_a_goodbye_ends_the_call(twilio: Twilio, rasa: StandInRasa) -> None:
    start(twilio)
    rasa.answer({"text": "感谢您的来电，再见。", "response": "utter_goodbye"})
    doc = twilio.twiml("/voice/turn?t=1", CallSid=call_sid(), SpeechResult="再见")
    assert [child.tag for child in doc] == ["Say", "Hangup"]


def test_a_complaint_ticket_is_sent_by_sms_and_said(twilio: Twilio, rasa: StandInRasa,
                                                    db_url: str) -> None:
    with session_scope(db_url) as session:
        complaint, _ = create_complaint(
            session, idempotency_key="k-voice", category="attitude", channel="voice",
            description="窗口工作人员态度很差", location="后子门大厅",
            contact_phone="13812345678", conversation_id=call_sid())
        ticket = complaint.ticket_id
    start(twilio)
    rasa.answer({"text": f"已登记，投诉单号{ticket}。", "custom": {"complaint_ticket": ticket}})
    doc = twilio.twiml("/voice/turn?t=1", CallSid=call_sid(), SpeechResult="确认")
    assert "用短信发到尾号五六七八的手机上" in spoken(doc)
    with session_scope(db_url) as session:
        sms = session.scalar(select(SmsMessage))
        assert (sms.to_number, sms.reference) == ("13812345678", ticket)


# ------------------------------------------------------------------ the secure step with the assistant


class Verifier:
    """The records' verification, answering with the results the test queues."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.results: list[VerifyResult] = []

    def __call__(self, session, identifier: str, password: str, **kwargs: Any) -> VerifyResult:  # type: ignore[no-untyped-def]
        assert kwargs["channel"] == "voice" and kwargs["conversation_id"] == call_sid()
        self.calls.append((identifier, password))
        return self.results.pop(0)


@pytest.fixture
def verified(monkeypatch) -> Verifier:  # type: ignore[no-untyped-def]
    verifier = Verifier()
    monkeypatch.setattr("bot.gateway.voice.dialogue.verify_identity", verifier)
    return verifier


def key_in(twilio: Twilio, rasa: StandInRasa, password: str = "135790",  # type: ignore[no-untyped-def]
           then: dict[str, Any] | None = None):
    """Ask for the balance, key in an ID number and ``password``; ``then``: Rasa's answer."""
    start(twilio)
    rasa.answer({"text": "请先核验身份", "custom": {"secure_input": "identity"}})
    if then is not None:
        rasa.answer(then)
    ask = twilio.twiml("/voice/turn?t=1", CallSid=call_sid(), Digits="1")
    assert "请用电话按键输入身份证号" in spoken(ask) and "请先核验身份" not in spoken(ask)
    assert ask.xpath("//Gather/@action") == ["secure?t=2"]
    twilio.twiml("/voice/secure?t=2", CallSid=call_sid(), Digits="510104198503150017")
    return twilio.twiml("/voice/secure?t=3", CallSid=call_sid(), Digits=password)


def test_a_verified_caller_is_reported_to_the_assistant_with_the_token(
        twilio: Twilio, rasa: StandInRasa, verified: Verifier, db_url: str) -> None:
    verified.results.append(VerifyResult(ok=True, token="tok-1", masked_account="1020****5060"))
    doc = key_in(twilio, rasa, then={"text": "您的余额为100元。"})
    assert verified.calls == [("510104198503150017", "135790")]
    assert {key: rasa.last[key] for key in ("kind", "intent", "entities")} == {
        "kind": "intent", "intent": "authenticated", "entities": {"auth_token": "tok-1"}}
    assert "一百元" in spoken(doc)
    assert all("135790" not in str(body) for body in rasa.bodies)  # never the password
    with session_scope(db_url) as session:
        state = session.scalar(select(VoiceCallState))
        assert state.masked_account == "1020****5060" and state.secure_failures == 0
        assert state.sealed_identifier is None


@pytest.mark.parametrize(
    ("result", "entities"),
    [
        (VerifyResult(ok=False, reason="mismatch", remaining_attempts=3),
         {"reason": "mismatch", "remaining": "3"}),
        # The fifth failure locks the account: the caller is told now (bot.contract).
        (VerifyResult(ok=False, reason="mismatch", remaining_attempts=0),
         {"reason": "locked", "remaining": "0"}),
        (VerifyResult(ok=False, reason="locked", remaining_attempts=0),
         {"reason": "locked", "remaining": "0"}),
        (VerifyResult(ok=False, reason="closed_account"), {"reason": "closed_account"}),
    ],
)
def test_a_failed_verification_reports_the_contracts_outcome(
        twilio: Twilio, rasa: StandInRasa, verified: Verifier, db_url: str,
        result: VerifyResult, entities: dict[str, str]) -> None:
    verified.results.append(result)
    key_in(twilio, rasa, password="000000")
    assert (rasa.last["intent"], rasa.last["entities"]) == ("authentication_failed", entities)
    with session_scope(db_url) as session:
        assert session.scalar(select(VoiceCallState.secure_failures)) == 1


def test_too_many_failed_verifications_stop_the_keypad_step(
        twilio: Twilio, rasa: StandInRasa, db_url: str) -> None:
    start(twilio)
    with session_scope(db_url) as session:
        session.execute(VoiceCallState.__table__.update().values(secure_failures=6))
    rasa.answer({"text": "请先核验身份", "custom": {"secure_input": "identity"}})
    doc = twilio.twiml("/voice/turn?t=1", CallSid=call_sid(), Digits="1")
    assert "已暂停按键核验" in spoken(doc)
    assert doc.xpath("//Gather/@action") == ["turn?t=2"]


def test_a_number_that_failed_too_often_is_told_to_wait_and_rasa_hears_nothing(
        twilio: Twilio, rasa: StandInRasa, db_url: str) -> None:
    """Three failures from the calling number (earlier calls) stop the keypad step for
    it: the caller hears how long to wait; no password check, nothing for Rasa."""
    now = utc_now()
    with session_scope(db_url) as session:
        for n, account in enumerate(("990000000001", "990000000002", "990000000003")):
            verify_identity(session, account, "000000", channel="voice",
                            conversation_id=call_sid(50 + n), settings=twilio.settings,
                            now=now - timedelta(minutes=40 - 6 * n),
                            sources=call_sources(CALLER, call_sid(50 + n)))
    sent_before = len(rasa.bodies) + 1  # + the balance key of key_in
    doc = key_in(twilio, rasa, password="000000")
    assert "按键核验未通过的次数过多，为保护账户安全，已暂停按键核验，请二十四小时后再试" in spoken(doc)
    assert "请按0转人工服务" in spoken(doc) or "请按零转人工服务" in spoken(doc)
    assert len(rasa.bodies) == sent_before  # the outcome was never sent
    assert doc.xpath("//Gather/@action") == ["turn?t=4"]
    with session_scope(db_url) as session:
        assert session.scalar(select(func.count(AuthFailure.id))) == 3
        assert session.scalar(select(VoiceCallState.secure_failures)) == 0


def test_slowed_caller_hears_the_minutes() -> None:
    flow_secure = voice_flow().secure
    assert throttled_words(flow_secure, 250) == (
        "按键核验未通过的次数较多，为保护账户安全，请5分钟后再试。如需帮助，请按0转人工服务。")
    assert "请3小时后再试" in throttled_words(flow_secure, 2 * 3600 + 1)


def test_the_attempt_that_locks_the_account_sends_the_owner_an_sms(
        app, twilio: Twilio, rasa: StandInRasa, db_url: str) -> None:
    """Four wrong passwords from elsewhere, the fifth from this call: the lock SMS is
    queued and sent through Twilio at once (masked account, never the password)."""
    from tests.bot.gateway.voice.test_sms import CREDENTIALS, RecordingTwilio
    from tests.bot.records.conftest import add_account

    sent = RecordingTwilio()
    settings = load_settings({"HOTLINE_ENV": "test", "DATABASE_URL": db_url, **CREDENTIALS})
    app.extensions["voice"].dialogue.sms = SmsSender(settings, voice_flow().sms,
                                                     client_factory=lambda: sent)
    with session_scope(db_url) as session:
        add_account(session, id_number="510104198503150017")
        for n in range(4):
            verify_identity(session, "510104198503150017", "000000", channel="webchat",
                            conversation_id=f"elsewhere-{n}", settings=twilio.settings)
    key_in(twilio, rasa, password="000000")
    assert rasa.last["entities"] == {"reason": "locked", "remaining": "0"}
    for _ in range(100):
        if sent.sent:
            break
        time.sleep(0.05)
    [message] = sent.sent
    assert message["to"] == "+8613800001234"
    assert "1020****5060" in message["body"] and "000000" not in message["body"]
    with session_scope(db_url) as session:  # (its status is the sender's business)
        assert session.scalar(select(SmsMessage.purpose)) == "account_locked"
