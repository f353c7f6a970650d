"""On-site service requests from employers."""
from __future__ import annotations

import uuid

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions.onsite import ONSITE_SLOTS, ActionSubmitOnsite, ValidateOnsiteForm, parse_headcount
from bot.records.db import session_scope
from bot.records.service_models import OnsiteRequest
from tests.actions.conftest import (
    DOMAIN,
    answer_tracker,
    make_tracker,
    responses,
    run_validation,
    user_event,
)

SLOTS = {"onsite_employer": "成都示例物流有限公司", "onsite_contact": "王女士", "onsite_headcount": "200",
         "onsite_time": "下周三晚上", "onsite_phone": "02887654321"}


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
    tracker = make_tracker(conversation, slots=SLOTS, text="02887654321", intent="inform",
                           events=[user_event("单位想请你们上门签委托提取协议", "request_onsite_service")])
    dispatcher = CollectingDispatcher()
    ActionSubmitOnsite().run(dispatcher, tracker, DOMAIN)
    assert responses(dispatcher) == ["utter_onsite_recorded", "utter_anything_else"]
    with session_scope(records) as session:
        request = session.scalar(select(OnsiteRequest).where(OnsiteRequest.conversation_id == conversation))
        assert (request.employer_name, request.headcount, request.phone) == ("成都示例物流有限公司", 200, "02887654321")
        assert request.note == "单位想请你们上门签委托提取协议"


def answer(asked: str, text: str, intent: str, *, earlier_answers: int = 0):
    earlier = {slot: SLOTS[slot] for slot in ONSITE_SLOTS[:ONSITE_SLOTS.index(asked)]}
    tracker = answer_tracker("onsite_form", asked, text, intent, slots=earlier, earlier_answers=earlier_answers)
    return run_validation(ValidateOnsiteForm(), tracker)


@pytest.mark.parametrize(
    "asked, text, intent, value",
    [("onsite_employer", "成都示例物流有限公司", "nlu_fallback", "成都示例物流有限公司"),
     ("onsite_employer", "四川某某科技有限公司", "out_of_scope", "四川某某科技有限公司"),
     ("onsite_contact", "王女士", "nlu_fallback", "王女士"),
     ("onsite_contact", "李先生", "goodbye", "李先生"),
     ("onsite_headcount", "两百多人", "nlu_fallback", "200"),
     ("onsite_headcount", "不确定，大概两百人", "deny", "200"),
     ("onsite_time", "下周三晚上", "nlu_fallback", "下周三晚上"),
     ("onsite_time", "下个月初", "query_loan", "下个月初")],
)
def test_free_answers_fill_the_form_whatever_the_intent(asked, text, intent, value):
    # Rasa's form then asks the next slot of the domain's list.
    assert answer(asked, text, intent) == ([SlotSet(asked, value)], [])


def test_second_unusable_headcount_also_offers_a_person():
    assert answer("onsite_headcount", "好多人", "nlu_fallback", earlier_answers=1) == (
        [SlotSet("onsite_headcount", None)], ["utter_invalid_headcount", "utter_form_offer_human"]
    )


@pytest.mark.parametrize("asked, text, intent", [("onsite_employer", "算了", "deny"),
                                                 ("onsite_time", "先不办了", "deny"),
                                                 ("onsite_phone", "不预约了 谢谢", "thank")])
def test_stop_leaves_the_form_and_nothing_is_recorded(records, asked, text, intent):
    assert answer(asked, text, intent) == (
        [SlotSet(slot, None) for slot in ONSITE_SLOTS] + [SlotSet("requested_slot", None)], []
    )
    conversation = f"conv-{uuid.uuid4().hex}"
    dispatcher = CollectingDispatcher()
    events = ActionSubmitOnsite().run(dispatcher, make_tracker(conversation), DOMAIN)
    assert responses(dispatcher) == ["utter_onsite_cancelled"]
    assert events == [SlotSet(slot, None) for slot in ONSITE_SLOTS]
    with session_scope(records) as session:
        count = session.scalar(select(func.count()).select_from(OnsiteRequest)
                               .where(OnsiteRequest.conversation_id == conversation))
    assert count == 0
