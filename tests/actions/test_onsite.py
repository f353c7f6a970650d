"""On-site service requests from employers."""
from __future__ import annotations

import uuid

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.onsite import ActionSubmitOnsite, ValidateOnsiteForm, parse_headcount
from bot.records.db import session_scope
from bot.records.service_models import OnsiteRequest
from tests.actions.conftest import DOMAIN, make_tracker, responses, user_event


@pytest.mark.parametrize(
    "said, expected",
    [("200", 200), ("两百多人", 200), ("约150人", 150), ("三十个左右", 30), ("很多", None), ("0", None),
     ("9999999", None)],
)
def test_headcount(said, expected):
    assert parse_headcount(said) == expected


def test_invalid_headcount_is_asked_again():
    dispatcher = CollectingDispatcher()
    result = ValidateOnsiteForm().validate_onsite_headcount("好多人", dispatcher, make_tracker(), DOMAIN)
    assert result == {"onsite_headcount": None}
    assert responses(dispatcher) == ["utter_invalid_headcount"]


def test_request_is_recorded_with_the_employers_words(records):
    conversation = f"conv-{uuid.uuid4().hex}"
    slots = {"onsite_employer": "成都示例物流有限公司", "onsite_contact": "王女士", "onsite_headcount": "200",
             "onsite_time": "下周三晚上", "onsite_phone": "02887654321"}
    tracker = make_tracker(conversation, slots=slots, text="02887654321", intent="inform",
                           events=[user_event("单位想请你们上门签委托提取协议", "request_onsite_service")])
    dispatcher = CollectingDispatcher()
    ActionSubmitOnsite().run(dispatcher, tracker, DOMAIN)
    assert responses(dispatcher) == ["utter_onsite_recorded", "utter_anything_else"]
    with session_scope(records) as session:
        request = session.scalar(select(OnsiteRequest).where(OnsiteRequest.conversation_id == conversation))
        assert (request.employer_name, request.headcount, request.phone) == ("成都示例物流有限公司", 200, "02887654321")
        assert request.note == "单位想请你们上门签委托提取协议"
