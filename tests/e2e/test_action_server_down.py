"""The action server down, Rasa up: every turn that needs an action takes the apology path.

A real stack (trained model, Rasa with the endpoints' NLG, action server,
records) whose action server is stopped with a signal, then started again. The
gateway (chat API with its cookie, voice webhooks signed like Twilio through the
phone simulator) is the Flask app in front of it. What must hold:

- "我要投诉", a policy question and the balance after verification get the
  apology (chat: 503 with 96319, 86279298 and the callback form; voice: the
  apology and a transfer, or a callback after hours), never a reply with
  "None", and nothing is recorded;
- the failed turn is undone in Rasa's tracker (no complaint form left open);
- with the action server back, the same conversation files its complaint.
"""
from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from bot.contract import SECRET_HEADER
from bot.gateway import create_app
from bot.gateway.chat.ratelimit import MemoryRateLimiter
from bot.gateway.voice.simulator import PhoneSimulator
from bot.records.db import dispose_engines, session_scope
from bot.records.seed import DEMO_BY_KEY
from bot.records.service_models import CallbackRequest, Complaint
from bot.settings import load_settings
from tests.bot.gateway.voice.conftest import AFTER_HOURS, IN_HOURS, Clock, TestClientHttp
from tests.e2e.stack import GATEWAY_SECRET, RASA_TOKEN, ROOT, Stack

NLG = "bot.channels.nlg.SlotCheckingGenerator"
EMPTY = ("None", "null", "{complaint_", "{ticket_id}")
SUPERVISION_LINE = "86279298"
DEPOSITOR = DEMO_BY_KEY["normal_loan"]


class GuardedStack(Stack):
    """The test stack with the NLG the repository's endpoint files name."""

    def start_rasa(self, endpoints: Path | None = None) -> None:
        endpoints = endpoints or self.workdir / "endpoints.yml"
        text = endpoints.read_text(encoding="utf-8")
        if "nlg:" not in text:
            endpoints.write_text(text + f"nlg:\n  type: {NLG}\n", encoding="utf-8")
        super().start_rasa(endpoints)

    def start_actions(self) -> None:
        self.processes["actions"] = subprocess.Popen(
            [sys.executable, "-m", "rasa_sdk", "--actions", "actions",
             "--port", str(self.action_port)],
            cwd=ROOT, env=self.env, stdout=self._log("actions"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_healthy(120)


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GuardedStack]:
    running = GuardedStack(workdir=tmp_path_factory.mktemp("apology")).start(seed_count=20)
    try:
        yield running
    finally:
        running.stop()
        dispose_engines()


@pytest.fixture
def actions_down(guarded: GuardedStack) -> Iterator[GuardedStack]:
    """The action server stopped (SIGTERM to its process group), started again after."""
    guarded.stop_part("actions")
    assert not guarded.healthy()["actions"]
    try:
        yield guarded
    finally:
        if "actions" not in guarded.processes:
            guarded.start_actions()


@pytest.fixture
def clock() -> Clock:
    return Clock(IN_HOURS)


@pytest.fixture
def app(guarded: GuardedStack, clock: Clock) -> Flask:
    settings = dataclasses.replace(load_settings(guarded.env), chat_rate_per_session=30)
    return create_app({"HOTLINE_SETTINGS": settings, "TESTING": True, "CHAT_CLOCK": clock,
                       "VOICE_CLOCK": clock, "CHAT_RATE_LIMITER": MemoryRateLimiter()})


# ------------------------------------------------------------------ helpers


def chat(client: FlaskClient, path: str, body: dict[str, Any]):  # type: ignore[no-untyped-def]
    return client.post(f"/chat/api/{path}", json=body)


def start_chat(client: FlaskClient) -> str:
    response = chat(client, "session", {})
    assert response.status_code == 200
    return response.get_json()["conversation_id"]


def assert_nothing_empty(payload: Any) -> None:
    """No message or error text of a chat answer renders an empty slot."""
    texts = [message.get("text") or "" for message in payload.get("messages") or []]
    texts.append((payload.get("error") or {}).get("message") or "")
    dump = " ".join(texts)
    for mark in EMPTY:
        assert mark not in dump, dump


def assert_chat_apology(response, callback_done: bool = False) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    body = response.get_json()
    assert response.status_code == 503, body
    assert_nothing_empty(body)
    message = body["error"]["message"]
    assert "96319" in message and SUPERVISION_LINE in message and "回电" in message
    assert body["handover"]["mode"] == "backend_error"  # the callback form
    assert body["handover"]["callback_done"] is callback_done
    return body


def tracker(stack: Stack, sender: str) -> dict[str, Any]:
    response = requests.get(f"{stack.rasa_url}/conversations/{sender}/tracker",
                            params={"token": RASA_TOKEN}, timeout=30)
    response.raise_for_status()
    return response.json()


def complaints(stack: Stack, conversation_id: str) -> int:
    with session_scope(stack.database_url) as session:
        return session.scalar(select(func.count()).select_from(Complaint)
                              .where(Complaint.conversation_id == conversation_id)) or 0


def phone(app: Flask, caller: str = "+8613800000007") -> PhoneSimulator:
    token = app.config["HOTLINE_SETTINGS"].twilio_auth_token
    simulator = PhoneSimulator("http://localhost", token,
                               from_number=caller, call_sid="CA" + uuid.uuid4().hex,
                               session=TestClientHttp(app.test_client()))  # type: ignore[arg-type]
    assert "欢迎致电成都住房公积金管理中心" in simulator.dial().text
    return simulator


# ------------------------------------------------------------------ web chat


def test_chat_complaint_with_the_action_server_down_then_back(actions_down: GuardedStack,
                                                              app: Flask) -> None:
    client = app.test_client()
    cid = start_chat(client)
    body = assert_chat_apology(chat(client, "message", {"conversation_id": cid,
                                                        "text": "我要投诉"}))
    assert body["error"]["code"] == "turn_failed"
    # Rasa undid the turn: no complaint form waits for a category.
    state = tracker(actions_down, cid)
    assert not (state.get("active_loop") or {}).get("name"), state["active_loop"]
    assert state["events"][-2]["event"] == "rewind"
    assert state["events"][-1] == {**state["events"][-1], "event": "action",
                                   "name": "action_listen"}
    # Reloaded, the chat does not show the undone message as if it was answered.
    reloaded = chat(client, "session", {}).get_json()
    assert reloaded["resumed"] and "我要投诉" not in json.dumps(reloaded["history"],
                                                                ensure_ascii=False)
    assert reloaded["handover"]["mode"] == "backend_error"  # the callback form stays offered
    # The callback offered with the apology can be left; the desk sees 系统故障.
    recorded = chat(client, "callback", {"conversation_id": cid, "phone": "13912345678"})
    assert recorded.status_code == 200, recorded.get_json()
    with session_scope(actions_down.database_url) as session:
        reason = session.scalar(select(CallbackRequest.reason)
                                .where(CallbackRequest.conversation_id == cid))
    assert reason == "backend_error"
    # A policy answer needs the action server too.
    assert_chat_apology(chat(client, "message", {"conversation_id": cid,
                                                 "text": "提取公积金需要什么材料"}),
                        callback_done=True)
    assert complaints(actions_down, cid) == 0

    actions_down.start_actions()
    category = chat(client, "message", {"conversation_id": cid, "text": "我要投诉"})
    assert category.status_code == 200
    answer = category.get_json()
    assert "哪一类" in json.dumps(answer, ensure_ascii=False)
    assert answer["handover"] is None  # the assistant answers again: no apology banner
    for said in ("服务态度", "今天上午在后子门大厅办提取，窗口工作人员很不耐烦还吼人",
                 "后子门一站式服务大厅", "不知道", "13812345678"):
        reply = chat(client, "message", {"conversation_id": cid, "text": said})
        assert reply.status_code == 200, reply.get_json()
        assert_nothing_empty(reply.get_json())
    readback = json.dumps(reply.get_json(), ensure_ascii=False)
    assert "服务态度" in readback and "13812345678" in readback
    done = chat(client, "message", {"conversation_id": cid, "text": "确认"})
    assert done.status_code == 200 and "投诉单号" in json.dumps(done.get_json(), ensure_ascii=False)
    assert complaints(actions_down, cid) == 1


def test_chat_balance_after_verification_with_the_action_server_down(guarded: GuardedStack,
                                                                     app: Flask) -> None:
    client = app.test_client()
    cid = start_chat(client)
    asked = chat(client, "message", {"conversation_id": cid, "text": "查一下我的公积金余额"})
    assert asked.status_code == 200 and asked.get_json()["secure_step"] is True
    guarded.stop_part("actions")
    try:
        verified = chat(client, "verify", {"conversation_id": cid, "identifier": DEPOSITOR.id_number,
                                           "password": DEPOSITOR.password})
        body = assert_chat_apology(verified)
        assert "账户余额" not in json.dumps(body, ensure_ascii=False)
    finally:
        guarded.start_actions()
    # The chat moved to its verified id before the outcome failed: the answer
    # names it, the cookie owns it, and the grant was withdrawn.
    moved = body["conversation_id"]
    assert moved != cid
    again = chat(client, "message", {"conversation_id": moved, "text": "查一下我的公积金余额"})
    assert again.status_code == 200 and again.get_json()["secure_step"] is True


# ------------------------------------------------------------------ phone


def test_call_complaint_with_the_action_server_down_then_back(actions_down: GuardedStack,
                                                              app: Flask) -> None:
    call = phone(app)
    heard = call.say("我要投诉")
    assert heard.text.startswith("非常抱歉，系统暂时出现故障"), heard.text
    assert "监督电话" in heard.text and "None" not in heard.text
    assert "正在为您转接人工客服" in heard.text and heard.transferred_to  # agent hours
    assert complaints(actions_down, call.call_sid) == 0
    assert not (tracker(actions_down, call.call_sid).get("active_loop") or {}).get("name")

    actions_down.start_actions()
    again = phone(app)
    assert "服务态度请按一" in again.say("我要投诉").text
    assert "请您具体说说发生了什么" in again.press("1").text


def test_call_policy_question_after_hours(actions_down: GuardedStack, app: Flask,
                                         clock: Clock) -> None:
    clock.now = AFTER_HOURS
    call = phone(app, caller="+8613800000008")
    heard = call.say("提取公积金需要什么材料")
    assert heard.text.startswith("非常抱歉，系统暂时出现故障") and "监督电话" in heard.text
    assert "已为您登记回电" in heard.text and "None" not in heard.text


def test_call_balance_after_verification_with_the_action_server_down(guarded: GuardedStack,
                                                                     app: Flask) -> None:
    call = phone(app)
    ask = call.press("1")  # the balance: the assistant asks for the keypad step
    assert "请用电话按键输入身份证号" in ask.text
    guarded.stop_part("actions")
    try:
        call.press(DEPOSITOR.id_number + "#")
        answer = call.press(DEPOSITOR.password + "#")
        assert answer.text.startswith("非常抱歉，系统暂时出现故障"), answer.text
        assert "账户余额" not in answer.text and "None" not in answer.text
        assert answer.transferred_to
    finally:
        guarded.start_actions()


# ------------------------------------------------------------------ mid-conversation


def test_killed_mid_complaint_the_form_resumes_where_it_was(guarded: GuardedStack,
                                                            app: Flask) -> None:
    """SIGKILL to the action server between two answers: the failed answer is
    undone (the form still asks the same question, its slot empty), so once the
    server is back the visitor answers again and the complaint goes on."""
    client = app.test_client()
    cid = start_chat(client)
    assert chat(client, "message", {"conversation_id": cid, "text": "我要投诉"}).status_code == 200
    asked = chat(client, "message", {"conversation_id": cid, "text": "服务态度"}).get_json()
    assert "具体说说" in asked["messages"][-1]["text"]
    actions = guarded.processes.pop("actions")
    os.killpg(actions.pid, signal.SIGKILL)
    actions.wait(timeout=20)
    try:
        description = "今天上午在后子门大厅办提取，窗口工作人员很不耐烦还吼人"
        assert_chat_apology(chat(client, "message", {"conversation_id": cid,
                                                     "text": description}))
        state = tracker(guarded, cid)
        assert state["active_loop"].get("name") == "complaint_form", state["active_loop"]
        assert state["slots"]["requested_slot"] == "complaint_description"
        assert state["slots"]["complaint_description"] is None
        assert state["slots"]["complaint_category"]  # what was answered before stays
    finally:
        guarded.start_actions()
    resumed = chat(client, "message", {"conversation_id": cid, "text": description})
    assert resumed.status_code == 200
    assert "发生在哪里" in resumed.get_json()["messages"][-1]["text"]


def test_no_response_with_an_empty_slot_even_when_asked_for_directly(guarded: GuardedStack) -> None:
    """Rasa's own API runs the read-back in a conversation that has no complaint:
    the NLG refuses it instead of reading out "类别：None"."""
    sender = f"api-{uuid.uuid4().hex}"
    greeted = requests.post(f"{guarded.rasa_url}/webhooks/webchat/webhook", timeout=60,
                            headers={SECRET_HEADER: GATEWAY_SECRET},
                            json={"sender": sender, "kind": "text", "text": "你好"})
    assert "96319" in greeted.text
    response = requests.post(f"{guarded.rasa_url}/conversations/{sender}/execute",
                             params={"token": RASA_TOKEN}, timeout=60,
                             json={"name": "utter_ask_complaint_confirmation"})
    assert response.status_code == 200, response.text
    said = json.dumps(response.json()["messages"], ensure_ascii=False)
    assert "None" not in said and "复述" not in said
