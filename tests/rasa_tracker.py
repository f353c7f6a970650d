"""A real Rasa tracker store for tests, written by Rasa's own ``SQLTrackerStore``.

:func:`write_conversations` (test side, application environment) runs this
file as a script in the Rasa environment, which builds each conversation's
events with Rasa's event classes and saves them with ``SQLTrackerStore``, so
the ``events`` table, its columns and its JSON are exactly what Rasa 3.6
writes in production (SQLite file or PostgreSQL database).

A conversation is ``{"sender", "channel", "start" (epoch seconds), "steps"}``;
each step one of:

- ``{"user": text, "intent": name, "confidence": c, "label": "faq/key"}``:
  a person's message with the classifier's parse (``label`` for a topic);
  ``{"user": "/authenticated"}`` is the gateway's intent message;
- ``{"action": name}``, ``{"bot": text, "custom": {...}}``,
  ``{"form": name or None}`` (an ``active_loop`` event), ``{"revert": True}``.

Events are two seconds apart; every conversation starts as Rasa starts a
session (``action_session_start``, ``session_started``, ``action_listen``).
A conversation with ``"continues": sender`` is a verified web chat moved to a
new id: it starts with a copy of that (earlier) conversation's events, the
person's messages marked by :func:`bot.contract.carry_over` as the gateway
marks them, read back with Rasa's own event classes as Rasa's
``PUT /conversations/<id>/tracker/events`` reads the gateway's copy.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RASA_PYTHON = ROOT / ".venv" / "rasa" / "bin" / "python"


def write_conversations(url: str, conversations: list[dict[str, Any]]) -> None:
    """Save ``conversations`` into the tracker store at ``url`` (SQLAlchemy URL)."""
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false",
           "TF_CPP_MIN_LOG_LEVEL": "3", "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}
    result = subprocess.run(
        [str(RASA_PYTHON), __file__, url], input=json.dumps(conversations), env=env,
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def sample_conversations(start: float) -> list[dict[str, Any]]:
    """Five conversations from ``start`` on: three misses and two without one.

    A fallback then a person (a phone number said aloud), an answer corrected,
    a clarifying question (an ID number typed); a form answer with "不是" and a
    gateway message (no miss), and an emoji (a fallback, but nothing to keep).
    """
    return [
        {  # not understood, then a person: the miss is a hand-over; the phone is masked
            "sender": "web-1", "channel": "webchat", "start": start,
            "steps": [
                {"user": "我的电话是幺三八幺二三四五六七八 那个钱咋个整",
                 "intent": "nlu_fallback", "guess": "query_balance"},
                {"action": "action_handle_fallback"}, {"bot": "没听懂，换个说法？"},
                {"revert": True}, {"action": "action_listen"},
                {"user": "转人工", "intent": "human_agent"},
                {"action": "action_handover"}, {"bot": "正在转接"},
            ],
        },
        {  # answered, then corrected: a rephrase
            "sender": "CA0123456789abcdef0123456789abcdef", "channel": "voice",
            "start": start + 60,
            "steps": [
                {"user": "贷款利息", "intent": "faq", "confidence": 0.71, "label": "faq/loan_rate"},
                {"action": "utter_faq"}, {"bot": "利率是…"}, {"action": "action_listen"},
                {"user": "不是 我问的是能贷好多", "intent": "faq", "label": "faq/loan_limit"},
                {"action": "utter_faq"}, {"bot": "额度是…"},
            ],
        },
        {  # a clarifying question; a typed ID number is masked
            "sender": "rest-1", "channel": "rest", "start": start + 120,
            "steps": [
                {"user": "身份证510104198503150017 提取和贷款", "intent": "faq",
                 "label": "faq/withdraw_conditions"},
                {"action": "action_clarify"},
                {"bot": "您想问哪一项？", "custom": {"clarify": ["faq/withdraw_conditions",
                                                           "faq/loan_conditions"]}},
            ],
        },
        {  # inside a form a "不是…" answers the form: no miss; a gateway message is no turn
            "sender": "web-2", "channel": "webchat", "start": start + 180,
            "steps": [
                {"user": "我要投诉", "intent": "complain"}, {"action": "complaint_form"},
                {"form": "complaint_form"}, {"bot": "在哪里发生的？"},
                {"user": "后子门大厅", "intent": "faq", "label": "faq/service_hall"},
                {"action": "complaint_form"}, {"bot": "联系电话？"},
                {"user": "不是在大厅 是网上办的", "intent": "inform"},
                {"user": "/authenticated"}, {"action": "action_answer_balance"},
            ],
        },
        {  # unusable input falls back by design: nothing to learn, not kept
            "sender": "web-3", "channel": "webchat", "start": start + 240,
            "steps": [{"user": "👍👍", "intent": "nlu_fallback"},
                      {"action": "action_handle_fallback"}, {"bot": "请用中文"}],
        },
    ]


def _parse_data(step: dict[str, Any]) -> dict[str, Any]:
    intent = {"name": step.get("intent"), "confidence": step.get("confidence", 0.9)}
    parse: dict[str, Any] = {"intent": intent, "entities": [], "text": step["user"],
                             "intent_ranking": [intent]}
    label = step.get("label")
    if label:
        parse["label_ranking"] = [{"label": label, "confidence": intent["confidence"]}]
        retrieval = label.split("/", 1)[0]
        parse["response_selector"] = {retrieval: {"response": {
            "intent_response_key": label, "confidence": 1.0, "utter_action": f"utter_{label}"}}}
    if intent["name"] == "nlu_fallback" and step.get("guess"):
        guess = {"name": step["guess"], "confidence": 0.22}
        parse["intent"] = {"name": "nlu_fallback", "confidence": 0.3}
        parse["intent_ranking"] = [parse["intent"], guess]
    return parse


def _events(conversation: dict[str, Any]) -> list[Any]:
    from rasa.shared.core import events as ev

    clock = [float(conversation["start"])]

    def at() -> float:
        clock[0] += 2.0
        return clock[0]

    built: list[Any] = [
        ev.ActionExecuted("action_session_start", timestamp=at()),
        ev.SessionStarted(timestamp=at()),
        ev.ActionExecuted("action_listen", timestamp=at()),
    ]
    for number, step in enumerate(conversation["steps"]):
        if "user" in step:
            text = step["user"]
            if text.startswith("/"):
                name = text[1:]
                built.append(ev.UserUttered(text, {"name": name, "confidence": 1.0},
                                            parse_data={"intent": {"name": name,
                                                                   "confidence": 1.0}},
                                            input_channel=conversation["channel"],
                                            message_id=f"{conversation['sender']}-{number}",
                                            timestamp=at()))
                continue
            parse = _parse_data(step)
            built.append(ev.UserUttered(text, parse["intent"], [], parse,
                                        input_channel=conversation["channel"],
                                        message_id=f"{conversation['sender']}-{number}",
                                        timestamp=at()))
        elif "action" in step:
            built.append(ev.ActionExecuted(step["action"], timestamp=at()))
        elif "bot" in step:
            data = {"custom": step["custom"]} if "custom" in step else {}
            built.append(ev.BotUttered(step["bot"], data, timestamp=at()))
        elif "form" in step:
            built.append(ev.ActiveLoop(step["form"], timestamp=at()))
        elif step.get("revert"):
            built.append(ev.UserUtteranceReverted(timestamp=at()))
    return built


def _main(url: str) -> None:
    import asyncio

    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.trackers import DialogueStateTracker

    if url.startswith("postgresql+psycopg://"):
        url = "postgresql://" + url[len("postgresql+psycopg://"):]
    from rasa.shared.core.events import Event

    from bot.contract import carry_over

    store = SQLTrackerStore(host=url)
    built: dict[str, list[Any]] = {}
    for conversation in json.loads(sys.stdin.read()):
        copied = [Event.from_parameters(carry_over(event.as_dict()))
                  for event in built.get(conversation.get("continues", ""), [])]
        built[conversation["sender"]] = copied + _events(conversation)
        tracker = DialogueStateTracker.from_events(conversation["sender"],
                                                   built[conversation["sender"]])
        asyncio.run(store.save(tracker))
    store.engine.dispose()


if __name__ == "__main__":
    sys.path[0] = str(ROOT)  # not tests/, whose bot/ package would hide the project's
    _main(sys.argv[1])
