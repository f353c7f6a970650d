"""Policy questions: the answer in force for the channel, or one clarifying question when two are close.

The answers are the knowledge base's, loaded from ``knowledge/*.yml`` into the
seeded records (SQLite and PostgreSQL).
"""
from __future__ import annotations

from datetime import date

import pytest
from rasa_sdk.events import UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.faq import ActionAnswerFaq
from bot.knowledge.content import web_text
from bot.records import knowledge
from bot.records.db import session_scope
from bot.records.knowledge_models import PolicyAsk, PolicyTopic, PolicyVersion, VersionStatus
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


def faq_tracker(*ranking, earlier=(), text="贷款那个利息和能贷好多", channel="rest",
                sender_id="conv-1"):
    """A tracker whose latest message is a faq turn with this flat label ranking."""
    tracker = make_tracker(sender_id, text=text, intent="faq", events=list(earlier),
                           channel=channel)
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
def test_otherwise_the_chosen_topic_is_answered(records, ranking):
    said, events = answer(faq_tracker(*ranking))
    assert [m["text"] for m in said] == [in_force_web_text(records, "loan_rate")]
    assert events == []


def test_no_second_question_in_a_row_the_best_topic_is_answered(records):
    said, events = answer(faq_tracker(("faq/loan_rate", 0.40), ("faq/loan_limit", 0.33),
                                      earlier=clarified_turn()))
    assert [m["text"] for m in said] == [in_force_web_text(records, "loan_rate")]
    assert events == []


def in_force_web_text(url, key):
    """The REST channel's text: the web text, then each link as "title：url"."""
    with session_scope(url) as session:
        found = knowledge.answer_in_force(session, key)
        assert found is not None
        links = [f"{link['title']}：{link['url']}" for link in found.links]
        return "\n\n".join([web_text(found.full_text, found.materials)]
                            + (["\n".join(links)] if links else []))


def test_web_chat_gets_the_full_text_the_materials_and_the_links(records):
    said, _ = answer(faq_tracker(("faq/withdraw_materials", 0.9), channel="webchat",
                                 sender_id="web-materials"))
    with session_scope(records) as session:
        found = knowledge.answer_in_force(session, "withdraw_materials")
    assert found is not None and found.materials
    assert said[0]["text"] == web_text(found.full_text, found.materials)
    assert "需要准备的材料：\n1. " in said[0]["text"]
    assert said[0]["custom"]["links"] == list(found.links)
    assert said[0]["custom"]["policy_answer"] == {"topic": "withdraw_materials",
                                                  "version": found.version_id}


def test_the_phone_gets_the_spoken_text_and_what_it_needs_to_offer_the_sms(records):
    said, _ = answer(faq_tracker(("faq/withdraw_materials", 0.9), channel="voice",
                                 sender_id="CA-materials"))
    with session_scope(records) as session:
        found = knowledge.answer_in_force(session, "withdraw_materials")
    assert found is not None
    assert said[0]["text"] == found.spoken_text and len(found.spoken_text) <= 120
    assert said[0]["custom"] == {"policy_answer": {
        "topic": "withdraw_materials", "version": found.version_id,
        "materials": list(found.materials)}}


def test_every_answer_given_is_counted_for_the_desk(records):
    answer(faq_tracker(("faq/loan_rate", 0.9), sender_id="counted-1"))
    with session_scope(records) as session:
        asks = session.scalars(select(PolicyAsk).where(
            PolicyAsk.conversation_key == knowledge.conversation_key("counted-1"))).all()
    assert [(a.topic_key, a.channel.value) for a in asks] == [("loan_rate", "rest")]


def test_a_topic_without_a_version_in_force_gets_an_apology_not_an_invented_answer(records):
    with session_scope(records) as session:
        topic = session.scalar(select(PolicyTopic).where(PolicyTopic.key == "fund_statistics"))
        versions = [v for v in topic.versions if v.status is VersionStatus.approved]
        saved = [(v.id, v.effective_from) for v in versions]
        for v in versions:
            v.effective_from = date(2099, 1, 1)
    try:
        said, _ = answer(faq_tracker(("faq/fund_statistics", 0.9), sender_id="nothing-in-force"))
        assert said == [message("utter_faq_unavailable")]
    finally:
        with session_scope(records) as session:
            for version_id, start in saved:
                session.get(PolicyVersion, version_id).effective_from = start


def test_the_records_down_gives_an_apology(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    said, _ = answer(faq_tracker(("faq/loan_rate", 0.9)))
    assert said == [message("utter_faq_unavailable")]


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
