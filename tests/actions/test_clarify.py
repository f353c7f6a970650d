"""A yes or no with nothing pending: after a clarifying question a "no" offers a person."""
from __future__ import annotations

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.clarify import ActionAnswerYesNo
from tests.actions.conftest import DOMAIN, make_tracker, responses, user_event

QUESTION = {"event": "bot", "timestamp": 2.0, "text": "请问您想了解的是哪一项？",
            "data": {"custom": {"clarify": ["faq/hotline", "faq/service_hall"]}}}
PLAIN = {"event": "bot", "timestamp": 2.0, "text": "96319热线24小时服务。", "data": {}}


@pytest.mark.parametrize(
    ("before", "intent", "said"),
    [
        ([user_event("大厅热线", "faq"), QUESTION, {"event": "rewind", "timestamp": 2.1}],
         "deny", ["utter_offer_human"]),
        ([user_event("大厅热线", "faq"), QUESTION], "affirm", ["utter_ok_anything_else"]),
        ([user_event("热线几点", "faq"), PLAIN], "deny", ["utter_ok_anything_else"]),
        ([], "deny", ["utter_ok_anything_else"]),
    ],
    ids=["no-after-question", "yes-after-question", "no-after-answer", "no-first"],
)
def test_yes_or_no(before, intent, said):
    dispatcher = CollectingDispatcher()
    events = ActionAnswerYesNo().run(dispatcher, make_tracker(text="都不是", intent=intent,
                                                              events=before), DOMAIN)
    assert events == []
    assert responses(dispatcher) == said
