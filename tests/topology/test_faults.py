"""Faults the production topology survives, with real processes killed by signals.

- A Rasa replica killed (SIGKILL) in the middle of a web chat and of a phone
  call: the next turn is answered by the other replica from the shared
  PostgreSQL tracker store, and the tracker holds each user message once
  (nothing lost, nothing said twice).
- One of the action server's two workers killed: no later turn fails.
"""
from __future__ import annotations

import os
import signal

import pytest
import requests

from bot.gateway.rasa import rendezvous_order
from bot.gateway.voice.simulator import PhoneSimulator
from tests.topology.topology import Topology

COMPLAINT = "我要投诉"
CATEGORY = "服务态度"
ASKS_WHAT_HAPPENED = "具体说说"  # the complaint form's next question, after the category
VOICE_APOLOGY = "非常抱歉"


def chat_turn(http: requests.Session, topology: Topology, cid: str, text: str) -> list[str]:
    response = http.post(f"{topology.gateway_url}/chat/api/message",
                         json={"conversation_id": cid, "text": text}, timeout=30)
    assert response.status_code == 200, response.text
    return [message["text"] for message in response.json()["messages"] if message.get("text")]


def new_chat(topology: Topology) -> tuple[requests.Session, str]:
    http = requests.Session()
    response = http.post(f"{topology.gateway_url}/chat/api/session", json={}, timeout=30)
    assert response.status_code == 200, response.text
    return http, response.json()["conversation_id"]


def user_texts(topology: Topology, sender: str, replica: str) -> list[str]:
    events = topology.tracker(sender, replica)["events"]
    return [event.get("text") for event in events if event.get("event") == "user"]


def bot_texts(topology: Topology, sender: str, replica: str) -> list[str]:
    events = topology.tracker(sender, replica)["events"]
    return [event.get("text") or "" for event in events if event.get("event") == "bot"]


@pytest.fixture
def revive(topology: Topology):  # type: ignore[no-untyped-def]
    """Starts again, after the test, every replica the test killed."""
    yield
    for number in (1, 2):
        if f"rasa{number}" not in topology.processes:
            topology.start_rasa(number)
    topology.wait_healthy()


def test_a_replica_killed_mid_chat_the_other_answers_from_the_shared_tracker(
        topology: Topology, revive) -> None:  # type: ignore[no-untyped-def]
    http, cid = new_chat(topology)
    first, other = rendezvous_order(topology.rasa_urls, cid)
    assert any("投诉" in text for text in chat_turn(http, topology, cid, COMPLAINT))

    topology.kill(f"rasa{topology.replica_number(first)}")
    answer = chat_turn(http, topology, cid, CATEGORY)
    assert any(ASKS_WHAT_HAPPENED in text for text in answer), answer
    chat_turn(http, topology, cid, "昨天上午在柜台办理提取，工作人员态度不好")

    said = user_texts(topology, cid, other)
    typed = [COMPLAINT, CATEGORY, "昨天上午在柜台办理提取，工作人员态度不好"]
    assert [text for text in said if text in typed] == typed  # each once, in order
    assert sum(ASKS_WHAT_HAPPENED in text for text in bot_texts(topology, cid, other)) == 1


def test_a_replica_killed_mid_call_the_other_answers_from_the_shared_tracker(
        topology: Topology, revive) -> None:  # type: ignore[no-untyped-def]
    # A call whose first replica is the second one (the chat test killed the first).
    sid = next(f"CA{number:032x}" for number in range(1, 1000)
               if rendezvous_order(topology.rasa_urls, f"CA{number:032x}")[0]
               == topology.rasa_urls[1])
    phone = PhoneSimulator(topology.gateway_url, topology.twilio_token, call_sid=sid,
                           from_number="+8613800000011", timeout=30)
    assert "欢迎致电成都住房公积金管理中心" in phone.dial().text
    heard = phone.say(COMPLAINT)
    assert "投诉" in heard.text and VOICE_APOLOGY not in heard.text, heard.text

    topology.kill("rasa2")
    heard = phone.say(CATEGORY)
    assert ASKS_WHAT_HAPPENED in heard.text and VOICE_APOLOGY not in heard.text, heard.text

    said = user_texts(topology, sid, topology.rasa_urls[0])
    assert [text for text in said if text in (COMPLAINT, CATEGORY)] == [COMPLAINT, CATEGORY]
    asked = bot_texts(topology, sid, topology.rasa_urls[0])
    assert sum(ASKS_WHAT_HAPPENED in text for text in asked) == 1


def test_an_action_worker_killed_no_later_turn_fails(topology: Topology) -> None:
    workers = topology.action_workers()
    assert len(workers) == 2
    os.kill(workers[0], signal.SIGKILL)
    for _ in range(6):  # each answer comes from a custom action (action_answer_faq)
        http, cid = new_chat(topology)
        answer = chat_turn(http, topology, cid, "怎么提取公积金")
        assert answer and any("提取" in text for text in answer), answer
    assert topology.processes["actions"].poll() is None  # the server itself carries on
