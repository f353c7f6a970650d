"""A policy answer on the phone: short, then the rest by SMS (bot/gateway/voice/policy.py).

Calls are made with the phone simulator against the test gateway (no server,
no network), on the records of ``db_url`` (SQLite and PostgreSQL) with a topic
loaded by ``load_seed``. Rasa is the stand-in of the ``rasa`` fixture: it
answers with what ``action_answer_faq`` sends on the phone, the spoken text
and, as a message of its own, ``custom.policy_answer``.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from bot.gateway.voice.simulator import PhoneSimulator
from bot.knowledge.content import Content, SeedTopic, SeedVersion, Source
from bot.records.db import session_scope
from bot.records.knowledge import answer_by_version, find_topic
from bot.records.knowledge_editing import load_seed
from bot.records.voice_models import SmsMessage, SmsStatus, VoiceCallState
from tests.bot.gateway.voice.conftest import CALLER, MAIN_MENU_WORDS, StandInRasa

Dial = Callable[..., PhoneSimulator]

SPOKEN = "租房提取每月最多可以提取1500元，每3个月可以申请一次。"
SPOKEN_HEARD = "租房提取每月最多可以提取一千五百元，每三个月可以申请一次。"
SMS_TEXT = ("【成都住房公积金】租房提取：无房职工每月最多提取1500元，每3个月可申请一次，"
            "需本人身份证、租赁合同等材料，可在成都公积金App办理。")
MATERIALS = ("本人身份证", "租赁合同", "婚姻状况证明", "租金发票", "本人联名卡")
OFFER = "完整内容需要发短信给您吗？需要请按一。听所需材料请按二。"
IDLE_HINT = "您可以继续说出您的问题，返回主菜单请按井号键。"


def _content(materials: tuple[str, ...]) -> Content:
    return Content(
        full_text="无房职工租房可以提取公积金，每月最多1500元，每3个月可申请一次。",
        spoken_text=SPOKEN, sms_text=SMS_TEXT, materials=materials,
        sources=(Source(source="成公积金〔2026〕12号", grade="official", date=date(2026, 3, 20),
                        confirmed=True),),
    )


def load_topic(db_url: str, key: str = "withdraw_rent",
               materials: tuple[str, ...] = MATERIALS) -> int:
    """The topic in the records, its one version approved; returns the version id."""
    with session_scope(db_url) as session:
        load_seed(session, [SeedTopic(
            key=key, category="提取", title="租房提取", ask="租房可以提取公积金吗", scope="租房提取",
            versions=(SeedVersion(_content(materials), date(2026, 1, 1), None),),
        )])
    with session_scope(db_url) as session:
        topic = find_topic(session, key)
        assert topic is not None
        return topic.versions[0].id


def answer(rasa: StandInRasa, version: int, key: str = "withdraw_rent",
           materials: tuple[str, ...] = MATERIALS) -> None:
    """Rasa's next answer: the spoken text, then the policy answer (Rasa's collecting channel)."""
    rasa.answer({"text": SPOKEN},
                {"custom": {"policy_answer": {"topic": key, "version": version,
                                              "materials": list(materials)}}})


def ask_rent(dial: Dial, rasa: StandInRasa, db_url: str, caller: str = CALLER,
             materials: tuple[str, ...] = MATERIALS) -> PhoneSimulator:
    version = load_topic(db_url, materials=materials)
    answer(rasa, version, materials=materials)
    phone = dial(caller)
    heard = phone.say("租房怎么提取公积金")
    assert heard.text.startswith(SPOKEN_HEARD)  # numbers by the read-out rules
    return phone


def outbox(db_url: str) -> list[SmsMessage]:
    with session_scope(db_url) as session:
        rows = list(session.scalars(select(SmsMessage)))
        session.expunge_all()
        return rows


def sms_text(db_url: str, version: int) -> str:
    with session_scope(db_url) as session:
        found = answer_by_version(session, version)
        assert found is not None
        return found.sms_text


# ------------------------------------------------------------------ the offer


def test_the_answer_is_said_then_its_sms_and_materials_are_offered(
        phone: Dial, rasa: StandInRasa, db_url: str) -> None:
    version = load_topic(db_url)
    answer(rasa, version)
    call = phone()
    heard = call.say("租房怎么提取公积金")
    assert (rasa.last["kind"], rasa.last["text"]) == ("text", "租房怎么提取公积金")
    assert heard.text.startswith(SPOKEN_HEARD + OFFER)
    assert "其他问题可以直接说" in heard.text
    assert heard.gather is not None and heard.gather["numDigits"] == "1"
    assert "speech" in heard.gather["input"]
    with session_scope(db_url) as session:
        state = session.scalar(select(VoiceCallState))
        assert state.mode == "policy_offer"
        assert state.policy_offer["version"] == version


def test_key_1_sends_the_full_text_to_the_calling_mobile_once(
        phone: Dial, rasa: StandInRasa, db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    call = ask_rent(phone, rasa, db_url)
    version = load_topic(db_url)  # loaded already: its id
    sent = call.press("1")
    assert sent.text == "完整内容稍后会用短信发到尾号零零零九的手机上，请注意查收。" + IDLE_HINT
    assert sent.gather is not None and sent.gather["numDigits"] == "1"
    # Twilio posts the webhook again (the answer was late): the same answer, no second SMS.
    again = call.resend()
    assert "尾号零零零九" in again
    rows = outbox(db_url)
    assert len(rows) == 1
    [sms] = rows
    assert (sms.to_number, sms.purpose, sms.status) == ("13800000009", "policy_answer",
                                                         SmsStatus.pending)
    assert sms.body == sms_text(db_url, version) == SMS_TEXT
    assert sms.call_sid == call.call_sid and sms.reference.endswith(f":{version}")
    assert "13800000009" not in caplog.text and "138****0009" in caplog.text


@pytest.mark.parametrize("caller", ["anonymous", "+862886279298"],
                         ids=["withheld", "landline"])
def test_without_a_calling_mobile_the_number_is_keyed_in(
        phone: Dial, rasa: StandInRasa, db_url: str, caller: str,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    call = ask_rent(phone, rasa, db_url, caller=caller)
    ask = call.press("1")
    assert ask.text == "短信需要发到手机上。请用电话按键输入十一位手机号码，输入完毕请按井号键。"
    assert ask.gather is not None
    assert (ask.gather["input"], ask.gather["finishOnKey"]) == ("dtmf", "#")
    sent = call.press("13912345678#")
    assert sent.text == "完整内容稍后会用短信发到尾号五六七八的手机上，请注意查收。" + IDLE_HINT
    [sms] = outbox(db_url)
    assert (sms.to_number, sms.body) == ("13912345678", SMS_TEXT)
    assert "13912345678" not in caplog.text  # keys redacted, the number masked


def test_a_malformed_number_is_asked_again_then_the_sms_is_given_up(
        phone: Dial, rasa: StandInRasa, db_url: str) -> None:
    call = ask_rent(phone, rasa, db_url, caller="anonymous")
    call.press("1")
    again = call.press("1391234567#")  # ten digits
    assert again.text == "手机号码是以一开头的十一位数字，请重新输入，以井号键结束。"
    assert again.gather is not None and again.gather["input"] == "dtmf"
    given_up = call.press("02886279298#")  # a landline cannot take an SMS
    assert given_up.text == "抱歉，没能收到正确的手机号码，这次先不为您发送短信了。" + IDLE_HINT
    assert outbox(db_url) == []
    assert MAIN_MENU_WORDS in call.press("#").text  # the call goes on


def test_silence_at_the_number_prompt_is_asked_again_then_given_up_politely(
        phone: Dial, rasa: StandInRasa, db_url: str) -> None:
    call = ask_rent(phone, rasa, db_url, caller="anonymous")
    call.press("1")
    again = call.silence()
    assert again.text == "短信需要发到手机上。请用电话按键输入十一位手机号码，输入完毕请按井号键。"
    given_up = call.silence()
    assert given_up.text == "抱歉，没能收到正确的手机号码，这次先不为您发送短信了。" + IDLE_HINT
    assert outbox(db_url) == []


def test_a_malformed_number_then_a_good_one_is_sent(
        phone: Dial, rasa: StandInRasa, db_url: str) -> None:
    call = ask_rent(phone, rasa, db_url, caller="anonymous")
    call.press("1")
    assert "请重新输入" in call.press("23912345678#").text
    assert "尾号五六七八" in call.press("13912345678#").text
    assert [sms.to_number for sms in outbox(db_url)] == ["13912345678"]


# ------------------------------------------------------------------ the materials


def test_key_2_reads_the_materials_three_at_a_time_and_star_repeats(
        phone: Dial, rasa: StandInRasa, db_url: str) -> None:
    call = ask_rent(phone, rasa, db_url)
    first = call.press("2")
    assert first.text == ("需要准备的材料共五项。第一项，本人身份证；第二项，租赁合同；"
                          "第三项，婚姻状况证明。继续听请按二，短信发送完整内容请按一。")
    assert call.press("*").text == first.text
    last = call.press("2")
    assert last.text == ("第四项，租金发票；第五项，本人联名卡。所需材料已经全部读完。"
                         "完整内容需要发短信给您吗？需要请按一。再听一遍所需材料请按二。"
                         "其他问题可以直接说，返回主菜单请按井号键。")
    assert call.press("*").text == last.text
    assert call.press("2").text == first.text  # from the first item again
    # The SMS key means the same while the materials are read.
    assert "尾号零零零九" in call.press("1").text
    assert len(outbox(db_url)) == 1


def test_an_answer_without_materials_offers_the_sms_only(
        phone: Dial, rasa: StandInRasa, db_url: str) -> None:
    version = load_topic(db_url, materials=())
    answer(rasa, version, materials=())
    call = phone()
    heard = call.say("租房怎么提取公积金")
    assert "需要请按一。" in heard.text and "材料" not in heard.text
    assert call.press("2").text.startswith("抱歉，没有听清您的选择。完整内容需要发短信给您吗")


# ------------------------------------------------------------------ everything else at the offer


def test_speech_at_the_offer_is_a_new_question_for_the_assistant(
        phone: Dial, rasa: StandInRasa, db_url: str) -> None:
    call = ask_rent(phone, rasa, db_url)
    rasa.answer({"text": "公积金贷款利率是2.6%。"})
    heard = call.say("那贷款利率是多少")
    assert (rasa.last["kind"], rasa.last["text"]) == ("text", "那贷款利率是多少")
    assert heard.text == "公积金贷款利率是百分之二点六。" + IDLE_HINT
    assert outbox(db_url) == []
    assert MAIN_MENU_WORDS in call.press("#").text  # the keys of any answer


def test_silence_at_the_offer_is_no_fault(phone: Dial, rasa: StandInRasa, db_url: str) -> None:
    call = ask_rent(phone, rasa, db_url)
    quiet = call.silence()
    assert quiet.text == IDLE_HINT
    with session_scope(db_url) as session:
        state = session.scalar(select(VoiceCallState))
        assert (state.mode, state.no_input) == ("idle", 0)
        assert not state.policy_offer  # the offer is over


@pytest.mark.parametrize(("key", "expected"), [
    ("#", MAIN_MENU_WORDS),
    ("9", "抱歉，没有听清您的选择。" + OFFER),
])
def test_other_keys_at_the_offer(phone: Dial, rasa: StandInRasa, db_url: str,
                                 key: str, expected: str) -> None:
    call = ask_rent(phone, rasa, db_url)
    assert expected in call.press(key).text


def test_the_person_key_at_the_offer_asks_the_assistant(
        phone: Dial, rasa: StandInRasa, db_url: str) -> None:
    call = ask_rent(phone, rasa, db_url)
    rasa.answer({"text": "好的，正在为您转接人工客服。", "custom": {"handover": True}})
    heard = call.press("0")
    assert (rasa.last["kind"], rasa.last["intent"]) == ("intent", "human_agent")
    assert heard.transferred_to == "sip:agents@pbx.invalid"


# ------------------------------------------------------------------ what the offer refuses


@pytest.mark.parametrize("payload", [
    {"topic": "withdraw_rent", "version": "7"},
    {"topic": "", "version": 7},
    {"topic": "withdraw_rent", "version": True},
    {"topic": "withdraw_rent", "version": 7, "materials": "身份证"},
])
def test_a_malformed_policy_answer_is_said_without_an_offer(
        phone: Dial, rasa: StandInRasa, payload: dict[str, Any]) -> None:
    rasa.answer({"text": SPOKEN}, {"custom": {"policy_answer": payload}})
    call = phone()
    assert call.say("租房怎么提取公积金").text == SPOKEN_HEARD + IDLE_HINT


def test_a_version_not_in_the_records_is_not_sent(
        phone: Dial, rasa: StandInRasa, db_url: str) -> None:
    version = load_topic(db_url)
    answer(rasa, version, key="withdraw_purchase")  # the version is another topic's
    call = phone()
    call.say("买房可以提取公积金吗")
    assert call.press("1").text == "抱歉，短信暂时没能发送成功。" + IDLE_HINT
    assert outbox(db_url) == []
