"""Fixtures for action tests: a seeded records DB (SQLite and PostgreSQL) and trackers."""
from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.records.db import session_scope
from bot.records.seed import DEMO_IDENTITIES
from bot.records.verification import verify_identity

DEMO = {identity.key: identity for identity in DEMO_IDENTITIES}


@pytest.fixture
def records(seeded_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The seeded records DB (both backends), used by the actions through DATABASE_URL."""
    monkeypatch.setenv("DATABASE_URL", seeded_db_url)
    yield seeded_db_url


def login(db_url: str, key: str, conversation_id: str, channel: str = "rest") -> str:
    """Do the secure step as the gateway would (on ``channel``) and return the session reference."""
    identity = DEMO[key]
    with session_scope(db_url) as session:
        result = verify_identity(
            session, identity.id_number, identity.password,
            channel=channel, conversation_id=conversation_id,
        )
    assert result.ok, result
    return result.token


def user_event(text: str, intent: str, entities: list | None = None, channel: str = "rest") -> dict:
    return {
        "event": "user",
        "timestamp": time.time(),
        "text": text,
        "parse_data": {"intent": {"name": intent, "confidence": 1.0}, "entities": entities or [], "text": text},
        "input_channel": channel,
    }


def make_tracker(
    sender_id: str = "conv-1",
    *,
    slots: dict[str, Any] | None = None,
    text: str = "",
    intent: str = "",
    events: list[dict] | None = None,
    active_loop: str | None = None,
    channel: str = "rest",
) -> Tracker:
    latest = user_event(text, intent, channel=channel)
    history = list(events or []) + [latest]
    return Tracker(
        sender_id,
        slots or {},
        latest["parse_data"],
        history,
        False,
        None,
        {"name": active_loop} if active_loop else {},
        "action_listen",
    )


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    return [message.get("response") for message in dispatcher.messages]


DOMAIN: dict = {"responses": {}}


# The real domain's forms and slots: what rasa_sdk's form validation reads.
FORMS_DOMAIN: dict = {
    "responses": {},
    **{key: value for key, value in yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "domain" / "core.yml").read_text(encoding="utf-8")
    ).items() if key in ("forms", "slots")},
}


def slot_event(name: str, value: Any) -> dict:
    return {"event": "slot", "timestamp": time.time(), "name": name, "value": value}


def answer_tracker(
    form: str,
    asked: str,
    text: str,
    intent: str,
    *,
    slots: dict[str, Any] | None = None,
    earlier_answers: int = 0,
    sender_id: str = "conv-1",
) -> Tracker:
    """The tracker a form's validation action gets for one answer, built as Rasa
    builds it: the question (``requested_slot``), any earlier answers to it, the
    caller's answer, the form's run and the slot candidate from ``from_text``."""
    events = [slot_event("requested_slot", asked)]
    for _ in range(earlier_answers):
        events += [user_event("……", "nlu_fallback"), {"event": "action", "name": form},
                   slot_event(asked, None), slot_event("requested_slot", asked)]
    latest = user_event(text, intent)
    events += [latest, slot_event("requested_slot", asked), {"event": "action", "name": form},
               slot_event(asked, text)]
    return Tracker(
        sender_id,
        {**(slots or {}), "requested_slot": asked, asked: text},
        latest["parse_data"],
        events,
        False,
        None,
        {"name": form},
        form,
    )


def run_validation(action, tracker: Tracker) -> tuple[list[dict], list[str]]:
    """Run a form validation action as the action server does: (events, responses)."""
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, FORMS_DOMAIN))
    return events, responses(dispatcher)
