"""The clarifying question the fallback and the FAQ actions ask instead of guessing.

When the NLU's two best labels are both plausible and close
(:func:`bot.clarify.close_pair`), the assistant sends ``utter_clarify``
("which of these do you mean?") with one button per label — its title from
``flows/topics.yml`` — and a last "none of these" button.

- Pressing an option sends what leads to that answer: ``/<intent>`` for an
  intent, the topic's question for an FAQ topic (:mod:`bot.clarify`).
- "None of these" sends ``/nlu_fallback``: a miss like any other, so it offers
  a person (:mod:`actions.fallback`).
- The turn that asked is undone for the dialogue (the action returns
  ``UserUtteranceReverted``): the ambiguous words never steer a later
  prediction and never stand in the tracker with a label.
- The question is marked for the to-learn inbox (待学习): the bot message's
  custom payload is ``{"clarify": ["faq/loan_rate", "faq/loan_limit"]}``, the
  two labels offered, best first. In the tracker store it is the ``bot`` event
  whose ``data.custom.clarify`` is set; the ``user`` event just before it holds
  the words that were unclear, and the person's next message (a button's
  payload, or new words) is their answer. Nothing is learned from it
  automatically: a person confirms a pair before it becomes training data.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.clarify import buttons, close_pair, load_topics

CLARIFY_RESPONSE = "utter_clarify"
CLARIFY_KEY = "clarify"


def offered_pair(tracker: Tracker) -> Optional[tuple[str, str]]:
    """The two labels to offer for the latest message, best first, or None."""
    latest = tracker.latest_message or {}
    return close_pair(latest.get("label_ranking"), load_topics().offers)


def ask(dispatcher: CollectingDispatcher, pair: tuple[str, str]) -> None:
    """Send the clarifying question for ``pair``, marked for the to-learn inbox."""
    dispatcher.utter_message(
        response=CLARIFY_RESPONSE,
        buttons=buttons(load_topics(), pair),
        json_message={CLARIFY_KEY: list(pair)},
    )


def is_clarification(event: Mapping[str, Any]) -> bool:
    """Whether a tracker event is the assistant asking a clarifying question."""
    if event.get("event") != "bot":
        return False
    custom = (event.get("data") or {}).get("custom")
    return isinstance(custom, Mapping) and CLARIFY_KEY in custom


def answered_a_clarification(tracker: Tracker) -> bool:
    """Whether the assistant's last message, before this turn, was a clarifying question."""
    events = list(tracker.events or [])
    users = [i for i, event in enumerate(events) if event.get("event") == "user"]
    if not users:
        return False
    for event in reversed(events[:users[-1]]):
        if event.get("event") == "bot":
            return is_clarification(event)
        if event.get("event") == "user":
            return False
    return False


class ActionAnswerYesNo(Action):
    """A yes or no with no question of a form pending.

    After a clarifying question, a "no" ("都不是", "都不对") means neither option
    was meant: a person is offered, as the "none of these" button does. Any
    other yes or no gets the plain "anything else?".
    """

    def name(self) -> Text:
        return "action_answer_yes_no"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        if intent == "deny" and answered_a_clarification(tracker):
            dispatcher.utter_message(response="utter_offer_human")
        else:
            dispatcher.utter_message(response="utter_ok_anything_else")
        return []
