"""What the assistant does when it did not understand: never guess.

A miss is a turn the assistant could not answer. In a row of misses:

- when the two best guesses are close (:mod:`actions.clarify`), it asks which
  one is meant, once per row and only on the first or second miss;
- otherwise the first miss explains what it can do and asks to rephrase, and
  the second miss and every later one offer a person. A clarifying question
  counts as a miss, so "none of these" (or another miss) after it offers a
  person.

Unusable input (empty, over-long, not Chinese, only symbols) gets its own clear
answer. Every miss is undone for the dialogue (``UserUtteranceReverted``): the
misunderstood turn must not steer later predictions.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import UserUtteranceReverted

from actions.clarify import ask, is_clarification, offered_pair
from bot.nlu.normalize import classify_unusable

MAX_MESSAGE_LENGTH = 2000
UNUSABLE_RESPONSES = {
    "empty": "utter_input_empty",
    "too_long": "utter_input_too_long",
    "no_chinese": "utter_input_not_chinese",
    "symbols_only": "utter_input_symbols_only",
}
FALLBACK_ACTIONS = {"action_handle_fallback", "action_default_fallback"}

MISSED = "missed"  # answered by a fallback action
CLARIFIED = "clarified"  # answered with a clarifying question


def earlier_misses(tracker: Tracker) -> list[str]:
    """The earlier turns of the current row of misses, oldest first.

    Each is :data:`CLARIFIED` (a clarifying question was asked, by whichever
    action) or :data:`MISSED` (a fallback action answered). The turn being
    handled now is not included; an understood turn ends a row.
    """
    turns: list[Optional[str]] = []  # per user turn
    for event in tracker.events:
        kind = event.get("event")
        if kind == "user":
            turns.append(None)
        elif not turns:
            continue
        elif is_clarification(event):
            turns[-1] = CLARIFIED
        elif kind == "action" and event.get("name") in FALLBACK_ACTIONS and turns[-1] is None:
            turns[-1] = MISSED
    row: list[str] = []
    for turn in reversed(turns[:-1]):
        if turn is None:
            break
        row.append(turn)
    return row[::-1]


def consecutive_misses(tracker: Tracker) -> int:
    """How many user turns in a row were misses, the current one included."""
    return len(earlier_misses(tracker)) + 1


def may_clarify(row: list[str]) -> bool:
    """A clarifying question is asked once per row of misses, on its first or second miss."""
    return CLARIFIED not in row and len(row) < 2


def _is_intent_message(latest: Mapping[str, Any]) -> bool:
    """A button's ``/intent`` payload (only the gateway sends these), not a person's text."""
    text = (latest.get("text") or "").strip()
    intent = (latest.get("intent") or {}).get("name") or ""
    return bool(intent) and (text == f"/{intent}" or text.startswith(f"/{intent}{{"))


class ActionHandleFallback(Action):
    def name(self) -> Text:
        return "action_handle_fallback"

    def run(self, dispatcher, tracker, domain):
        latest = tracker.latest_message or {}
        unusable = None
        if not _is_intent_message(latest):  # "none of these" is a miss, not bad input
            unusable = classify_unusable(latest.get("text"), MAX_MESSAGE_LENGTH)
        if unusable:
            dispatcher.utter_message(response=UNUSABLE_RESPONSES[unusable])
        row = earlier_misses(tracker)
        pair = None if unusable else offered_pair(tracker)
        if pair and may_clarify(row):
            ask(dispatcher, pair)
        elif row:
            dispatcher.utter_message(response="utter_offer_human")
        elif not unusable:
            dispatcher.utter_message(response="utter_rephrase")
        # The misunderstood turn must not steer later predictions.
        return [UserUtteranceReverted()]


class ActionDefaultFallback(ActionHandleFallback):
    """Core fallback (no confident next action) behaves like the NLU fallback."""

    def name(self) -> Text:
        return "action_default_fallback"
