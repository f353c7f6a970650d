"""Never guess: rephrase first, offer a person on the second miss, explain unusable input."""
from __future__ import annotations

import pytest
from rasa_sdk.events import UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import ActionDefaultFallback, ActionHandleFallback
from tests.actions.conftest import DOMAIN, make_tracker, responses, user_event


def fallback(text, earlier=()):
    dispatcher = CollectingDispatcher()
    events = ActionHandleFallback().run(
        dispatcher, make_tracker(text=text, intent="nlu_fallback", events=list(earlier)), DOMAIN
    )
    return responses(dispatcher), events


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
