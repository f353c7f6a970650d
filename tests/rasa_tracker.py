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
    store = SQLTrackerStore(host=url)
    for conversation in json.loads(sys.stdin.read()):
        tracker = DialogueStateTracker.from_events(conversation["sender"], _events(conversation))
        asyncio.run(store.save(tracker))
    store.engine.dispose()


if __name__ == "__main__":
    _main(sys.argv[1])
