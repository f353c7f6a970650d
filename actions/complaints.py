"""Complaint intake (首问负责制) and complaint status, modelled on a helpdesk ticket flow.

The form collects category, what happened, where, an optional staff number and a
contact phone, then reads the complaint back as its last question
(``complaint_confirmation``, asked by ``utter_ask_complaint_confirmation``). The
answer is read by its words (``flows/answers.yml``), whatever intent the
classifier chose: a confirmation ends the form, a correction asks for the item
again (or first which item), anything else reads it back again with a hint, and
a stop leaves the form. ``action_submit_complaint`` runs when the form ends and
stores the complaint only if it was confirmed, exactly once: the idempotency key
is made of the conversation and the complaint's content, so a retried submission
returns the ticket already issued. A form that ended without a confirmation
(the caller left) stores nothing and says so.

The status of a complaint (``complaint_status_form``) is told only to whoever
gives the ticket number and the last four digits of the contact phone filed
with it (on the phone keyed in); a wrong pair is answered like an unknown
ticket, after three wrong pairs the conversation can look up no more, and a
ticket guessed at too often is told only by a person.
"""
from __future__ import annotations

import hashlib
import logging
import re
from typing import Dict, List, Optional, Text

from rasa_sdk import Action
from rasa_sdk.events import SlotSet

from actions.common import (
    AskAgainFormValidation,
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
from bot.flows.answers import read_answer
from bot.nlu.normalize import normalize_text
from bot.records import complaint_status, complaints
from bot.records.identifiers import normalize_phone, normalize_ticket_id

logger = logging.getLogger(__name__)

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
STAFF_REFERENCE_NOISE = re.compile(r"[^A-Za-z0-9\-·\u3400-\u9fff]+")
# The read-back: the form's last question, and the question asked when the
# caller wants a change without saying which item.
CONFIRMATION = "complaint_confirmation"
CHANGE = "complaint_change"
CONFIRMED = "confirmed"
CHANGE_ASKED = "change"
FORM_SLOTS = (*COMPLAINT_SLOTS, CONFIRMATION)


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


class ValidateComplaintForm(AskAgainFormValidation):
    def name(self) -> Text:
        return "validate_complaint_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain):
        # "Which item?" is asked only after "something is wrong" without the item.
        if tracker.get_slot(CONFIRMATION) == CHANGE_ASKED:
            return domain_slots
        return [slot for slot in domain_slots if slot != CHANGE]

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
        # What the record keeps: the number or name without spaces and punctuation
        # ("工号 A-1024。" -> "工号A-1024"), at most the record's length.
        cleaned = STAFF_REFERENCE_NOISE.sub("", text)
        if not cleaned or len(cleaned) > complaints.MAX_STAFF_NUMBER_LENGTH:
            dispatcher.utter_message(response="utter_complaint_staff_number_invalid")
            return {"complaint_staff_number": None}
        return {"complaint_staff_number": cleaned}

    def validate_complaint_phone(self, value, dispatcher, tracker, domain):
        return phone_slot("complaint_phone", value, dispatcher)

    def validate_complaint_confirmation(self, value, dispatcher, tracker, domain):
        """The answer to the read-back: confirm, change (an item or which), or asked again."""
        if value in (CONFIRMED, CHANGE_ASKED):
            # Left from an earlier, unfinished run of the form: read back afresh.
            return {CONFIRMATION: None}
        answer = read_answer(str(value or ""), self.form_name())
        if answer.everything:
            dispatcher.utter_message(response="utter_complaint_restart")
            return collect_again(COMPLAINT_SLOTS)
        if answer.change:
            return collect_again(answer.items) if answer.items else {CONFIRMATION: CHANGE_ASKED}
        if answer.confirm:
            return {CONFIRMATION: CONFIRMED}
        dispatcher.utter_message(response="utter_complaint_confirmation_hint")
        return {CONFIRMATION: None}

    def validate_complaint_change(self, value, dispatcher, tracker, domain):
        """The answer to "which item?": that item is asked again, then the read-back."""
        answer = read_answer(str(value or ""), self.form_name())
        if answer.everything:
            dispatcher.utter_message(response="utter_complaint_restart")
            return collect_again(COMPLAINT_SLOTS)
        if answer.items:
            return collect_again(answer.items)
        if answer.keep or answer.confirm:
            return collect_again(())
        dispatcher.utter_message(response="utter_complaint_change_hint")
        return {CHANGE: None}


def collect_again(slots) -> Dict[str, None]:
    """Clear ``slots`` and the read-back: the form asks for them, then reads back again."""
    return {**{slot: None for slot in slots}, CHANGE: None, CONFIRMATION: None}


class ActionSubmitComplaint(RecordsAction):
    """Runs when the complaint form ends: stores the confirmed complaint once and
    tells the ticket number and deadline. If the form ended without a confirmed
    complaint (the caller left it), nothing is stored and the caller hears so."""

    failure_response = "utter_complaint_failed"

    def name(self) -> Text:
        return "action_submit_complaint"

    def run_with_session(self, dispatcher, tracker, domain, session):
        values = {slot: tracker.get_slot(slot) for slot in COMPLAINT_SLOTS}
        cleared = [SlotSet(slot, None) for slot in FORM_SLOTS]
        if tracker.get_slot(CONFIRMATION) != CONFIRMED or not all(values.values()):
            dispatcher.utter_message(response="utter_complaint_cancelled")
            return cleared
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
        return cleared + [SlotSet("complaint_ticket", complaint.ticket_id)]


# Complaint status: ticket numbers are a date and a sequence (guessable), so the
# status is told only after the last four digits of the contact phone given with
# the complaint. A wrong answer is counted in the conversation; at the limit the
# look-up stops for the rest of it.
PHONE_TAIL = "ticket_phone_tail"
CHECK_FAILURES = "ticket_check_failures"
MAX_TICKET_CHECKS = 3
PHONE_TAIL_DIGITS = re.compile(r"^[0-9]{4}$")
DIGIT_SEPARATORS = re.compile(r"[\s\-]+")


def failed_checks(tracker) -> int:
    """Wrong ticket/phone-tail pairs given so far in this conversation."""
    try:
        return int(tracker.get_slot(CHECK_FAILURES) or 0)
    except (TypeError, ValueError):
        return MAX_TICKET_CHECKS


def read_phone_tail(said: str) -> Optional[str]:
    """Four digits (typed, keyed or spoken: "五六七八"), or the last four of a
    whole phone number; None for anything else."""
    text = normalize_text(str(said or ""))
    phone = normalize_phone(text)
    if phone is not None:
        return phone[-4:]
    digits = DIGIT_SEPARATORS.sub("", text)
    return digits if PHONE_TAIL_DIGITS.fullmatch(digits) else None


class ValidateComplaintStatusForm(AskAgainFormValidation):
    def name(self) -> Text:
        return "validate_complaint_status_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain):
        # After too many wrong answers nothing is asked: the form ends at once
        # and action_complaint_status says why.
        return [] if failed_checks(tracker) >= MAX_TICKET_CHECKS else domain_slots

    def validate_ticket_id(self, value, dispatcher, tracker, domain):
        ticket = normalize_ticket_id(normalize_text(str(value or "")))
        if ticket is None:
            dispatcher.utter_message(response="utter_invalid_ticket_id")
            return {"ticket_id": None}
        return {"ticket_id": ticket}

    def validate_ticket_phone_tail(self, value, dispatcher, tracker, domain):
        tail = read_phone_tail(value)
        if tail is None:
            dispatcher.utter_message(response="utter_invalid_phone_tail")
        return {PHONE_TAIL: tail}


class ActionComplaintStatus(RecordsAction):
    """Tells the status of a ticket (status and dates, never the reply or the
    contact), once the caller gave the contact phone's last four digits.

    An unknown ticket and a wrong tail get the same answer; after
    :data:`MAX_TICKET_CHECKS` wrong answers the conversation can look up no
    more statuses, and a ticket guessed at too often from any conversations is
    told only by a person (:mod:`bot.records.complaint_status`).
    """

    def name(self) -> Text:
        return "action_complaint_status"

    def run_with_session(self, dispatcher, tracker, domain, session):
        cleared = [SlotSet("ticket_id", None), SlotSet(PHONE_TAIL, None)]
        failures = failed_checks(tracker)
        if failures >= MAX_TICKET_CHECKS:
            dispatcher.utter_message(response="utter_complaint_status_locked")
            return cleared
        said, tail = tracker.get_slot("ticket_id"), tracker.get_slot(PHONE_TAIL)
        if said is None or tail is None:
            # The caller left the form before giving the ticket number or the digits.
            dispatcher.utter_message(response="utter_complaint_status_cancelled")
            return cleared
        ticket = normalize_ticket_id(normalize_text(said))
        if ticket is None:
            dispatcher.utter_message(response="utter_invalid_ticket_id")
            return cleared
        check = complaint_status.check_status(session, ticket, tail)
        if check.held:
            # The right digits, but this ticket was guessed at too often: a person tells.
            dispatcher.utter_message(response="utter_complaint_status_held")
            return cleared
        complaint = check.complaint
        if complaint is None:
            failures += 1
            logger.info("complaint status refused in conversation …%s (%d of %d)",
                        tracker.sender_id[-6:], failures, MAX_TICKET_CHECKS)
            locked = failures >= MAX_TICKET_CHECKS
            dispatcher.utter_message(
                response="utter_complaint_status_locked" if locked else "utter_complaint_status_unverified")
            return cleared + [SlotSet(CHECK_FAILURES, float(failures))]
        status = getattr(complaint.status, "value", complaint.status)
        dispatcher.utter_message(
            response=f"utter_complaint_status_{status}",
            ticket_id=complaint.ticket_id,
            created_on=format_date(complaint.created_at),
            due_date=format_date(complaint.due_date),
        )
        if status != "closed" and complaint.due_date < today_local():
            dispatcher.utter_message(response="utter_complaint_status_overdue")
        dispatcher.utter_message(response="utter_anything_else")
        return cleared
