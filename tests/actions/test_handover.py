"""Hand-over to a person is recorded with why and the context."""
from __future__ import annotations

import uuid

from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.handover import ActionHandover
from bot.records.db import session_scope
from bot.records.service_models import Handover
from tests.actions.conftest import DOMAIN, login, make_tracker, responses, user_event


def test_handover_is_recorded_with_masked_account_and_path(records):
    conversation = f"conv-{uuid.uuid4().hex}"
    token = login(records, "overdue_loan", conversation)
    earlier = [user_event("我的贷款逾期了吗", "query_loan"), user_event("/authenticated", "authenticated")]
    tracker = make_tracker(conversation, slots={"auth_token": token}, text="转人工", intent="human_agent",
                           events=earlier, active_loop="complaint_form")
    dispatcher = CollectingDispatcher()
    events = ActionHandover().run(dispatcher, tracker, DOMAIN)
    assert responses(dispatcher) == ["utter_handover"]
    assert events == [ActiveLoop(None), SlotSet("requested_slot", None)]
    with session_scope(records) as session:
        handover = session.scalar(select(Handover).where(Handover.conversation_id == conversation))
        assert handover.reason == "requested"
        assert handover.masked_account == "1020****5082"
        assert handover.intent_path == "query_loan > authenticated > human_agent"
        assert handover.context["active_form"] == "complaint_form"
        assert token not in str(handover.context)


def test_handover_still_happens_when_the_database_is_down(monkeypatch):
    from bot.records.db import dispose_engines

    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/nowhere")
    dispose_engines()
    dispatcher = CollectingDispatcher()
    events = ActionHandover().run(dispatcher, make_tracker(text="转人工", intent="human_agent"), DOMAIN)
    assert responses(dispatcher) == ["utter_handover"]
    assert ActiveLoop(None) in events
