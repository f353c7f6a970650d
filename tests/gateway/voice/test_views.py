"""The voice webhooks without the assistant: signatures, menus, bad input,
silence, people, failures, idempotency and the end of a call.

Rasa is unreachable here on purpose (a closed port): menus, the secure step's
keypad checks, escalations and callbacks never need it, and when a turn does
need it the caller must hear an apology and get a person.
"""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select

from bot.gateway.voice import store
from bot.gateway.voice.twiml import MODE_SECURE_IDENTIFIER, MODE_SECURE_PASSWORD
from bot.records.account_models import AuthFailure
from bot.records.db import session_scope
from bot.records.service_models import CallbackRequest, Handover
from bot.records.voice_models import (
    CallOutcome,
    TurnStatus,
    VoiceCall,
    VoiceCallState,
    VoiceTurn,
)
from bot.settings import load_settings
from tests.gateway.voice.conftest import AFTER_HOURS, CALLER, Twilio, call_sid, parse, spoken

MAIN_MENU_WORDS = "查询公积金账户余额请按一"


def start(twilio: Twilio, n: int = 1, caller: str = CALLER):  # type: ignore[no-untyped-def]
    return twilio.twiml("/voice/incoming", CallSid=call_sid(n), From=caller, To="+862896319")


def gather_turn(doc) -> str:  # type: ignore[no-untyped-def]
    action = doc.xpath("string(//Gather/@action)")
    return action.split("t=")[1]


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


# ------------------------------------------------------------------ signatures


@pytest.mark.parametrize(
    "case",
    ["missing", "forged", "other_url", "tampered_params", "other_token"],
)
def test_unsigned_or_forged_requests_are_refused(twilio: Twilio, case: str) -> None:
    params = {"CallSid": call_sid(), "From": CALLER}
    url = twilio.base + "/voice/incoming"
    signature = {
        "missing": "",
        "forged": "bm90IGEgc2lnbmF0dXJl",
        "other_url": twilio_sign(twilio.base + "/voice/turn", params, twilio),
        "tampered_params": twilio_sign(url, {**params, "From": "+8613900000000"}, twilio),
        "other_token": twilio_sign(url, params, twilio, token="someone-elses-token"),
    }[case]
    response = twilio.post("/voice/incoming", signature=signature, **params)
    assert response.status_code == 403


def twilio_sign(url, params, twilio, token=None):  # type: ignore[no-untyped-def]
    from bot.gateway.voice.security import sign

    return sign(url, params, token or twilio.settings.twilio_auth_token)


def test_production_without_a_real_auth_token_fails_closed(app, twilio: Twilio) -> None:  # type: ignore[no-untyped-def]
    settings = twilio.settings
    object.__setattr__(settings, "env", "production")
    try:
        response = twilio.post("/voice/incoming", CallSid=call_sid(), From=CALLER)
    finally:
        object.__setattr__(settings, "env", "test")
    assert response.status_code == 403


def test_production_refuses_to_start_without_twilio_auth_token() -> None:
    from bot.settings import SettingsError

    with pytest.raises(SettingsError, match="TWILIO_AUTH_TOKEN"):
        load_settings({"HOTLINE_ENV": "production", "DATABASE_URL": "postgresql://h/db",
                       "RASA_TOKEN": "t", "SECRET_KEY": "s", "GATEWAY_CHANNEL_SECRET": "g"})


def test_public_base_url_is_what_twilio_signed(twilio: Twilio) -> None:
    object.__setattr__(twilio.settings, "public_base_url", "https://hotline.example.cn/gw")
    try:
        public = Twilio(twilio.client, twilio.settings, base="https://hotline.example.cn/gw")
        assert public.post("/voice/incoming", CallSid=call_sid(), From=CALLER).status_code == 200
        # Signed for the internal address the proxy forwarded to: refused.
        assert twilio.post("/voice/incoming", CallSid=call_sid(2), From=CALLER).status_code == 403
    finally:
        object.__setattr__(twilio.settings, "public_base_url", "")


@pytest.mark.parametrize(("trusted", "status"), [(1, 200), (0, 403)])
def test_forwarded_headers_count_only_from_trusted_proxies(twilio: Twilio, trusted: int, status: int) -> None:
    object.__setattr__(twilio.settings, "voice_trusted_proxies", trusted)
    try:
        public = Twilio(twilio.client, twilio.settings, base="https://voice.example.cn")
        response = public.post(
            "/voice/incoming", CallSid=call_sid(), From=CALLER,
            headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "voice.example.cn"},
        )
    finally:
        object.__setattr__(twilio.settings, "voice_trusted_proxies", 0)
    assert response.status_code == status


# ------------------------------------------------------------------ bad input


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


@pytest.mark.parametrize("turn", ["", "abc", "-1", "99", "1e3"])
def test_a_missing_or_stale_turn_number_repeats_the_current_prompt(twilio: Twilio, turn: str) -> None:
    start(twilio)
    doc = twilio.twiml(f"/voice/turn?t={turn}", CallSid=call_sid(), From=CALLER, Digits="3")
    assert MAIN_MENU_WORDS in spoken(doc)
    assert doc.xpath("//Gather/@action") == ["turn?t=1"]


def test_a_body_too_large_to_read_is_answered_with_a_reprompt(twilio: Twilio) -> None:
    start(twilio)
    response = twilio.post("/voice/turn?t=1", CallSid=call_sid(), SpeechResult="x" * 300_000)
    assert response.status_code == 200
    doc = parse(response.data)
    assert "您说的内容有点长" in spoken(doc)
    assert doc.xpath("string(/Response/Redirect)") == "turn?t=1"


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


def test_turn_rows_record_their_answers(twilio: Twilio, db_url: str) -> None:
    start(twilio)
    twilio.twiml("/voice/turn?t=1", CallSid=call_sid(), Digits="3")
    with session_scope(db_url) as session:
        rows = session.scalars(select(VoiceTurn)).all()
        assert {row.turn_key for row in rows} == {"incoming", "turn:1"}
        assert all(row.status is TurnStatus.done and row.twiml for row in rows)


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
