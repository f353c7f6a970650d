"""Policy questions (the ``faq`` retrieval intent): one complete answer, or a question.

The NLU picks the topic (``response_selector.faq``); this action says that
topic's answer, ``utter_faq/<key>`` from ``domain/faq.yml``, as Rasa's own
retrieval action ``utter_faq`` would. When the two best labels are close
(two topics, or a topic and an intent such as ``query_loan``), it asks which
one is meant instead (:mod:`actions.clarify`), at most once in a row of misses:
after a clarifying question it answers the best topic, as it did before
clarifying questions existed.
"""
from __future__ import annotations

import logging
from typing import Text

from rasa_sdk import Action
from rasa_sdk.events import UserUtteranceReverted

from actions.clarify import ask, offered_pair
from actions.fallback import earlier_misses, may_clarify

logger = logging.getLogger(__name__)

RETRIEVAL_INTENT = "faq"
RETRIEVAL_ACTION = "utter_faq"  # Rasa's retrieval action, whose answers this action says


class ActionAnswerFaq(Action):
    def name(self) -> Text:
        return "action_answer_faq"

    def run(self, dispatcher, tracker, domain):
        pair = offered_pair(tracker)
        if pair and may_clarify(earlier_misses(tracker)):
            ask(dispatcher, pair)
            # Like a miss, the unclear turn must not steer later predictions.
            return [UserUtteranceReverted()]
        latest = tracker.latest_message or {}
        selected = ((latest.get("response_selector") or {}).get(RETRIEVAL_INTENT) or {}).get(
            "response"
        ) or {}
        intent, _, topic = str(selected.get("intent_response_key") or "").partition("/")
        if intent != RETRIEVAL_INTENT or not topic:
            logger.warning("faq turn without a selected topic; asking to rephrase")
            dispatcher.utter_message(response="utter_rephrase")
            return [UserUtteranceReverted()]
        dispatcher.utter_message(response=f"{RETRIEVAL_ACTION}/{topic}")
        return []
