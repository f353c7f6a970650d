"""The call dialogue through its webhooks (bot/gateway/voice/dialogue.py): bad input,
the menus of flows/, the keypad secure step's checks, keys after an answer.

Rasa is unreachable here (a closed port); test_dialogue_replies.py gives the
dialogue a stand-in Rasa to test what it does with the assistant's replies.
"""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select

from bot.gateway.voice.twiml import MODE_SECURE_IDENTIFIER, MODE_SECURE_PASSWORD
from bot.records.db import session_scope
from bot.records.models import AuthFailure
from bot.records.voice_models import VoiceCallState, VoiceTurn
from tests.bot.gateway.voice.conftest import (
    CALLER,
    MAIN_MENU_WORDS,
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
