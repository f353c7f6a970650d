"""On-site service requests from employers (上门服务)."""
from __future__ import annotations

from typing import Text

from rasa_sdk import FormValidationAction
from rasa_sdk.events import SlotSet

from actions.common import RecordsAction, channel_of, phone_tail
from actions.complaints import contact_phone
from bot.records import queries

ONSITE_SLOTS = ("onsite_employer", "onsite_details", "onsite_phone")
EMPLOYER_MAX = 100
DETAILS_MAX = 500


class ValidateOnsiteForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_onsite_form"

    def validate_onsite_employer(self, value, dispatcher, tracker, domain):
        text = str(value or "").strip()
        if len(text) < 2 or len(text) > EMPLOYER_MAX:
            dispatcher.utter_message(response="utter_complaint_field_too_long")
            return {"onsite_employer": None}
        return {"onsite_employer": text}

    def validate_onsite_details(self, value, dispatcher, tracker, domain):
        text = str(value or "").strip()
        if not text or len(text) > DETAILS_MAX:
            dispatcher.utter_message(response="utter_complaint_description_too_long")
            return {"onsite_details": None}
        return {"onsite_details": text}

    def validate_onsite_phone(self, value, dispatcher, tracker, domain):
        phone = contact_phone(str(value or ""))
        if phone is None:
            dispatcher.utter_message(response="utter_invalid_phone")
            return {"onsite_phone": None}
        return {"onsite_phone": phone}


class ActionSubmitOnsite(RecordsAction):
    failure_response = "utter_onsite_failed"

    def name(self) -> Text:
        return "action_submit_onsite"

    def run_with_session(self, dispatcher, tracker, domain, session):
        employer = tracker.get_slot("onsite_employer")
        request = queries.record_onsite_request(
            session,
            employer_name=employer,
            details=tracker.get_slot("onsite_details"),
            phone=tracker.get_slot("onsite_phone"),
            conversation_id=tracker.sender_id,
            channel=channel_of(tracker),
        )
        dispatcher.utter_message(
            response="utter_onsite_recorded",
            onsite_employer=employer,
            request_id=request.id,
            phone_tail=phone_tail(request.phone),
        )
        dispatcher.utter_message(response="utter_anything_else")
        return [SlotSet(slot, None) for slot in ONSITE_SLOTS]
