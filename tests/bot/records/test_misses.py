"""What counts as a miss, on one conversation's tracker events (pure; no database)."""
from __future__ import annotations

from typing import Any

import pytest

from bot.records.learning_models import MissKind
from bot.records.misses import (
    clean_text,
    conversation_key,
    find_misses,
    is_correction,
    predicted,
)

Row = tuple[str, str | None, str | None, float, dict[str, Any]]


class Conversation:
    """Builds event rows as the tracker store holds them (type, intent, action, time, data)."""

    def __init__(self, channel: str = "webchat") -> None:
        self.rows: list[Row] = []
        self.channel = channel

    def _add(self, kind: str, intent: str | None, action: str | None,
             data: dict[str, Any]) -> Conversation:
        self.rows.append((kind, intent, action, 1_000.0 + 2 * len(self.rows), data))
        return self

    def user(self, text: str, intent: str | None = "faq", **parse: Any) -> Conversation:
        return self._add("user", intent, None, {
            "event": "user", "text": text, "input_channel": self.channel,
            "message_id": f"m{len(self.rows)}",
            "parse_data": {"intent": {"name": intent, "confidence": 0.8}, **parse}})

    def action(self, name: str) -> Conversation:
        return self._add("action", None, name, {"event": "action", "name": name})

    def bot(self, text: str = "好的", custom: dict[str, Any] | None = None) -> Conversation:
        data = {"custom": custom} if custom is not None else {}
        return self._add("bot", None, None, {"event": "bot", "text": text, "data": data})

    def form(self, name: str | None) -> Conversation:
        return self._add("active_loop", None, name, {"event": "active_loop", "name": name})


def kinds(conversation: Conversation) -> list[tuple[str, str, str | None]]:
    return [(miss.kind.value, miss.turn.text, miss.context)
            for miss in find_misses(conversation.rows)]


def test_a_fallback_turn_is_a_miss_with_what_came_next() -> None:
    c = (Conversation().user("公积金咋个弄", "nlu_fallback").action("action_handle_fallback")
         .bot("没听懂").user("我想提公积金").action("utter_faq"))
    assert kinds(c) == [("fallback", "公积金咋个弄", "我想提公积金")]


def test_the_core_fallback_counts_too() -> None:
    c = Conversation().user("嗯嗯嗯那个", "greet").action("action_default_fallback")
    assert kinds(c) == [("fallback", "嗯嗯嗯那个", None)]


@pytest.mark.parametrize("then", [
    lambda c: c.user("转人工", "human_agent").action("action_handover"),
    lambda c: c.user("要得", "affirm").action("action_handover"),
])
def test_a_person_asked_for_after_a_fallback_makes_it_a_handover(then: Any) -> None:
    c = then(Conversation().user("我那个钱咋个整", "nlu_fallback")
             .action("action_handle_fallback").bot("没听懂"))
    assert [kind for kind, _, _ in kinds(c)] == ["handover"]


def test_a_clarifying_question_marks_the_turn() -> None:
    c = (Conversation().user("提取和贷款", "faq")
         .action("action_clarify").bot("您是想问…", {"clarify": ["faq/withdraw_conditions",
                                                                 "faq/loan_conditions"]})
         .user("提取"))
    assert kinds(c) == [("clarify", "提取和贷款", "提取")]


def test_a_payload_without_clarify_is_no_miss() -> None:
    c = Conversation().user("余额", "query_balance").bot("请验证", {"secure_input": "identity"})
    assert kinds(c) == []


@pytest.mark.parametrize(("correction", "missed"), [
    ("不是，我问的是贷款能贷好多", True),
    ("不对 我是问利率", True),
    ("我的意思是去哪里办", True),
    ("你答非所问哦", True),
    ("不是", False),  # a bare "no" answers a question; it corrects nothing
    ("不对。", False),
    ("那贷款利率是好多", False),  # a new question, not a correction
    ("是不是可以提取", False),  # 不是 inside 是不是
])
def test_a_correction_right_after_an_answer_is_a_rephrase(correction: str, missed: bool) -> None:
    c = (Conversation().user("贷款额度", "faq").action("utter_faq").bot("额度是…")
         .user(correction, "faq"))
    assert kinds(c) == ([("rephrase", "贷款额度", correction)] if missed else [])


@pytest.mark.parametrize("intent", ["greet", "thank", "affirm", "deny", "inform", "human_agent"])
def test_no_rephrase_after_turns_that_ask_nothing(intent: str) -> None:
    c = Conversation().user("好的", intent).bot().user("不是，我问的是提取")
    assert kinds(c) == []


def test_no_rephrase_inside_a_form() -> None:
    c = (Conversation().user("我要投诉", "complain").form("complaint_form").bot("在哪里？")
         .user("后子门大厅", "faq").bot("请留电话").user("不是在大厅，是网上办的"))
    assert [kind for kind, _, _ in kinds(c)] == []
    c.form(None).bot("已登记").user("公积金利率", "faq").bot("利率是…").user("不是 我问的是商贷利率")
    assert [kind for kind, _, _ in kinds(c)] == ["rephrase"]


def test_gateway_messages_are_no_turns() -> None:
    c = (Conversation().user("我公积金还有好多", "query_balance").bot("请验证身份")
         .user("/authenticated", "authenticated").action("action_answer_balance").bot("余额…")
         .user("不是，我要查贷款", "query_loan"))
    assert kinds(c) == [("rephrase", "我公积金还有好多", "不是，我要查贷款")]


def test_message_id_is_the_event_key_and_time_the_turns() -> None:
    c = Conversation("voice").user("嗯", "nlu_fallback").action("action_handle_fallback")
    (miss,) = find_misses(c.rows)
    assert (miss.turn.event_key, miss.turn.channel, miss.turn.at) == ("m0", "voice", 1000.0)
    del c.rows[0][4]["message_id"]
    assert find_misses(c.rows)[0].turn.event_key == "ts:1000.0"


@pytest.mark.parametrize(("parse", "expected"), [
    ({"label_ranking": [{"label": "faq/loan_rate", "confidence": 0.41}],
      "intent": {"name": "faq", "confidence": 0.6}}, ("faq/loan_rate", 0.41)),
    ({"intent": {"name": "nlu_fallback", "confidence": 0.3},
      "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.3},
                         {"name": "complain", "confidence": 0.21}]}, ("complain", 0.21)),
    ({"intent": {"name": "faq", "confidence": 0.9},
      "response_selector": {"faq": {"response": {"intent_response_key": "faq/hotline"}}}},
     ("faq/hotline", 0.9)),
    ({}, (None, None)),
])
def test_predicted_label_is_the_classifiers_best_guess(parse: dict[str, Any],
                                                       expected: tuple[Any, Any]) -> None:
    assert predicted(parse) == expected


@pytest.mark.parametrize(("text", "cleaned"), [
    ("我的电话是幺三八幺二三四五六七八", "我的电话是138****5678"),
    ("身份证 510104 19850315 0017 查余额", "身份证 510104********0017 查余额"),
    ("喂 喂 那个 卡号6217003810000012345", "卡号6217***********2345"),
    ("账号是幺零二零三零四零五零六零", "账号是1020****5060"),
    ("工基金  咋个\n提取", "公积金 咋个 提取"),
    ("👍👍", None),
    ("hello there", None),
    ("", None),
    (None, None),
    ("提" * 501, None),
])
def test_text_is_normalised_and_masked_before_it_is_kept(text: str | None,
                                                         cleaned: str | None) -> None:
    assert clean_text(text) == cleaned


def test_conversation_key_is_the_sha256_of_the_sender() -> None:
    key = conversation_key("CA0123")
    assert len(key) == 64 and key == conversation_key("CA0123") != conversation_key("CA0124")


@pytest.mark.parametrize(("text", "expected"), [("不是的，我问的是提取", True), ("不是", False)])
def test_is_correction(text: str, expected: bool) -> None:
    assert is_correction(text) is expected


def test_kinds_are_the_enums() -> None:
    assert {kind.value for kind in MissKind} == {"fallback", "clarify", "rephrase", "handover"}
