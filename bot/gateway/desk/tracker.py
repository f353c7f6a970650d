"""Conversation figures from the Rasa tracker store, read-only.

Rasa's SQL tracker store keeps one row per event in ``events`` (``sender_id``,
``type_name``, ``intent_name``, ``action_name``, ``timestamp`` as epoch
seconds, ``data`` as JSON text; ``input_channel`` is in a user event's data).
The desk reads it through ``TRACKER_DB_URL`` and never writes: SQLite is
opened with ``mode=ro`` (a missing file stays missing), PostgreSQL sessions
are ``default_transaction_read_only`` with a statement timeout; production
should also use a database role that may only ``SELECT``.

Counted per Beijing date: a conversation is a ``sender_id`` with at least one
message a person typed or said (messages starting with ``/`` are the gateway's
own intent messages, e.g. the secure step's outcome, and are left out). A
conversation is resolved without a person when no ``action_handover`` ran in
it. The fallback rate is ``nlu_fallback`` turns over all such user turns.
"""
from __future__ import annotations

import json
import logging
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Literal

from sqlalchemy import column, create_engine, select, table
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.records.clock import SHANGHAI, local_day_bounds
from bot.records.db import normalize_url
from bot.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

HANDOVER_ACTION = "action_handover"
FALLBACK_INTENT = "nlu_fallback"
KNOWN_CHANNELS = ("voice", "webchat", "rest")
TOP_INTENTS = 10
STATEMENT_TIMEOUT_MS = 5000

Unavailable = Literal["absent", "unreadable"]

_events = table(
    "events",
    column("sender_id"),
    column("type_name"),
    column("intent_name"),
    column("action_name"),
    column("timestamp"),
    column("data"),
)

_lock = threading.Lock()
_engines: dict[str, Engine] = {}


@dataclass
class TrackerFigures:
    """Figures for a date range, or why there are none (``unavailable``)."""

    unavailable: Unavailable | None = None
    conversations_by_day: dict[date, dict[str, int]] = field(default_factory=dict)
    conversations: int = 0
    resolved_without_person: int = 0
    user_turns: int = 0
    fallback_turns: int = 0
    top_intents: list[tuple[str, int]] = field(default_factory=list)

    @property
    def resolved_share(self) -> float | None:
        return self.resolved_without_person / self.conversations if self.conversations else None

    @property
    def fallback_rate(self) -> float | None:
        return self.fallback_turns / self.user_turns if self.user_turns else None


def _sqlite_path(url: str) -> Path | None:
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    path = Path(database)
    return path if path.is_absolute() else PROJECT_ROOT / path


def _engine(url: str) -> Engine | None:
    """A read-only engine for the tracker store, or None when the SQLite file is absent."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_path(url)
        if path is None or not path.is_file():
            return None
        key = f"sqlite:{path}"
    else:
        key = parsed.render_as_string(hide_password=False)
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            if parsed.get_backend_name() == "sqlite":
                engine = create_engine(
                    f"sqlite:///file:{path}?mode=ro&uri=true",
                    connect_args={"timeout": 2},
                )
            else:
                engine = create_engine(
                    parsed,
                    pool_pre_ping=True,
                    connect_args={
                        "connect_timeout": 3,
                        "options": "-c default_transaction_read_only=on "
                        f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
                    },
                )
            _engines[key] = engine
    return engine


def dispose_engines() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def _channel(data: str | None) -> str:
    try:
        channel = json.loads(data or "{}").get("input_channel")
    except (ValueError, AttributeError):
        return "other"
    return channel if channel in KNOWN_CHANNELS else "other"


def _typed_by_person(data: str | None) -> bool:
    try:
        text = json.loads(data or "{}").get("text") or ""
    except (ValueError, AttributeError):
        return True
    return not str(text).startswith("/")


def tracker_figures(url: str, start: date, end: date) -> TrackerFigures:
    """Figures from ``start`` to ``end`` (Beijing dates, inclusive); never raises."""
    try:
        engine = _engine(url)
    except (SQLAlchemyError, ValueError) as exc:
        logger.warning("tracker store URL unusable: %s", type(exc).__name__)
        return TrackerFigures(unavailable="unreadable")
    if engine is None:
        return TrackerFigures(unavailable="absent")
    begin, finish = local_day_bounds(start, end)
    query = (
        select(
            _events.c.sender_id,
            _events.c.type_name,
            _events.c.intent_name,
            _events.c.action_name,
            _events.c.timestamp,
            _events.c.data,
        )
        .where(
            _events.c.timestamp >= begin.timestamp(),
            _events.c.timestamp < finish.timestamp(),
            (_events.c.type_name == "user")
            | ((_events.c.type_name == "action") & (_events.c.action_name == HANDOVER_ACTION)),
        )
        .order_by(_events.c.timestamp)
    )
    figures = TrackerFigures()
    first_seen: dict[str, tuple[date, str]] = {}
    handed_over: set[str] = set()
    intents: Counter[str] = Counter()
    try:
        with engine.connect() as connection:
            rows = connection.execution_options(yield_per=2000).execute(query)
            for sender, kind, intent, action, stamp, data in rows:
                if kind == "action":
                    handed_over.add(sender)
                    continue
                if not _typed_by_person(data):
                    continue
                figures.user_turns += 1
                if intent == FALLBACK_INTENT:
                    figures.fallback_turns += 1
                elif intent:
                    intents[intent] += 1
                if sender not in first_seen:
                    moment = datetime.fromtimestamp(float(stamp), tz=timezone.utc)
                    first_seen[sender] = (moment.astimezone(SHANGHAI).date(), _channel(data))
    except SQLAlchemyError as exc:
        logger.warning("tracker store unreadable: %s", type(exc).__name__)
        return TrackerFigures(unavailable="unreadable")
    by_day: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for day, channel in first_seen.values():
        by_day[day][channel] += 1
    figures.conversations_by_day = {day: dict(counts) for day, counts in by_day.items()}
    figures.conversations = len(first_seen)
    figures.resolved_without_person = len(set(first_seen) - handed_over)
    figures.top_intents = intents.most_common(TOP_INTENTS)
    return figures
