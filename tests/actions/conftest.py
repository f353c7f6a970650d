"""Fixtures for action tests: a seeded records DB (SQLite and PostgreSQL) and trackers."""
from __future__ import annotations

import time
from typing import Any, Iterator

import pytest
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


def login(db_url: str, key: str, conversation_id: str) -> str:
    """Do the secure step as the gateway would and return the auth token."""
    identity = DEMO[key]
    with session_scope(db_url) as session:
        result = verify_identity(
            session, identity.id_number, identity.password,
            channel="rest", conversation_id=conversation_id,
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
