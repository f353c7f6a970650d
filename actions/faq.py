"""Policy questions (the ``faq`` retrieval intent): the answer in force, for the channel.

The NLU picks the topic (``response_selector.faq``); the words come from the
policy knowledge base in the records (:mod:`bot.records.knowledge`): the
approved version in force today, Beijing time. One action renders it for
the channel it is said on:

- web chat: the full text, the materials as a numbered list, and the
  version's links (``custom.links``, checked by the gateway);
- phone: the spoken text (≤ 120 characters) and ``custom.policy_answer``
  (topic, version, materials) from which the voice gateway offers the full
  text by SMS and reads the materials in chunks;
- anything else (the terminal client, REST): the full text with materials and links.

Every answer given is counted (:func:`bot.records.knowledge.record_ask`) for
the desk's per-topic figures. When the two best labels are close it asks
which one is meant instead (:mod:`actions.clarify`), at most once in a row of
misses. A topic with no version in force, or a records failure, gets an
apology and the offer of a person, never a made-up answer.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Text

from rasa_sdk.events import UserUtteranceReverted

from actions.clarify import ask, offered_pair
from actions.common import RecordsAction, channel_of
from actions.fallback import earlier_misses, may_clarify
from bot.knowledge.content import web_text
from bot.records import knowledge
from bot.records.knowledge import Answer

logger = logging.getLogger(__name__)

RETRIEVAL_INTENT = "faq"
POLICY_ANSWER = "policy_answer"  # the custom payload the voice gateway reads


def selected_topic(latest: Dict[str, Any]) -> str | None:
    """The FAQ topic the NLU selected for the latest message, if any."""
    selected = ((latest.get("response_selector") or {}).get(RETRIEVAL_INTENT) or {}).get(
        "response") or {}
    intent, _, topic = str(selected.get("intent_response_key") or "").partition("/")
    return topic if intent == RETRIEVAL_INTENT and topic else None


def rendered(answer: Answer, channel: str) -> Dict[str, Any]:
    """The message for ``channel``: ``text`` and ``json_message`` of ``utter_message``."""
    reference = {"topic": answer.topic, "version": answer.version_id}
    if channel == "voice":
        return {"text": answer.spoken_text,
                "json_message": {POLICY_ANSWER: {**reference, "materials": list(answer.materials)}}}
    text = web_text(answer.full_text, answer.materials)
    if channel == "webchat":
        return {"text": text,
                "json_message": {POLICY_ANSWER: reference, "links": list(answer.links)}}
    if answer.links:
        text += "\n\n" + "\n".join(f"{link['title']}：{link['url']}" for link in answer.links)
    return {"text": text}


class ActionAnswerFaq(RecordsAction):
    failure_response = "utter_faq_unavailable"

    def name(self) -> Text:
        return "action_answer_faq"

    def run(self, dispatcher, tracker, domain):
        pair = offered_pair(tracker)
        if pair and may_clarify(earlier_misses(tracker)):
            ask(dispatcher, pair)
            # Like a miss, the unclear turn must not steer later predictions.
            return [UserUtteranceReverted()]
        if selected_topic(tracker.latest_message or {}) is None:
            logger.warning("faq turn without a selected topic; asking to rephrase")
            dispatcher.utter_message(response="utter_rephrase")
            return [UserUtteranceReverted()]
        return super().run(dispatcher, tracker, domain)

    def run_with_session(self, dispatcher, tracker, domain, session) -> List[Dict[str, Any]]:
        topic = selected_topic(tracker.latest_message or {}) or ""
        answer = knowledge.answer_in_force(session, topic)
        if answer is None:
            logger.warning("no answer in force for topic %s", topic)
            dispatcher.utter_message(response="utter_faq_unavailable")
            return []
        channel = channel_of(tracker)
        knowledge.record_ask(session, topic=topic, version_id=answer.version_id,
                             channel=channel, sender_id=tracker.sender_id)
        dispatcher.utter_message(**rendered(answer, channel))
        return []
