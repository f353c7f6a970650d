"""The clarifying question's decision and its table (bot/clarify.py, flows/topics.yml)."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.clarify import (
    MAX_MARGIN,
    MIN_CONFIDENCE,
    NOT_OFFERED,
    TopicsError,
    buttons,
    close_pair,
    load_topics,
    not_offered_reason,
    parse_topics,
)
from bot.contract import SYSTEM_INTENTS, parse_intent_payload
from bot.gateway.chat.replies import MAX_BUTTON_PAYLOAD, MAX_BUTTON_TITLE, parse_reply

ROOT = Path(__file__).resolve().parents[2]


def nlu_labels() -> set[str]:
    """Every label of data/nlu: intents, and ``<retrieval intent>/<key>`` topics."""
    labels = set()
    for path in sorted((ROOT / "data" / "nlu").rglob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            if "intent" in block:
                labels.add(str(block["intent"]))
    return labels


def ranking(*pairs):
    return [{"label": label, "confidence": confidence} for label, confidence in pairs]


TOPICS = load_topics()


# --------------------------------------------------------------- the table

def test_every_label_of_the_training_data_is_offered_or_never_offered():
    labels = nlu_labels()
    undecided = sorted(l for l in labels if l not in TOPICS.offers and not not_offered_reason(l))
    assert undecided == [], "add a title to flows/topics.yml or a reason to NOT_OFFERED"
    assert sorted(set(TOPICS.offers) - labels) == [], "offers for labels data/nlu does not have"


def test_every_faq_topic_and_own_service_intent_can_be_offered():
    faq = {l for l in nlu_labels() if l.startswith("faq/")}
    assert faq <= set(TOPICS.offers)
    for intent in ("query_balance", "query_loan", "query_withdrawal", "complain",
                   "complaint_status", "request_onsite_service", "human_agent"):
        assert intent in TOPICS.offers


@pytest.mark.parametrize("label", sorted(TOPICS.offers))
def test_every_button_is_one_the_gateways_send(label):
    offer = TOPICS.offers[label]
    assert 0 < len(offer.title) <= MAX_BUTTON_TITLE
    assert len(offer.payload) <= MAX_BUTTON_PAYLOAD
    if "/" in label:  # a topic: its question goes through the NLU (tests/e2e)
        assert parse_intent_payload(offer.payload) is None
    else:
        assert parse_intent_payload(offer.payload) == (label, {})


def test_titles_and_questions_are_distinct():
    titles = [o.title for o in TOPICS.offers.values()] + [TOPICS.none_of_these.title]
    assert len(set(titles)) == len(titles)
    payloads = [o.payload for o in TOPICS.offers.values()]
    assert len(set(payloads)) == len(payloads)


def test_none_of_these_is_the_fallback_intent_and_never_a_system_intent():
    assert parse_intent_payload(TOPICS.none_of_these.payload) == ("nlu_fallback", {})
    assert not SYSTEM_INTENTS & set(TOPICS.offers)


def test_the_question_is_short_and_the_action_adds_the_buttons():
    responses = yaml.safe_load((ROOT / "domain" / "responses.yml").read_text(encoding="utf-8"))
    variants = responses["responses"]["utter_clarify"]
    assert variants and all(len(v["text"]) <= 20 and "buttons" not in v for v in variants)


@pytest.mark.parametrize(
    "data, fault",
    [
        ([], "top level must be a mapping"),
        ({"none_of_these": "x", "offers": {}}, "'offers' must be a non-empty mapping"),
        ({"offers": {"complain": {"title": "x"}}}, "missing 'none_of_these'"),
        ({"none_of_these": "x", "offers": {"complain": {}}}, "offers.complain: missing 'title'"),
        ({"none_of_these": "x", "offers": {"complain": {"title": "长" * 41}}}, "longer than 40"),
        ({"none_of_these": "x", "offers": {"faq/loan_rate": {"title": "x"}}}, "needs 'ask'"),
        ({"none_of_these": "x", "offers": {"faq/loan_rate": {"title": "x", "ask": "/faq"}}}, "needs 'ask'"),
        ({"none_of_these": "x", "offers": {"complain": {"title": "x", "ask": "y"}}}, "remove 'ask'"),
        ({"none_of_these": "x", "offers": {"greet": {"title": "x"}}}, "never offered"),
        ({"none_of_these": "x", "offers": {"out_of_scope/tax": {"title": "x", "ask": "y"}}}, "never offered"),
        ({"none_of_these": "x", "offers": {"authenticated": {"title": "x"}}}, "never offered"),
        ({"none_of_these": "x", "offers": {"no such-intent": {"title": "x"}}}, "not an intent name"),
    ],
)
def test_a_broken_table_names_the_fault(data, fault):
    with pytest.raises(TopicsError, match=fault):
        parse_topics(data, "flows/topics.yml")


# ------------------------------------------------------------ the decision

def test_the_thresholds_are_the_documented_ones():
    assert (MIN_CONFIDENCE, MAX_MARGIN) == (0.2, 0.15)


@pytest.mark.parametrize(
    "labels, expected",
    [
        ((("faq/loan_rate", 0.40), ("faq/loan_limit", 0.35)), ("faq/loan_rate", "faq/loan_limit")),
        ((("query_loan", 0.30), ("faq/loan_rate", 0.20)), ("query_loan", "faq/loan_rate")),
        ((("faq/loan_rate", 0.35), ("faq/loan_limit", 0.21)), ("faq/loan_rate", "faq/loan_limit")),
        ((("faq/loan_rate", 0.41), ("faq/loan_limit", 0.25)), None),      # margin 0.16
        ((("faq/loan_rate", 0.25), ("faq/loan_limit", 0.19)), None),      # second below the floor
        ((("faq/loan_rate", 0.40), ("greet", 0.38)), None),               # greet is never offered
        ((("deny", 0.40), ("complain", 0.38)), None),
        ((("faq/loan_rate", 0.40), ("out_of_scope/bank_loan", 0.38)), None),
        ((("faq/loan_rate", 0.90),), None),
        ((), None),
    ],
)
def test_close_pair(labels, expected):
    assert close_pair(ranking(*labels), TOPICS.offers) == expected


def test_close_pair_reads_the_ranking_best_first_whatever_its_order():
    assert close_pair(ranking(("faq/loan_limit", 0.3), ("faq/loan_rate", 0.35)), TOPICS.offers) == (
        "faq/loan_rate", "faq/loan_limit")


def test_close_pair_ignores_a_missing_or_malformed_ranking():
    assert close_pair(None, TOPICS.offers) is None
    assert close_pair([{"confidence": 0.5}, "x", {"label": "complain"}], TOPICS.offers) is None


@pytest.mark.parametrize("label", sorted(NOT_OFFERED))
def test_never_offered_labels_are_never_asked_about(label):
    assert close_pair(ranking(("complain", 0.35), (label, 0.34)), TOPICS.offers) is None


# ------------------------------------------------------ how channels show it

def test_web_chat_shows_the_question_with_three_buttons_and_ignores_the_marker():
    pair = ("faq/loan_rate", "faq/loan_limit")
    rasa_reply = [
        {"recipient_id": "c", "text": "请问您想了解的是哪一项？", "buttons": buttons(TOPICS, pair)},
        {"recipient_id": "c", "custom": {"clarify": list(pair)}},
    ]
    reply = parse_reply(rasa_reply)
    assert reply.messages == [{"role": "bot", "text": "请问您想了解的是哪一项？"}]
    assert [title for title, _ in reply.buttons] == [
        TOPICS.offers["faq/loan_rate"].title, TOPICS.offers["faq/loan_limit"].title,
        TOPICS.none_of_these.title,
    ]
    assert not reply.secure_step and not reply.handover
