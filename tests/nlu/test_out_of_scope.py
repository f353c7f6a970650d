"""Every out-of-scope topic has an answer that points to the right service.

``data/nlu/out_of_scope.yml`` labels questions ``out_of_scope/<topic>``; Rasa's
retrieval action ``utter_out_of_scope`` then says ``utter_out_of_scope/<topic>``
from the domain. Each answer names who can help (a service line, or the bank
that lent the money), says what this assistant can do, and can be read aloud on
the phone: no web address, no emoji. Plain YAML, no Rasa needed.
"""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "utter_out_of_scope/"

# What each topic's answer must name (every listed phrase), per the brief of the
# fund centre: who handles that kind of question.
POINTERS = {
    "social_insurance": ["12333"],             # 人社服务热线: social, medical insurance, pensions
    "tax": ["12366"],                          # 纳税服务热线: income tax, deed tax
    "bank_loan": ["放贷", "银行"],             # the lending bank's own customer service
    "other_city_fund": ["当地", "12329"],      # that city's centre, or the national line
    "government_services": ["12345"],          # 政务服务便民热线
    "general": [],                             # no pointer: a polite refusal
}
# Every answer also says what this assistant does (一次告知).
OWN_SERVICE = "可以帮您"
URL = re.compile(r"https?://|www\.|[A-Za-z0-9-]+\.(?:cn|com|net|org|gov)\b", re.I)


def nlu_topics() -> dict[str, int]:
    """``<topic>`` -> number of examples, for every ``out_of_scope/<topic>`` in data/nlu."""
    topics: dict[str, int] = {}
    for path in sorted((ROOT / "data" / "nlu").rglob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            intent, _, topic = str(block.get("intent", "")).partition("/")
            if intent != "out_of_scope":
                continue
            assert topic, f"{path.name}: out_of_scope examples need a topic (out_of_scope/<topic>)"
            lines = [l for l in str(block["examples"]).splitlines() if l.strip().startswith("- ")]
            topics[topic] = topics.get(topic, 0) + len(lines)
    return topics


def domain_responses() -> dict[str, list[dict]]:
    responses: dict[str, list[dict]] = {}
    for path in sorted((ROOT / "domain").glob("*.yml")):
        responses.update((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("responses") or {})
    return responses


def answers() -> list:
    """(topic, text) for every variant of every out-of-scope answer, with readable ids."""
    return [
        pytest.param(name[len(PREFIX):], variant.get("text", ""), id=f"{name[len(PREFIX):]}-{index}")
        for name, variants in domain_responses().items()
        if name.startswith(PREFIX)
        for index, variant in enumerate(variants)
    ]


def test_every_topic_in_the_training_data_has_an_answer_and_back():
    topics = nlu_topics()
    answered = {name[len(PREFIX):] for name in domain_responses() if name.startswith(PREFIX)}
    assert topics, "no out_of_scope/<topic> examples in data/nlu"
    assert set(topics) == answered
    assert set(topics) == set(POINTERS), "a new topic needs its pointer in POINTERS"


def test_the_plain_response_is_gone():
    # Rasa names the retrieval action of the intent `out_of_scope` utter_out_of_scope;
    # a response of that name would shadow it.
    assert "utter_out_of_scope" not in domain_responses()


@pytest.mark.parametrize(("topic", "text"), answers())
def test_answer_names_who_can_help_and_what_we_do(topic, text):
    assert text
    for phrase in POINTERS[topic]:
        assert phrase in text, f"utter_out_of_scope/{topic} does not name {phrase}"
    assert OWN_SERVICE in text and "公积金" in text


@pytest.mark.parametrize(("topic", "text"), answers())
def test_answer_can_be_read_aloud(topic, text):
    assert not URL.search(text), f"utter_out_of_scope/{topic} contains a web address"
    unreadable = [c for c in text if unicodedata.category(c) in ("So", "Sk", "Cs", "Co")]
    assert not unreadable, f"utter_out_of_scope/{topic} contains symbols or emoji: {unreadable}"
    assert "\n" not in text and "*" not in text
