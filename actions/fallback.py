"""What the assistant does when it did not understand: never guess.

First miss: explain what it can do and ask to rephrase. Second miss in a row:
offer a person. Unusable input (empty, over-long, not Chinese, only symbols)
gets its own clear answer.
"""
from __future__ import annotations

from typing import Text

from rasa_sdk import Action
from rasa_sdk.events import UserUtteranceReverted

from bot.nlu.normalize import classify_unusable

MAX_MESSAGE_LENGTH = 2000
UNUSABLE_RESPONSES = {
    "empty": "utter_input_empty",
    "too_long": "utter_input_too_long",
    "no_chinese": "utter_input_not_chinese",
    "symbols_only": "utter_input_symbols_only",
}
FALLBACK_ACTIONS = {"action_handle_fallback", "action_default_fallback"}


def consecutive_misses(tracker) -> int:
    """How many user turns in a row ended in a fallback, the current one included."""
    turns: list[bool] = []  # per user turn: was it answered by a fallback?
    for event in tracker.events:
        if event.get("event") == "user":
            turns.append(False)
        elif event.get("event") == "action" and event.get("name") in FALLBACK_ACTIONS and turns:
            turns[-1] = True
    misses = 1  # the turn being handled now
    for missed in reversed(turns[:-1]):
        if not missed:
            break
        misses += 1
    return misses


class ActionHandleFallback(Action):
    def name(self) -> Text:
        return "action_handle_fallback"

    def run(self, dispatcher, tracker, domain):
        text = (tracker.latest_message or {}).get("text")
        unusable = classify_unusable(text, MAX_MESSAGE_LENGTH)
        if unusable:
            dispatcher.utter_message(response=UNUSABLE_RESPONSES[unusable])
        if consecutive_misses(tracker) >= 2:
            dispatcher.utter_message(response="utter_offer_human")
        elif not unusable:
            dispatcher.utter_message(response="utter_rephrase")
        # The misunderstood turn must not steer later predictions.
        return [UserUtteranceReverted()]


class ActionDefaultFallback(ActionHandleFallback):
    """Core fallback (no confident next action) behaves like the NLU fallback."""

    def name(self) -> Text:
        return "action_default_fallback"
