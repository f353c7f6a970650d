"""The satisfaction rating at the end of a conversation (服务质量评价)."""
from __future__ import annotations

from typing import Text

from rasa_sdk import Action, FormValidationAction
from rasa_sdk.events import SlotSet

from actions.common import RecordsAction, channel_of
from bot.flows import match_rating, rating_scale
from bot.nlu.normalize import normalize_text
from bot.records import ratings

SKIP = "skip"


def rating_buttons():
    return [
        {"title": f"{level.key} {level.label}", "payload": level.key}
        for level in rating_scale().levels
    ]


class ActionAskRating(Action):
    def name(self) -> Text:
        return "action_ask_rating"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(response="utter_ask_rating", buttons=rating_buttons())
        return []


class ValidateRatingForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_rating_form"

    def validate_rating(self, value, dispatcher, tracker, domain):
        said = str(value or "")
        if said == SKIP:
            return {"rating": SKIP}
        score = match_rating(normalize_text(said))
        if score is None:
            # Asked once already and still no rating: do not hold the caller.
            if tracker.get_slot("rating_retry"):
                return {"rating": SKIP}
            dispatcher.utter_message(response="utter_rating_invalid")
            return {"rating": None, "rating_retry": True}
        return {"rating": str(score)}


class ActionSaveRating(RecordsAction):
    """Stores the score (if one was given), thanks the caller and says goodbye."""

    def name(self) -> Text:
        return "action_save_rating"

    def run_with_session(self, dispatcher, tracker, domain, session):
        rating = tracker.get_slot("rating")
        if rating and rating != SKIP:
            ratings.record_rating(
                session,
                conversation_id=tracker.sender_id,
                channel=channel_of(tracker),
                score=int(rating),
            )
            dispatcher.utter_message(response="utter_rating_thanks")
        dispatcher.utter_message(response="utter_goodbye")
        return [SlotSet("rating_done", True), SlotSet("rating", None), SlotSet("rating_retry", None)]

    def on_failure(self, dispatcher, tracker):
        # Losing a rating must not spoil the goodbye.
        dispatcher.utter_message(response="utter_goodbye")
        return [SlotSet("rating_done", True)]
