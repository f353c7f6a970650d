"""Policy questions: the chosen topic's answer, or one clarifying question when two are close."""
from __future__ import annotations

import pytest
from rasa_sdk.events import UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions.faq import ActionAnswerFaq
from tests.actions.conftest import DOMAIN, make_tracker, user_event


def message(response, buttons=(), custom=None):
    """A message exactly as the dispatcher holds it."""
    return {"text": None, "buttons": list(buttons), "elements": [], "custom": custom or {},
            "template": response, "response": response, "image": None, "attachment": None}


CLOSE_TOPICS = message(
    "utter_clarify",
    buttons=[
        {"title": "公积金贷款利率", "payload": "公积金贷款利率是多少"},
        {"title": "公积金贷款额度", "payload": "公积金贷款最高能贷多少"},
        {"title": "都不是", "payload": "/nlu_fallback"},
    ],
    custom={"clarify": ["faq/loan_rate", "faq/loan_limit"]},
)


def faq_tracker(*ranking, earlier=(), text="贷款那个利息和能贷好多"):
    """A tracker whose latest message is a faq turn with this flat label ranking."""
    tracker = make_tracker(text=text, intent="faq", events=list(earlier))
    topics = [(label, p) for label, p in ranking if label.startswith("faq/")]
    best = topics[0][0] if topics else None
    tracker.latest_message["label_ranking"] = [{"label": l, "confidence": p} for l, p in ranking]
    tracker.latest_message["response_selector"] = {
        "all_retrieval_intents": ["faq"],
        "faq": {"response": {"intent_response_key": best, "utter_action": f"utter_{best}"},
                "ranking": []},
    } if best else {}
    return tracker


def answer(tracker):
    dispatcher = CollectingDispatcher()
    events = ActionAnswerFaq().run(dispatcher, tracker, DOMAIN)
    return dispatcher.messages, events


def clarified_turn(text="利息额度"):
    return [user_event(text, "faq"),
            {"event": "action", "name": "action_answer_faq", "timestamp": 1.0},
            {"event": "bot", "text": "…", "timestamp": 1.0,
             "data": {"custom": {"clarify": ["faq/loan_rate", "faq/loan_limit"]}}},
            {"event": "rewind", "timestamp": 1.0}]


def test_close_faq_topics_get_one_clarifying_question_with_both_as_buttons():
    said, events = answer(faq_tracker(("faq/loan_rate", 0.40), ("faq/loan_limit", 0.33),
                                      ("query_loan", 0.12)))
    assert said == [CLOSE_TOPICS]
    assert events == [UserUtteranceReverted()]


def test_a_topic_close_to_an_intent_offers_the_intent_as_an_intent_button():
    said, events = answer(faq_tracker(("faq/loan_rate", 0.38), ("query_loan", 0.30),
                                      ("faq/loan_limit", 0.12)))
    assert said == [message(
        "utter_clarify",
        buttons=[{"title": "公积金贷款利率", "payload": "公积金贷款利率是多少"},
                 {"title": "查询我的公积金贷款", "payload": "/query_loan"},
                 {"title": "都不是", "payload": "/nlu_fallback"}],
        custom={"clarify": ["faq/loan_rate", "query_loan"]},
    )]
    assert events == [UserUtteranceReverted()]


@pytest.mark.parametrize(
    "ranking",
    [
        [("faq/loan_rate", 0.71), ("faq/loan_limit", 0.12)],        # a clear winner
        [("faq/loan_rate", 0.45), ("faq/loan_limit", 0.29)],        # margin 0.16
        [("faq/loan_rate", 0.24), ("faq/loan_limit", 0.19)],        # second below 0.2
        [("faq/loan_rate", 0.40), ("greet", 0.36)],                 # greet is never offered
        [("faq/loan_rate", 0.40), ("out_of_scope/bank_loan", 0.36)],
    ],
)
def test_otherwise_the_chosen_topic_is_answered(ranking):
    said, events = answer(faq_tracker(*ranking))
    assert said == [message("utter_faq/loan_rate")]
    assert events == []


def test_no_second_question_in_a_row_the_best_topic_is_answered():
    said, events = answer(faq_tracker(("faq/loan_rate", 0.40), ("faq/loan_limit", 0.33),
                                      earlier=clarified_turn()))
    assert said == [message("utter_faq/loan_rate")]
    assert events == []


def test_after_an_understood_turn_it_may_ask_again():
    understood = [user_event("公积金贷款利率是多少", "faq"),
                  {"event": "action", "name": "action_answer_faq", "timestamp": 1.0}]
    said, _ = answer(faq_tracker(("faq/loan_rate", 0.40), ("faq/loan_limit", 0.33),
                                 earlier=clarified_turn() + understood))
    assert said == [CLOSE_TOPICS]


def test_a_faq_turn_without_a_topic_asks_to_rephrase():
    tracker = make_tracker(text="？", intent="faq")
    said, events = answer(tracker)
    assert said == [message("utter_rephrase")]
    assert events == [UserUtteranceReverted()]
