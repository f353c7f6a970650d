"""Rendering (bot/gateway/voice/render.py): the assistant's messages as the phone
says them, menus and choices read out, and the next prompt's TwiML and state.

Pure: no database, no Rasa, no Flask.
"""
from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

from bot.flows import menus
from bot.flows.voice import voice_flow
from bot.gateway.voice.readout import Part, Pause
from bot.gateway.voice.render import (
    MAX_BUTTON_KEYS,
    PolicyAnswer,
    Prompter,
    Speaker,
    read_reply,
)
from bot.gateway.voice.store import CallState
from bot.gateway.voice.twiml import (
    MODE_ENDED,
    MODE_FREE,
    MODE_IDLE,
    MODE_SECURE_PASSWORD,
    MODE_TRANSFER,
    Twiml,
)

SID = "CA" + "3" * 32


@pytest.fixture(scope="module")
def speaker() -> Speaker:
    return Speaker(voice_flow())


@pytest.fixture
def prompter() -> Prompter:
    return Prompter(Twiml(voice_flow(), "sip:agents@pbx.invalid"))


def words(parts: list[Part]) -> str:
    return "".join(part for part in parts if isinstance(part, str))


def no_sms(ticket_id: str) -> list[Part]:
    raise AssertionError(f"no SMS expected, got ticket {ticket_id}")


# ------------------------------------------------------------------ speaking


def test_text_is_said_by_the_readout_rules_of_flows(speaker: Speaker) -> None:
    parts = speaker.say("您的余额为12,345.67元，账号1020****5060，详见https://www.cdzfgjj.gov.cn")
    said = words(parts)
    assert "一万二千三百四十五元六角七分" in said
    assert "尾号五零六零" in said
    assert "中心官方网站" in said and "http" not in said


def test_prompts_are_filled_from_flows(speaker: Speaker) -> None:
    assert words(speaker.prompt("callback_soon", tail="幺二三四")) == (
        "已为您登记回电，工作人员会尽快回电到尾号幺二三四的号码。")


@pytest.mark.parametrize(("name", "hint"), [("main", True), ("policy", False)])
def test_a_menu_is_read_item_by_item(speaker: Speaker, name: str, hint: bool) -> None:
    menu = menus()[name]
    said = words(speaker.menu(menu))
    assert said.startswith(menu.prompt)
    for item in menu.items:
        assert words(speaker.say(item.speech)) in said
    assert ("您也可以直接说出要办理的业务" in said) is hint  # speech is offered at the main menu
    assert said.endswith("重听请按星号键。")


@pytest.mark.parametrize(
    ("buttons", "heard"),
    [
        ([{"title": "确认", "payload": "/affirm"}, {"title": "修改", "payload": "/deny"}],
         "确认请按一，修改请按二。"),
        # "1 非常满意" on the screen is read "非常满意请按1"
        ([{"title": "1 非常满意", "payload": "1"}, {"title": "2 满意", "payload": "2"}],
         "非常满意请按一，满意请按二。"),
        # a label that repeats its payload loses it, whatever the key
        ([{"title": "5 不满意", "payload": "5"}], "不满意请按一。"),
        ([{"payload": "/goodbye"}], "/goodbye请按一。"),
    ],
)
def test_buttons_are_read_as_choices(speaker: Speaker, buttons: list[dict[str, str]],
                                     heard: str) -> None:
    assert words(speaker.choices(buttons)) == heard


# ------------------------------------------------------------------ replies


def test_texts_are_said_in_order_and_the_last_one_is_the_reprompt(speaker: Speaker) -> None:
    reply = read_reply([{"text": "您好。", "response": "utter_greet"},
                        {"text": "请问有什么可以帮您？"}], speaker, no_sms)
    assert words(reply.parts) == "您好。请问有什么可以帮您？"
    assert words(reply.last_parts) == "请问有什么可以帮您？"
    assert not (reply.secure or reply.handover or reply.end or reply.free_input or reply.buttons)


def test_buttons_are_kept_up_to_the_keys_of_a_phone(speaker: Speaker) -> None:
    buttons: list[Any] = [{"title": f"选项{n}", "payload": f"/choose{n}"} for n in range(12)]
    reply = read_reply([{"text": "请选择", "buttons": ["not a button", *buttons]}], speaker, no_sms)
    assert len(reply.buttons) == MAX_BUTTON_KEYS
    assert reply.buttons[0] == {"title": "选项0", "payload": "/choose0"}


def test_a_request_for_the_secure_step_is_not_said(speaker: Speaker) -> None:
    reply = read_reply([{"text": "好的。"},
                        {"text": "请在下方输入身份证号和查询密码", "custom": {"secure_input": "identity"}}],
                       speaker, no_sms)
    assert reply.secure
    assert words(reply.parts) == "好的。"  # the phone has its own keypad prompt


def test_a_handover_keeps_its_text_for_the_transfer(speaker: Speaker) -> None:
    reply = read_reply([{"text": "正在为您转接人工客服。", "custom": {"handover": True}}], speaker, no_sms)
    assert reply.handover and reply.handover_text == "正在为您转接人工客服。"
    assert reply.parts == []


def test_a_policy_answer_is_recorded_from_its_own_message(speaker: Speaker) -> None:
    # Rasa's collecting channel: the text, then the custom payload as a message of its own.
    reply = read_reply([{"text": "租房提取每月最多1500元。"},
                        {"custom": {"policy_answer": {"topic": "withdraw_rent", "version": 12,
                                                      "materials": [" 本人身份证 ", "", 3, "租赁合同"]}}}],
                       speaker, no_sms)
    assert words(reply.parts) == "租房提取每月最多一千五百元。"
    assert words(reply.last_parts) == "租房提取每月最多一千五百元。"  # not replaced by the payload
    assert reply.policy == PolicyAnswer("withdraw_rent", 12, ("本人身份证", "租赁合同"))


@pytest.mark.parametrize("payload", [
    None, "withdraw_rent", {"topic": "withdraw_rent"}, {"topic": "withdraw_rent", "version": 0},
    {"topic": "withdraw_rent", "version": "12"}, {"topic": " ", "version": 12},
    {"topic": "withdraw_rent", "version": 12, "materials": "本人身份证"},
])
def test_a_malformed_policy_answer_is_ignored(speaker: Speaker, payload: Any) -> None:
    reply = read_reply([{"text": "好的。", "custom": {"policy_answer": payload}}], speaker, no_sms)
    assert reply.policy is None and words(reply.parts) == "好的。"


def test_the_ticket_sms_is_said_right_after_the_ticket(speaker: Speaker) -> None:
    tickets: list[str] = []

    def sms(ticket_id: str) -> list[Part]:
        tickets.append(ticket_id)
        return ["【短信已发】"]

    reply = read_reply([{"text": "投诉单号TS2611270003。", "custom": {"complaint_ticket": "TS2611270003"}},
                        {"text": "还有别的吗？"}], speaker, sms)
    assert tickets == ["TS2611270003"]
    said = words(reply.parts)
    assert said.index("【短信已发】") < said.index("还有别的吗")
    assert "幺" in said  # the ticket number digit by digit


def test_a_goodbye_response_ends_the_call(speaker: Speaker) -> None:
    reply = read_reply([{"text": "感谢来电，再见。", "response": "utter_goodbye"}], speaker, no_sms)
    assert reply.end and words(reply.parts) == "感谢来电，再见。"


@pytest.mark.parametrize(
    ("responses", "free"),
    [
        (["utter_ask_complaint_phone"], True),          # a prefix of flows/voice.yml
        (["utter_invalid_phone"], True),                # a name of flows/voice.yml
        (["utter_ask_complaint_phone", None], True),    # a message without a name keeps it
        (["utter_ask_complaint_phone", "utter_greet"], False),
        ([None], False),
    ],
)
def test_after_a_question_the_caller_answers_freely(speaker: Speaker, responses: list[str | None],
                                                    free: bool) -> None:
    messages = [{"text": "问题", **({"response": r} if r else {})} for r in responses]
    assert read_reply(messages, speaker, no_sms).free_input is free


def test_after_the_phone_tail_question_the_caller_answers_on_the_keypad(speaker: Speaker) -> None:
    messages = [{"text": "请输入后四位。", "response": "utter_ask_ticket_phone_tail"}]
    reply = read_reply(messages, speaker, no_sms)
    assert reply.keypad_input and not reply.free_input


@pytest.mark.parametrize("message", [{"text": 42}, {"custom": "x"}, {"buttons": "x"}, {}])
def test_odd_messages_are_skipped(speaker: Speaker, message: dict[str, Any]) -> None:
    reply = read_reply([message], speaker, no_sms)
    assert reply.parts == [] and reply.buttons == [] and not reply.secure


# ------------------------------------------------------------------ the next prompt


def gather_action(xml: str) -> str:
    return etree.fromstring(xml.encode("utf-8")).xpath("string(//Gather/@action)")


def test_listening_starts_the_next_turn_and_remembers_what_was_said(prompter: Prompter) -> None:
    state = CallState(call_sid=SID, turn=3)
    xml = prompter.listen(state, ["问题", Pause(250)], MODE_FREE, ["短问题"])
    assert (state.turn, state.mode) == (4, MODE_FREE)
    assert state.speech == ["问题", Pause(250)] and state.reprompt == ["短问题"]
    assert gather_action(xml) == "turn?t=4"
    assert prompter.again(state) == xml and state.turn == 4  # said again: same turn


def test_without_a_reprompt_the_whole_prompt_is_said_again(prompter: Prompter) -> None:
    state = CallState(call_sid=SID)
    prompter.listen(state, ["整句"], MODE_IDLE)
    assert state.reprompt == ["整句"]


def test_keypad_entry_of_the_secure_step_posts_to_its_own_webhook(prompter: Prompter) -> None:
    state = CallState(call_sid=SID, turn=6)
    assert gather_action(prompter.listen(state, ["请输入"], MODE_SECURE_PASSWORD)) == "secure?t=7"


def test_a_transfer_is_a_turn_of_its_own(prompter: Prompter) -> None:
    state = CallState(call_sid=SID, turn=2)
    doc = etree.fromstring(prompter.transfer(state, ["转接"]).encode("utf-8"))
    assert (state.turn, state.mode, state.transferred) == (3, MODE_TRANSFER, True)
    assert doc.xpath("/Response/Dial/@action") == ["dial?t=3"]


def test_the_end_hangs_up(prompter: Prompter) -> None:
    state = CallState(call_sid=SID, turn=2)
    doc = etree.fromstring(prompter.end(state, ["再见"]).encode("utf-8"))
    assert state.mode == MODE_ENDED and state.turn == 2
    assert doc.xpath("/Response/Hangup")
