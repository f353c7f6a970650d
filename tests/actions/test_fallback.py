"""Never guess: ask between two close guesses or rephrase first, offer a person on the
second miss, explain unusable input."""
from __future__ import annotations

import pytest
from rasa_sdk.events import UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import (
    CLARIFIED,
    ActionDefaultFallback,
    ActionHandleFallback,
    consecutive_misses,
    earlier_misses,
)
from tests.actions.conftest import DOMAIN, make_tracker, responses, user_event


def fallback(text, earlier=(), ranking=None):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(text=text, intent="nlu_fallback", events=list(earlier))
    if ranking is not None:
        tracker.latest_message["label_ranking"] = [
            {"label": label, "confidence": p} for label, p in ranking
        ]
    events = ActionHandleFallback().run(dispatcher, tracker, DOMAIN)
    return responses(dispatcher), events


def fallback_messages(text, earlier=(), ranking=None):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(text=text, intent="nlu_fallback", events=list(earlier))
    tracker.latest_message["label_ranking"] = [
        {"label": label, "confidence": p} for label, p in ranking or []
    ]
    events = ActionHandleFallback().run(dispatcher, tracker, DOMAIN)
    return dispatcher.messages, events


def message(response, buttons=(), custom=None):
    """A message exactly as the dispatcher holds it."""
    return {"text": None, "buttons": list(buttons), "elements": [], "custom": custom or {},
            "template": response, "response": response, "image": None, "attachment": None}


CLOSE_INTENTS = [("query_loan", 0.28), ("query_balance", 0.24), ("faq/loan_rate", 0.1)]
ASK_LOAN_OR_BALANCE = message(
    "utter_clarify",
    buttons=[{"title": "查询我的公积金贷款", "payload": "/query_loan"},
             {"title": "查询我的公积金余额", "payload": "/query_balance"},
             {"title": "都不是", "payload": "/nlu_fallback"}],
    custom={"clarify": ["query_loan", "query_balance"]},
)


def clarified_turn(text="我那个公积金的钱"):
    return [user_event(text, "nlu_fallback"),
            {"event": "action", "name": "action_handle_fallback", "timestamp": 1.0},
            {"event": "bot", "text": "…", "timestamp": 1.0,
             "data": {"custom": {"clarify": ["query_loan", "query_balance"]}}},
            {"event": "rewind", "timestamp": 1.0}]


def missed_turn(text="紫色大象"):
    return [user_event(text, "nlu_fallback"),
            {"event": "action", "name": "action_handle_fallback", "timestamp": 1.0},
            {"event": "rewind", "timestamp": 1.0}]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", "utter_input_empty"),
        ("   \n\t", "utter_input_empty"),
        ("我" * 5000, "utter_input_too_long"),
        ("What is my balance?", "utter_input_not_chinese"),
        ("SELECT * FROM accounts; DROP TABLE complaints;--", "utter_input_not_chinese"),
        ("😀😀😀", "utter_input_symbols_only"),
        ("？？？！！", "utter_input_symbols_only"),
        ("紫色的大象在唱歌", "utter_rephrase"),
    ],
)
def test_first_miss(text, expected):
    said, events = fallback(text)
    assert said == [expected]
    assert events == [UserUtteranceReverted()]


def test_second_miss_in_a_row_offers_a_person():
    said, _ = fallback("锅碗瓢盆", earlier=missed_turn())
    assert said == ["utter_offer_human"]


def test_second_unusable_message_in_a_row_explains_and_offers_a_person():
    said, _ = fallback("zxcvb", earlier=missed_turn("asdfgh"))
    assert said == ["utter_input_not_chinese", "utter_offer_human"]


def test_a_miss_after_an_understood_turn_only_asks_to_rephrase():
    understood = [user_event("查余额", "query_balance"),
                  {"event": "action", "name": "action_query_account", "timestamp": 1.0}]
    said, _ = fallback("锅碗瓢盆", earlier=missed_turn() + understood)
    assert said == ["utter_rephrase"]


def test_core_fallback_behaves_the_same():
    dispatcher = CollectingDispatcher()
    ActionDefaultFallback().run(dispatcher, make_tracker(text="", intent="greet"), DOMAIN)
    assert responses(dispatcher) == ["utter_input_empty"]


# ------------------------------------------------------- clarifying questions

def test_close_intents_get_one_clarifying_question_instead_of_a_rephrase():
    said, events = fallback_messages("我那个公积金的钱咋个了", ranking=CLOSE_INTENTS)
    assert said == [ASK_LOAN_OR_BALANCE]
    assert events == [UserUtteranceReverted()]


def test_a_clear_miss_still_asks_to_rephrase():
    said, events = fallback_messages("紫色的大象在唱歌", ranking=[("out_of_scope/general", 0.25),
                                                              ("greet", 0.05)])
    assert said == [message("utter_rephrase")]
    assert events == [UserUtteranceReverted()]


@pytest.mark.parametrize("label", ["affirm", "deny", "greet", "goodbye", "thank", "inform",
                                   "bot_challenge", "out_of_scope/general"])
def test_no_question_about_a_label_that_means_nothing_as_a_question(label):
    said, _ = fallback("嗯那个贷款", ranking=[("query_loan", 0.26), (label, 0.25)])
    assert said == ["utter_rephrase"]


def test_the_second_miss_may_ask_when_the_first_only_asked_to_rephrase():
    said, events = fallback_messages("我那个公积金的钱咋个了", earlier=missed_turn(),
                                     ranking=CLOSE_INTENTS)
    assert said == [ASK_LOAN_OR_BALANCE]
    assert events == [UserUtteranceReverted()]


def test_a_miss_after_a_clarifying_question_offers_a_person():
    said, events = fallback("锅碗瓢盆", earlier=clarified_turn(), ranking=[("greet", 0.2)])
    assert said == ["utter_offer_human"]
    assert events == [UserUtteranceReverted()]


def test_none_of_these_offers_a_person():
    # The button's payload /nlu_fallback arrives as that intent, without a ranking.
    said, events = fallback("/nlu_fallback", earlier=clarified_turn())
    assert said == ["utter_offer_human"]
    assert events == [UserUtteranceReverted()]


def test_no_second_clarifying_question_in_a_row():
    said, _ = fallback("我公积金那个钱", earlier=clarified_turn(), ranking=CLOSE_INTENTS)
    assert said == ["utter_offer_human"]


def test_a_third_miss_offers_a_person_even_when_two_guesses_are_close():
    said, _ = fallback("我公积金那个钱", earlier=missed_turn("紫色大象") + missed_turn(),
                       ranking=CLOSE_INTENTS)
    assert said == ["utter_offer_human"]


def test_unusable_input_is_never_asked_about():
    said, _ = fallback("What is my balance?", ranking=CLOSE_INTENTS)
    assert said == ["utter_input_not_chinese"]


def test_a_slash_typed_by_a_person_is_still_unusable_input():
    said, _ = fallback("/query_balance_please")
    assert said == ["utter_input_not_chinese"]


def test_a_clarifying_question_counts_as_a_miss():
    tracker = make_tracker(text="锅碗瓢盆", intent="nlu_fallback", events=clarified_turn())
    assert consecutive_misses(tracker) == 2
    assert earlier_misses(tracker) == [CLARIFIED]
