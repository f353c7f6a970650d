"""Complaint form validation, exactly-once submission, status look-up."""
from __future__ import annotations

import uuid

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions.complaints import (
    ActionAskComplaintCategory,
    ActionCancelComplaint,
    ActionComplaintStatus,
    ActionSubmitComplaint,
    ValidateComplaintForm,
    ValidateComplaintStatusForm,
)
from bot.records.db import session_scope
from bot.records.service_models import Complaint
from tests.actions.conftest import DOMAIN, make_tracker, responses, user_event

COMPLETE = {
    "complaint_category": "服务态度",
    "complaint_description": "今天上午在窗口办提取，工作人员很不耐烦还吼我",
    "complaint_location": "后子门一站式服务大厅",
    "complaint_staff_number": "none",
    "complaint_phone": "13812345678",
}


def validate(slot: str, value):
    dispatcher = CollectingDispatcher()
    method = getattr(ValidateComplaintForm(), f"validate_{slot}")
    result = method(value, dispatcher, make_tracker(), DOMAIN)
    return result[slot], responses(dispatcher)


@pytest.mark.parametrize(
    "said, expected",
    [("服务态度", "服务态度"), ("1", "服务态度"), ("窗口的人态度太差了", "服务态度"),
     ("收红包", "违规违纪"), ("网站打不开", "渠道系统"), ("办事效率", "办事效率")],
)
def test_category_from_label_key_or_description(said, expected):
    assert validate("complaint_category", said) == (expected, [])


@pytest.mark.parametrize("said", ["嗯", "😀", "SELECT * FROM complaints", "x" * 300])
def test_unknown_category_is_asked_again(said):
    assert validate("complaint_category", said) == (None, ["utter_invalid_complaint_category"])


@pytest.mark.parametrize(
    "value, expected, said",
    [
        ("太差", None, ["utter_complaint_description_too_short"]),
        ("   ", None, ["utter_complaint_description_too_short"]),
        ("很" * 2001, None, ["utter_complaint_description_too_long"]),
        ("昨天下午打96319一直没人接", "昨天下午打96319一直没人接", []),
    ],
)
def test_description_length(value, expected, said):
    assert validate("complaint_description", value) == (expected, said)


@pytest.mark.parametrize(
    "value, expected",
    [("13812345678", "13812345678"), ("幺三八 幺二三四 五六七八", "13812345678"),
     ("028-86279298", "02886279298"), ("12345", None), ("我不想留", None),
     ("'; DROP TABLE complaints;--", None)],
)
def test_contact_phone(value, expected):
    result, said = validate("complaint_phone", value)
    assert result == expected
    assert said == ([] if expected else ["utter_invalid_phone"])


def test_staff_number_is_optional():
    assert validate("complaint_staff_number", "none") == ("none", [])
    assert validate("complaint_staff_number", "工号1024") == ("工号1024", [])


def test_category_menu_comes_from_flows():
    dispatcher = CollectingDispatcher()
    ActionAskComplaintCategory().run(dispatcher, make_tracker(), DOMAIN)
    buttons = dispatcher.messages[0]["buttons"]
    assert [b["payload"] for b in buttons][:2] == ["服务态度", "办事效率"]


def count_complaints(url: str, conversation_id: str) -> int:
    with session_scope(url) as session:
        return session.scalar(
            select(func.count()).select_from(Complaint).where(Complaint.conversation_id == conversation_id)
        )


def submit(conversation_id: str, slots=COMPLETE, channel="rest"):
    events = [
        user_event("我要投诉", "complain", channel=channel),
        {"event": "bot", "timestamp": 1.0, "text": "请问您要投诉哪一类问题？"},
    ]
    tracker = make_tracker(conversation_id, slots=dict(slots), text="确认", intent="affirm",
                           events=events, channel=channel)
    dispatcher = CollectingDispatcher()
    returned = ActionSubmitComplaint().run(dispatcher, tracker, DOMAIN)
    return dispatcher, returned


def test_confirmed_complaint_is_stored_once_with_ticket_and_deadline(records):
    conversation = f"conv-{uuid.uuid4().hex}"
    dispatcher, events = submit(conversation)
    assert responses(dispatcher) == ["utter_complaint_recorded", "utter_anything_else"]
    recorded = dispatcher.messages[0]
    assert recorded["ticket_id"].startswith("TS") and len(recorded["ticket_id"]) == 12
    assert recorded["due_date"].endswith("日") and recorded["phone_tail"] == "5678"
    assert SlotSet("complaint_ticket", recorded["ticket_id"]) in events
    # A retried submission (same conversation, same content) returns the same ticket.
    again, _ = submit(conversation)
    assert responses(again)[0] == "utter_complaint_already_recorded"
    assert again.messages[0]["ticket_id"] == recorded["ticket_id"]
    assert count_complaints(records, conversation) == 1
    with session_scope(records) as session:
        complaint = session.scalar(select(Complaint).where(Complaint.conversation_id == conversation))
        assert complaint.category.value == "attitude"
        assert complaint.staff_number is None
        assert [turn["role"] for turn in complaint.transcript][:2] == ["user", "bot"]


def test_incomplete_complaint_stores_nothing(records):
    conversation = f"conv-{uuid.uuid4().hex}"
    dispatcher, events = submit(conversation, slots={**COMPLETE, "complaint_phone": None})
    assert responses(dispatcher) == ["utter_anything_else"]
    assert events == []
    assert count_complaints(records, conversation) == 0


def test_database_failure_says_not_recorded(monkeypatch):
    from bot.records.db import dispose_engines

    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/nowhere")
    dispose_engines()
    dispatcher, events = submit(f"conv-{uuid.uuid4().hex}")
    assert responses(dispatcher) == ["utter_complaint_failed"]
    assert events == []


def test_cancel_clears_the_form():
    dispatcher = CollectingDispatcher()
    events = ActionCancelComplaint().run(dispatcher, make_tracker(slots=COMPLETE), DOMAIN)
    assert responses(dispatcher) == ["utter_complaint_cancelled"]
    assert {e["name"] for e in events} == set(COMPLETE)


@pytest.mark.parametrize(
    "said, expected",
    [("TS2611270003", "TS2611270003"), ("ts2611270003", "TS2611270003"), ("2611270003", "TS2611270003"),
     ("TS26112700", None), ("投诉单号忘了", None), ("TS26112700031", None)],
)
def test_ticket_format(said, expected):
    dispatcher = CollectingDispatcher()
    result = ValidateComplaintStatusForm().validate_ticket_id(said, dispatcher, make_tracker(), DOMAIN)
    assert result == {"ticket_id": expected}
    assert responses(dispatcher) == ([] if expected else ["utter_invalid_ticket_id"])


def test_status_of_a_filed_complaint_never_reveals_the_contact(records):
    dispatcher, _ = submit(f"conv-{uuid.uuid4().hex}")
    ticket = dispatcher.messages[0]["ticket_id"]
    status = CollectingDispatcher()
    ActionComplaintStatus().run(status, make_tracker(slots={"ticket_id": ticket}), DOMAIN)
    assert responses(status) == ["utter_complaint_status_accepted", "utter_anything_else"]
    assert "13812345678" not in str(status.messages)


def test_status_of_an_unknown_ticket(records):
    status = CollectingDispatcher()
    events = ActionComplaintStatus().run(status, make_tracker(slots={"ticket_id": "TS9901019999"}), DOMAIN)
    assert responses(status) == ["utter_complaint_not_found"]
    assert events == [SlotSet("ticket_id", None)]
