"""The satisfaction rating at the end."""
from __future__ import annotations

import uuid

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.rating import ActionAskRating, ActionSaveRating, ValidateRatingForm
from bot.records.db import session_scope
from bot.records.service_models import Rating
from tests.actions.conftest import DOMAIN, make_tracker, responses


@pytest.mark.parametrize(
    "said, expected",
    [("1", "5"), ("5", "1"), ("非常满意", "5"), ("非常不满意", "1"), ("还不错", "4"),
     ("一般般吧", "3"), ("skip", "skip"), ("不用了", "skip")],
)
def test_rating_understood(said, expected):
    dispatcher = CollectingDispatcher()
    assert ValidateRatingForm().validate_rating(said, dispatcher, make_tracker(), DOMAIN) == {"rating": expected}


def test_unclear_rating_asked_once_then_dropped():
    dispatcher = CollectingDispatcher()
    first = ValidateRatingForm().validate_rating("嗯嗯", dispatcher, make_tracker(), DOMAIN)
    assert first == {"rating": None, "rating_retry": True}
    assert responses(dispatcher) == ["utter_rating_invalid"]
    second = ValidateRatingForm().validate_rating(
        "嗯嗯", CollectingDispatcher(), make_tracker(slots={"rating_retry": True}), DOMAIN
    )
    assert second == {"rating": "skip"}


def test_rating_buttons_are_keypad_keys():
    dispatcher = CollectingDispatcher()
    ActionAskRating().run(dispatcher, make_tracker(), DOMAIN)
    assert [b["payload"] for b in dispatcher.messages[0]["buttons"]] == ["1", "2", "3", "4", "5"]


def test_rating_is_saved_then_goodbye(records):
    conversation = f"conv-{uuid.uuid4().hex}"
    dispatcher = CollectingDispatcher()
    events = ActionSaveRating().run(dispatcher, make_tracker(conversation, slots={"rating": "4"}), DOMAIN)
    assert responses(dispatcher) == ["utter_rating_thanks", "utter_goodbye"]
    assert SlotSet("rating_done", True) in events
    with session_scope(records) as session:
        assert session.scalar(select(Rating.score).where(Rating.conversation_id == conversation)) == 4


def test_skipped_rating_stores_nothing(records):
    conversation = f"conv-{uuid.uuid4().hex}"
    dispatcher = CollectingDispatcher()
    ActionSaveRating().run(dispatcher, make_tracker(conversation, slots={"rating": "skip"}), DOMAIN)
    assert responses(dispatcher) == ["utter_goodbye"]
    with session_scope(records) as session:
        assert session.scalar(select(Rating).where(Rating.conversation_id == conversation)) is None
