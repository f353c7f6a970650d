"""Conversation figures from the Rasa tracker store, read-only.

The store is opened read-only by :mod:`bot.tracker_store`, which describes
its ``events`` table. Counted per Beijing date: a conversation is a
``sender_id`` with at least one message a person typed or said (messages
starting with ``/`` are the gateway's own intent messages, e.g. the secure
step's outcome, and are left out). A conversation is resolved without a
person when no ``action_handover`` ran in it. The fallback rate is
``nlu_fallback`` turns over all such user turns.

A verified web chat goes on under a new id that starts with a copy of the old
one's events (:func:`bot.contract.carry_over`): the copied messages are not
counted again (:func:`bot.tracker_store.typed_by_person`), and the new id is
the same conversation as the old one when the old one is in the range (found
by the copied messages' ``message_id``): counted once, handed over when
either part was.
"""
from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from bot.contract import is_carried_over
from bot.records.clock import SHANGHAI, local_day_bounds
from bot.tracker_store import (
    channel_of,
    event_data,
    events,
    read_only_engine,
    typed_by_person,
)

logger = logging.getLogger(__name__)

HANDOVER_ACTION = "action_handover"
FALLBACK_INTENT = "nlu_fallback"
TOP_INTENTS = 10

Unavailable = Literal["absent", "unreadable"]


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


def tracker_figures(url: str, start: date, end: date) -> TrackerFigures:
    """Figures from ``start`` to ``end`` (Beijing dates, inclusive); never raises."""
    try:
        engine = read_only_engine(url)
    except (SQLAlchemyError, ValueError) as exc:
        logger.warning("tracker store URL unusable: %s", type(exc).__name__)
        return TrackerFigures(unavailable="unreadable")
    if engine is None:
        return TrackerFigures(unavailable="absent")
    begin, finish = local_day_bounds(start, end)
    query = (
        select(
            events.c.sender_id,
            events.c.type_name,
            events.c.intent_name,
            events.c.action_name,
            events.c.timestamp,
            events.c.data,
        )
        .where(
            events.c.timestamp >= begin.timestamp(),
            events.c.timestamp < finish.timestamp(),
            (events.c.type_name == "user")
            | ((events.c.type_name == "action") & (events.c.action_name == HANDOVER_ACTION)),
        )
        .order_by(events.c.timestamp, events.c.id)  # a copy has its original's time
    )
    figures = TrackerFigures()
    first_seen: dict[str, tuple[date, str]] = {}
    handed_over: set[str] = set()
    intents: Counter[str] = Counter()
    sender_of: dict[str, str] = {}  # message_id -> the conversation it was typed in
    continues: dict[str, str] = {}  # a verified chat's new id -> its old id
    try:
        with engine.connect() as connection:
            rows = connection.execution_options(yield_per=2000).execute(query)
            for sender, kind, intent, action, stamp, data in rows:
                if kind == "action":
                    handed_over.add(sender)
                    continue
                fields = event_data(data)
                message = str(fields.get("message_id") or "")
                if is_carried_over(fields) and message in sender_of:
                    continues[sender] = sender_of[message]
                if not typed_by_person(fields):
                    continue
                if message:
                    sender_of[message] = sender
                figures.user_turns += 1
                if intent == FALLBACK_INTENT:
                    figures.fallback_turns += 1
                elif intent:
                    intents[intent] += 1
                if sender not in first_seen:
                    moment = datetime.fromtimestamp(float(stamp), tz=timezone.utc)
                    first_seen[sender] = (moment.astimezone(SHANGHAI).date(), channel_of(fields))
    except SQLAlchemyError as exc:
        logger.warning("tracker store unreadable: %s", type(exc).__name__)
        return TrackerFigures(unavailable="unreadable")
    for new, old in continues.items():
        seen = {new}
        while old in continues and old not in seen:  # verified twice: the first id
            seen.add(old)
            old = continues[old]
        if new in handed_over:
            handed_over.add(old)
        if old in first_seen:
            first_seen.pop(new, None)
    by_day: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for day, channel in first_seen.values():
        by_day[day][channel] += 1
    figures.conversations_by_day = {day: dict(counts) for day, counts in by_day.items()}
    figures.conversations = len(first_seen)
    figures.resolved_without_person = len(set(first_seen) - handed_over)
    figures.top_intents = intents.most_common(TOP_INTENTS)
    return figures
