"""The clarifying question with the trained model, the real action server and Rasa's REST channel.

A message that sits between two topics gets one question with both as
buttons; pressing a button (its payload sent as the gateway sends it) gives
that topic's answer; "none of these" offers a person; and the question is
marked in the tracker for the to-learn inbox, with the unclear turn undone.
"""
from __future__ import annotations


import pytest
import requests

from actions.faq import rendered
from bot.chat import RestConversation
from bot.clarify import close_pair, load_topics
from bot.flows import menus
from bot.records import knowledge
from bot.records.db import session_scope
from tests.e2e.stack import RASA_TOKEN

TOPICS = load_topics()
# Built to sit between two FAQ topics: the website and the complaint channels
# (re-chosen after the 61-topic model of 2026-11-29).
BETWEEN_TOPICS = "网站还是电话"
BETWEEN_TOPICS_PAIR = ("faq/website", "faq/complaint_channels")
# Between an own-records intent and a policy topic.
BETWEEN_INTENT_AND_TOPIC = "我想问提取"
BETWEEN_INTENT_AND_TOPIC_PAIR = ("faq/withdraw_conditions", "query_withdrawal")


@pytest.fixture
def chat(stack):
    return RestConversation(stack.rasa_url)


def parse(stack, text):
    response = requests.post(f"{stack.rasa_url}/model/parse", params={"token": RASA_TOKEN},
                             json={"text": text}, timeout=30)
    response.raise_for_status()
    return response.json()


def tracker_events(stack, sender_id):
    response = requests.get(f"{stack.rasa_url}/conversations/{sender_id}/tracker",
                            params={"token": RASA_TOKEN}, timeout=30)
    response.raise_for_status()
    return response.json()["events"]


def faq_answer(stack, label):
    """The REST channel's messages for a topic's answer in force in the stack's records
    (Rasa's collecting channel sends each paragraph as a message)."""
    with session_scope(stack.database_url) as session:
        found = knowledge.answer_in_force(session, label.split("/", 1)[1])
    assert found is not None
    return rendered(found, "rest")["text"].split("\n\n")


def question(messages):
    """(text, buttons, the custom marker) of the clarifying question in a REST reply."""
    asked = [m for m in messages if m.get("buttons")]
    assert len(asked) == 1, messages
    marker = next(m["custom"] for m in messages if (m.get("custom") or {}).get("clarify"))
    return asked[0]["text"], asked[0]["buttons"], marker


@pytest.mark.parametrize("label", sorted(l for l in TOPICS.offers if "/" in l))
def test_each_topic_button_sends_a_question_that_is_answered_without_asking_again(stack, label):
    result = parse(stack, TOPICS.offers[label].payload)
    assert result["intent"]["name"] == "faq"
    assert result["response_selector"]["faq"]["response"]["intent_response_key"] == label
    assert close_pair(result["label_ranking"], TOPICS.offers) is None


MENU_QUESTIONS = sorted({item.text for menu in menus().values() for item in menu.items if item.text})


@pytest.mark.parametrize("text", MENU_QUESTIONS)
def test_a_menu_choice_that_sends_a_question_is_answered_without_asking_again(stack, text):
    # A person who chose "提取条件" from the menu has said which topic they mean.
    result = parse(stack, text)
    assert result["intent"]["name"] == "faq"
    assert close_pair(result["label_ranking"], TOPICS.offers) is None


def test_the_test_messages_still_sit_between_two_labels(stack):
    # If the model moves, pick new messages here rather than weaken the tests below.
    assert close_pair(parse(stack, BETWEEN_TOPICS)["label_ranking"], TOPICS.offers) == BETWEEN_TOPICS_PAIR
    assert close_pair(parse(stack, BETWEEN_INTENT_AND_TOPIC)["label_ranking"],
                      TOPICS.offers) == BETWEEN_INTENT_AND_TOPIC_PAIR


def test_between_two_topics_it_asks_and_the_button_gives_that_answer(chat, stack):
    text, buttons, marker = question(chat.say(BETWEEN_TOPICS))
    assert text == "请问您想了解的是哪一项？"
    assert buttons == [TOPICS.offers[l].button() for l in BETWEEN_TOPICS_PAIR] + [
        TOPICS.none_of_these.button()]
    assert marker == {"clarify": list(BETWEEN_TOPICS_PAIR)}

    second = buttons[1]["payload"]  # what the gateway sends for the second button
    answer = [m.get("text") for m in chat.send(second) if m.get("text")]
    assert answer == faq_answer(stack, BETWEEN_TOPICS_PAIR[1])


def test_between_an_intent_and_a_topic_the_intent_button_starts_that_service(chat):
    _, buttons, _ = question(chat.say(BETWEEN_INTENT_AND_TOPIC))
    assert buttons[1] == {"title": TOPICS.offers["query_withdrawal"].title,
                          "payload": "/query_withdrawal"}
    reply = chat.send(buttons[1]["payload"])
    assert any((m.get("custom") or {}).get("secure_input") == "identity" for m in reply)


def test_none_of_these_offers_a_person(chat):
    _, buttons, _ = question(chat.say(BETWEEN_TOPICS))
    reply = chat.send(buttons[-1]["payload"])
    assert "转接人工客服吗" in " ".join(m.get("text") or "" for m in reply)


def test_none_of_these_said_in_words_offers_a_person_too(chat):
    # "都不是" / "都不对" right after the question: neither option was meant.
    question(chat.say(BETWEEN_TOPICS))
    assert "转接人工客服吗" in " ".join(m.get("text") or "" for m in chat.say("都不是"))


def test_a_no_without_a_question_before_it_is_just_a_no(chat):
    assert "转接人工客服吗" not in " ".join(m.get("text") or "" for m in chat.say("不是"))


def test_the_question_is_marked_for_the_to_learn_inbox_and_its_turn_undone(chat, stack):
    chat.say(BETWEEN_TOPICS)
    chat.send(TOPICS.offers[BETWEEN_TOPICS_PAIR[0]].payload)
    events = tracker_events(stack, chat.sender_id)
    kinds = [e["event"] for e in events]
    asked = next(i for i, e in enumerate(events)
                 if e["event"] == "bot" and ((e.get("data") or {}).get("custom") or {}).get("clarify"))
    # The unclear words are the user event before the question ...
    unclear = max(i for i in range(asked) if kinds[i] == "user")
    assert events[unclear]["text"] == BETWEEN_TOPICS
    # ... undone for the dialogue right after it, before the person's answer.
    assert "rewind" in kinds[asked:kinds.index("user", asked)]
    answered = [e for e in events[asked:] if e["event"] == "user"]
    assert answered[0]["parse_data"]["response_selector"]["faq"]["response"][
        "intent_response_key"] == BETWEEN_TOPICS_PAIR[0]


def test_in_the_middle_of_a_complaint_the_question_is_asked_and_the_complaint_resumes(chat, stack):
    assert "哪一类" in " ".join(m.get("text") or "" for m in chat.say("我要投诉"))
    _, buttons, _ = question(chat.say(BETWEEN_TOPICS))
    reply = [m.get("text") for m in chat.send(buttons[1]["payload"]) if m.get("text")]
    answer = faq_answer(stack, BETWEEN_TOPICS_PAIR[1])
    assert reply[:len(answer)] == answer and "哪一类" in " ".join(reply[len(answer):])
