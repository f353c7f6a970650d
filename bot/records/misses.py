"""What counts as a miss, found in the Rasa tracker store's conversations.

A *miss* is one turn a person typed or said (not the gateway's own ``/intent``
messages) that the assistant did not understand or was corrected on; the
tracker store (:mod:`bot.tracker_store`) is read conversation by conversation:

- ``fallback``: the turn was answered by ``action_handle_fallback`` or
  ``action_default_fallback`` (rephrase, then a person);
- ``handover``: such a fallback turn after which the person asked for a person
  (the next turn is ``human_agent``, or ``action_handover`` ran on it);
- ``clarify``: a reply to the turn carried a clarifying question (a bot event
  whose custom payload has a ``clarify`` list);
- ``rephrase``: the turn was a question the assistant answered (an intent
  other than greet, goodbye, thank, affirm, deny, inform, human_agent, outside
  any form) and the person's very next message corrects it: it starts with
  不是 or 不对, or holds 我问的是, 我是问, 我说的是, 我的意思是, 答非所问…,
  and says more than the marker. The turn kept is the one corrected; the
  correction is its context.

Each miss keeps the next thing the person said as ``context`` (a rephrase, or
the request for a person), so staff see what was meant. Texts are stored as
the pipeline reads them (:func:`bot.nlu.normalize.normalize_text`: spoken and
grouped numbers become digits) and then masked
(:func:`bot.records.identifiers.mask_text`); input that is unusable anyway
(empty, over-long, no Chinese, symbols only) is not kept.

The conversation is kept as the SHA-256 of Rasa's sender id
(:func:`conversation_key`), not the id itself: the inbox is about wording,
never about who said it; a channel may use a phone number as sender id
(Rasa's own Twilio channel does); the key has one width whatever the channel;
and a known conversation can still be found (hash its id). It is not keyed
with ``SECRET_KEY``, so a rotated key does not make the harvest take every
turn again.

Reading only: the tracker store through :mod:`bot.tracker_store`, and pure
functions of one conversation's events; nothing here writes.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bot.nlu.normalize import classify_unusable, normalize_text
from bot.records.identifiers import mask_text
from bot.records.learning_models import MissKind
from bot.tracker_store import channel_of, event_data, events, read_only_engine, typed_by_person

FALLBACK_ACTIONS = frozenset({"action_handle_fallback", "action_default_fallback"})
HANDOVER_ACTION = "action_handover"
HUMAN_INTENT = "human_agent"
# Intents that answer or close rather than ask: a "不是…" after them is no correction.
NOT_QUESTIONS = frozenset({
    "greet", "goodbye", "thank", "affirm", "deny", "inform", HUMAN_INTENT, "nlu_fallback",
})
CORRECTION_STARTS = ("不是", "不对")
CORRECTION_ANYWHERE = ("我问的是", "我是问", "我说的是", "我的意思是", "我是说", "答非所问",
                       "你没听懂", "没听懂我")
_PUNCTUATION = re.compile(r"[\s，。！？、,.!?~～…：:；;]+")
MAX_TEXT = 500  # longer input is no training example (and never fits the column)
MAX_INPUT = 2000  # the pipeline's own limit (config.yml, InputGuard)


@dataclass
class Turn:
    """One message a person sent, with what the assistant did about it."""

    text: str
    intent: str | None
    parse: dict[str, Any]
    channel: str
    at: float
    event_key: str
    in_form: bool
    fallback: bool = False
    clarify: bool = False
    handover: bool = False


@dataclass(frozen=True)
class Miss:
    """A missed turn, before it is stored."""

    kind: MissKind
    turn: Turn
    context: str | None


def conversation_key(sender_id: str) -> str:
    """The SHA-256 (hex) of Rasa's sender id: how a conversation is kept here."""
    return hashlib.sha256(sender_id.encode("utf-8")).hexdigest()


def _turns(rows: Iterable[tuple[str, str | None, str | None, float, dict[str, Any]]]) -> list[Turn]:
    """The person's turns of one conversation from its events, in order."""
    turns: list[Turn] = []
    current: Turn | None = None
    in_form = False
    for kind, intent, action, stamp, data in rows:
        if kind == "active_loop":
            in_form = bool(data.get("name"))
        elif kind == "user":
            if not typed_by_person(data):
                current = None  # the gateway's message: what follows answers it
                continue
            key = str(data.get("message_id") or f"ts:{float(stamp)!r}")[:64]
            current = Turn(text=str(data.get("text") or ""), intent=intent,
                           parse=data.get("parse_data") or {}, channel=channel_of(data),
                           at=float(stamp), event_key=key, in_form=in_form)
            turns.append(current)
        elif current is not None and kind == "action":
            if action in FALLBACK_ACTIONS:
                current.fallback = True
            elif action == HANDOVER_ACTION:
                current.handover = True
        elif current is not None and kind == "bot":
            custom = (data.get("data") or {}).get("custom")
            if isinstance(custom, dict) and isinstance(custom.get("clarify"), list):
                current.clarify = True
    return turns


def is_correction(text: str) -> bool:
    """Whether a message corrects the answer before it (see the module docstring)."""
    plain = _PUNCTUATION.sub("", normalize_text(text or ""))
    for marker in CORRECTION_STARTS:
        if plain.startswith(marker):
            return len(plain) - len(marker) >= 2
    for marker in CORRECTION_ANYWHERE:
        if marker in plain:
            return len(plain) - len(marker) >= 2
    return False


def find_misses(
    rows: Iterable[tuple[str, str | None, str | None, float, dict[str, Any]]],
) -> list[Miss]:
    """The misses of one conversation, from its events ``(type, intent, action, time, data)``."""
    turns = _turns(rows)
    misses = []
    for index, turn in enumerate(turns):
        following = turns[index + 1] if index + 1 < len(turns) else None
        kind: MissKind | None = None
        if turn.fallback:
            wants_person = following is not None and (
                following.intent == HUMAN_INTENT or following.handover)
            kind = MissKind.handover if wants_person or turn.handover else MissKind.fallback
        elif turn.clarify:
            kind = MissKind.clarify
        elif (following is not None and not turn.in_form and turn.intent
              and turn.intent not in NOT_QUESTIONS and is_correction(following.text)):
            kind = MissKind.rephrase
        if kind is not None:
            misses.append(Miss(kind, turn, following.text if following else None))
    return misses


def predicted(parse: dict[str, Any]) -> tuple[str | None, float | None]:
    """The classifier's best label (``faq/<key>`` for a topic) and its confidence.

    Under ``nlu_fallback`` this is the guess the fallback refused to act on.
    """
    ranking = parse.get("label_ranking") or []
    if ranking and isinstance(ranking[0], dict) and ranking[0].get("label"):
        return str(ranking[0]["label"])[:80], _confidence(ranking[0])
    ranked = [item for item in parse.get("intent_ranking") or []
              if isinstance(item, dict) and item.get("name") != "nlu_fallback"]
    best = ranked[0] if ranked else parse.get("intent") or {}
    name = best.get("name")
    if not name:
        return None, None
    selected = ((parse.get("response_selector") or {}).get(name) or {}).get("response") or {}
    return str(selected.get("intent_response_key") or name)[:80], _confidence(best)


def _confidence(item: dict[str, Any]) -> float | None:
    try:
        return round(float(item.get("confidence")), 4)
    except (TypeError, ValueError):
        return None


def clean_text(text: str | None) -> str | None:
    """The text as stored: normalised, masked, on one line; None when not worth keeping."""
    if text is None or classify_unusable(text, MAX_INPUT) is not None:
        return None
    cleaned = " ".join(mask_text(normalize_text(text)).split())
    return cleaned if 0 < len(cleaned) <= MAX_TEXT else None


# ------------------------------------------------------- reading the store


def _conversations(url: str, since: datetime) -> Iterator[tuple[str, list[Any]]]:
    """Each conversation with events since ``since``: its sender id and its events in order."""
    engine = read_only_engine(url)
    if engine is None:
        raise FileNotFoundError(url)
    query = (
        select(events.c.sender_id, events.c.type_name, events.c.intent_name,
               events.c.action_name, events.c.timestamp, events.c.data)
        .where(events.c.timestamp >= since.timestamp(),
               events.c.type_name.in_(("user", "bot", "action", "active_loop")))
        .order_by(events.c.sender_id, events.c.id)
    )
    sender: str | None = None
    rows: list[Any] = []
    with engine.connect() as connection:
        for row in connection.execution_options(yield_per=2000).execute(query):
            if row.sender_id != sender:
                if sender is not None:
                    yield sender, rows
                sender, rows = row.sender_id, []
            rows.append((row.type_name, row.intent_name, row.action_name,
                         float(row.timestamp or 0), event_data(row.data)))
    if sender is not None:
        yield sender, rows


def read_misses(tracker_url: str, since: datetime) -> tuple[int, list[tuple[str, Miss]]]:
    """How many conversations the tracker store has since ``since``, and their misses.

    Raises ``FileNotFoundError`` when the SQLite store is absent, and
    ``SQLAlchemyError`` or ``ValueError`` when it cannot be read.
    """
    conversations, misses = 0, []
    for sender, rows in _conversations(tracker_url, since):
        conversations += 1
        key = conversation_key(sender)
        misses.extend((key, miss) for miss in find_misses(rows))
    return conversations, misses
