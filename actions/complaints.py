"""Complaint intake (首问负责制) and complaint status, modelled on a helpdesk ticket flow.

The form collects category, what happened, where, an optional staff number and a
contact phone; ``utter_complaint_readback`` reads it back; only on "确认" does
``action_submit_complaint`` store it, exactly once: the idempotency key is made of
the conversation and the complaint's content, so a retried submission returns the
ticket already issued.
"""
from __future__ import annotations

import hashlib
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    RecordsAction,
    channel_of,
    format_date,
    phone_slot,
    phone_tail,
    short_text_slot,
    today_local,
    transcript,
)
from bot.flows import complaint_categories, match_complaint_category
from bot.nlu.normalize import normalize_text
from bot.records import complaints
from bot.records.identifiers import normalize_ticket_id

DESCRIPTION_MIN = 6
DESCRIPTION_MAX = 2000
SHORT_FIELD_MAX = 100
COMPLAINT_SLOTS = (
    "complaint_category",
    "complaint_description",
    "complaint_location",
    "complaint_staff_number",
    "complaint_phone",
)
NO_STAFF_NUMBER = "none"


def category_buttons() -> List[Dict[str, str]]:
    return [{"title": c.label, "payload": c.label} for c in complaint_categories()]


def idempotency_key(sender_id: str, values: Dict[str, Optional[str]]) -> str:
    material = "\x1f".join([sender_id, *[(values.get(slot) or "") for slot in COMPLAINT_SLOTS]])
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


class ActionAskComplaintCategory(Action):
    """Asks for the category with the menu of ``flows/complaint_categories.yml``."""

    def name(self) -> Text:
        return "action_ask_complaint_category"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(response="utter_ask_complaint_category", buttons=category_buttons())
        return []


class ValidateComplaintForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_complaint_form"

    def validate_complaint_category(self, value, dispatcher, tracker, domain):
        category = match_complaint_category(str(value or ""))
        if category is None:
            dispatcher.utter_message(response="utter_invalid_complaint_category")
            return {"complaint_category": None}
        return {"complaint_category": category.label}

    def validate_complaint_description(self, value, dispatcher, tracker, domain):
        text = str(value or "").strip()
        if len(text) > DESCRIPTION_MAX:
            dispatcher.utter_message(response="utter_complaint_description_too_long")
            return {"complaint_description": None}
        if len(text) < DESCRIPTION_MIN:
            dispatcher.utter_message(response="utter_complaint_description_too_short")
            return {"complaint_description": None}
        return {"complaint_description": text}

    def validate_complaint_location(self, value, dispatcher, tracker, domain):
        return short_text_slot("complaint_location", value, dispatcher, max_length=SHORT_FIELD_MAX)

    def validate_complaint_staff_number(self, value, dispatcher, tracker, domain):
        text = str(value or "").strip()
        if text == NO_STAFF_NUMBER or not text:
            return {"complaint_staff_number": NO_STAFF_NUMBER}
        return short_text_slot("complaint_staff_number", text, dispatcher, max_length=SHORT_FIELD_MAX)

    def validate_complaint_phone(self, value, dispatcher, tracker, domain):
        return phone_slot("complaint_phone", value, dispatcher)


class ActionSubmitComplaint(RecordsAction):
    """Stores the confirmed complaint once and tells the ticket number and deadline."""

    failure_response = "utter_complaint_failed"

    def name(self) -> Text:
        return "action_submit_complaint"

    def run_with_session(self, dispatcher, tracker, domain, session):
        values = {slot: tracker.get_slot(slot) for slot in COMPLAINT_SLOTS}
        if not all(values[slot] for slot in COMPLAINT_SLOTS):
            # Nothing complete to store (e.g. "确认" typed out of context).
            dispatcher.utter_message(response="utter_anything_else")
            return []
        category = match_complaint_category(values["complaint_category"])
        staff = values["complaint_staff_number"]
        complaint, created = complaints.create_complaint(
            session,
            idempotency_key=idempotency_key(tracker.sender_id, values),
            category=category.code if category else "other",
            channel=channel_of(tracker),
            description=values["complaint_description"],
            location=values["complaint_location"],
            staff_number=None if staff == NO_STAFF_NUMBER else staff,
            contact_phone=values["complaint_phone"],
            conversation_id=tracker.sender_id,
            transcript=transcript(tracker),
        )
        dispatcher.utter_message(
            response="utter_complaint_recorded" if created else "utter_complaint_already_recorded",
            ticket_id=complaint.ticket_id,
            due_date=format_date(complaint.due_date),
            phone_tail=phone_tail(complaint.contact_phone),
        )
        dispatcher.utter_message(response="utter_anything_else")
        return [SlotSet(slot, None) for slot in COMPLAINT_SLOTS] + [
            SlotSet("complaint_ticket", complaint.ticket_id)
        ]


class ActionRestartComplaint(Action):
    """The caller said the read-back is wrong: clear the form to collect it again."""

    def name(self) -> Text:
        return "action_restart_complaint"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(response="utter_complaint_restart")
        return [SlotSet(slot, None) for slot in COMPLAINT_SLOTS]


class ActionCancelComplaint(Action):
    """The caller gave up mid-form: forget what was collected, store nothing."""

    def name(self) -> Text:
        return "action_cancel_complaint"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(response="utter_complaint_cancelled")
        return [SlotSet(slot, None) for slot in COMPLAINT_SLOTS]


class ValidateComplaintStatusForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_complaint_status_form"

    def validate_ticket_id(self, value, dispatcher, tracker, domain):
        ticket = normalize_ticket_id(normalize_text(str(value or "")))
        if ticket is None:
            dispatcher.utter_message(response="utter_invalid_ticket_id")
            return {"ticket_id": None}
        return {"ticket_id": ticket}


class ActionComplaintStatus(RecordsAction):
    """Tells the status of a ticket: status, dates, never the reply or the contact."""

    def name(self) -> Text:
        return "action_complaint_status"

    def run_with_session(self, dispatcher, tracker, domain, session):
        ticket = normalize_ticket_id(normalize_text(tracker.get_slot("ticket_id") or ""))
        if ticket is None:
            dispatcher.utter_message(response="utter_invalid_ticket_id")
            return [SlotSet("ticket_id", None)]
        complaint = complaints.find_complaint(session, ticket)
        if complaint is None:
            dispatcher.utter_message(response="utter_complaint_not_found", ticket_id=ticket)
            return [SlotSet("ticket_id", None)]
        status = getattr(complaint.status, "value", complaint.status)
        dispatcher.utter_message(
            response=f"utter_complaint_status_{status}",
            ticket_id=complaint.ticket_id,
            created_on=format_date(complaint.created_at),
            due_date=format_date(complaint.due_date),
            phone_tail=phone_tail(complaint.contact_phone),
        )
        if status != "closed" and complaint.due_date < today_local():
            dispatcher.utter_message(response="utter_complaint_status_overdue")
        dispatcher.utter_message(response="utter_anything_else")
        return [SlotSet("ticket_id", None)]
