"""On-site service requests from employers (上门服务).

The form collects employer, contact, headcount, preferred time and phone from
free answers, whatever intent the classifier chose for them; a clear stop
leaves it (:class:`actions.common.AskAgainFormValidation`), and
``action_submit_onsite`` then records nothing and says so.
"""
from __future__ import annotations

import re
from typing import Text

from rasa_sdk.events import SlotSet

from actions.common import (
    AskAgainFormValidation,
    RecordsAction,
    channel_of,
    phone_slot,
    phone_tail,
    short_text_slot,
)
from bot.nlu.normalize import normalize_text
from bot.records import onsite

ONSITE_SLOTS = ("onsite_employer", "onsite_contact", "onsite_headcount", "onsite_time", "onsite_phone")
NAME_MAX = 50
EMPLOYER_MAX = 100
TIME_MAX = 100
HEADCOUNT_MAX = 100_000


def parse_headcount(said: str) -> int | None:
    """"200", "两百多人", "约150" → 200, 200, 150; anything else → None."""
    import cn2an

    text = normalize_text(said or "")
    digits = re.search(r"\d+", text)
    if digits is None:
        try:
            text = cn2an.transform(text, "cn2an")
        except (ValueError, KeyError):
            return None
        digits = re.search(r"\d+", text)
    if digits is None:
        return None
    value = int(digits.group(0))
    return value if 1 <= value <= HEADCOUNT_MAX else None


class ValidateOnsiteForm(AskAgainFormValidation):
    def name(self) -> Text:
        return "validate_onsite_form"

    def validate_onsite_employer(self, value, dispatcher, tracker, domain):
        return short_text_slot("onsite_employer", value, dispatcher, max_length=EMPLOYER_MAX, min_length=2)

    def validate_onsite_contact(self, value, dispatcher, tracker, domain):
        return short_text_slot("onsite_contact", value, dispatcher, max_length=NAME_MAX)

    def validate_onsite_headcount(self, value, dispatcher, tracker, domain):
        count = parse_headcount(str(value or ""))
        if count is None:
            dispatcher.utter_message(response="utter_invalid_headcount")
            return {"onsite_headcount": None}
        return {"onsite_headcount": str(count)}

    def validate_onsite_time(self, value, dispatcher, tracker, domain):
        return short_text_slot("onsite_time", value, dispatcher, max_length=TIME_MAX)

    def validate_onsite_phone(self, value, dispatcher, tracker, domain):
        return phone_slot("onsite_phone", value, dispatcher)


def request_text(tracker) -> str | None:
    """What the employer first asked for, kept as the request's note."""
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        intent = (event.get("parse_data") or {}).get("intent", {}).get("name")
        if intent == "request_onsite_service":
            return (event.get("text") or "")[:1000] or None
    return None


class ActionSubmitOnsite(RecordsAction):
    """Runs when the on-site form ends: records the request, or, if the employer
    left the form unfinished, records nothing and says so."""

    failure_response = "utter_onsite_failed"

    def name(self) -> Text:
        return "action_submit_onsite"

    def run_with_session(self, dispatcher, tracker, domain, session):
        cleared = [SlotSet(slot, None) for slot in ONSITE_SLOTS]
        if not all(tracker.get_slot(slot) for slot in ONSITE_SLOTS):
            dispatcher.utter_message(response="utter_onsite_cancelled")
            return cleared
        request = onsite.record_onsite_request(
            session,
            employer_name=tracker.get_slot("onsite_employer"),
            contact_name=tracker.get_slot("onsite_contact"),
            phone=tracker.get_slot("onsite_phone"),
            headcount=int(tracker.get_slot("onsite_headcount")),
            preferred_time=tracker.get_slot("onsite_time"),
            note=request_text(tracker),
            conversation_id=tracker.sender_id,
            channel=channel_of(tracker),
        )
        dispatcher.utter_message(
            response="utter_onsite_recorded",
            request_id=request.id,
            phone_tail=phone_tail(request.phone),
        )
        dispatcher.utter_message(response="utter_anything_else")
        return cleared
