"""On-site service requests from employers (上门服务)."""
from __future__ import annotations

import re
from typing import Text

from rasa_sdk import FormValidationAction
from rasa_sdk.events import SlotSet

from actions.common import RecordsAction, channel_of, phone_tail
from actions.complaints import contact_phone
from bot.nlu.normalize import normalize_text
from bot.records import queries

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


def _short_text(value, limit: int) -> str | None:
    text = str(value or "").strip()
    return text if 0 < len(text) <= limit else None


class ValidateOnsiteForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_onsite_form"

    def validate_onsite_employer(self, value, dispatcher, tracker, domain):
        text = _short_text(value, EMPLOYER_MAX)
        if text is None or len(text) < 2:
            dispatcher.utter_message(response="utter_complaint_field_too_long")
            return {"onsite_employer": None}
        return {"onsite_employer": text}

    def validate_onsite_contact(self, value, dispatcher, tracker, domain):
        text = _short_text(value, NAME_MAX)
        if text is None:
            dispatcher.utter_message(response="utter_complaint_field_too_long")
        return {"onsite_contact": text}

    def validate_onsite_headcount(self, value, dispatcher, tracker, domain):
        count = parse_headcount(str(value or ""))
        if count is None:
            dispatcher.utter_message(response="utter_invalid_headcount")
            return {"onsite_headcount": None}
        return {"onsite_headcount": str(count)}

    def validate_onsite_time(self, value, dispatcher, tracker, domain):
        text = _short_text(value, TIME_MAX)
        if text is None:
            dispatcher.utter_message(response="utter_complaint_field_too_long")
        return {"onsite_time": text}

    def validate_onsite_phone(self, value, dispatcher, tracker, domain):
        phone = contact_phone(str(value or ""))
        if phone is None:
            dispatcher.utter_message(response="utter_invalid_phone")
            return {"onsite_phone": None}
        return {"onsite_phone": phone}


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
    failure_response = "utter_onsite_failed"

    def name(self) -> Text:
        return "action_submit_onsite"

    def run_with_session(self, dispatcher, tracker, domain, session):
        request = queries.record_onsite_request(
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
        return [SlotSet(slot, None) for slot in ONSITE_SLOTS]
