"""What every action shares: one records session per run, formatting, failure
handling, and the validation behaviour every form has (ask again, then offer a
person; a clear stop leaves the form)."""
from __future__ import annotations

import abc
import logging
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Dict, List, Optional
from zoneinfo import ZoneInfo

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from bot.contract import SYSTEM_INTENTS
from bot.flows.answers import read_answer
from bot.records.db import session_scope

logger = logging.getLogger(__name__)

LOCAL_TZ = ZoneInfo("Asia/Shanghai")

REQUESTED_SLOT = "requested_slot"


def format_money(amount: Optional[Decimal]) -> str:
    """``Decimal("12345.6")`` → ``"12,345.60"`` (the unit 元 is in the response)."""
    return f"{(amount or Decimal('0')).quantize(Decimal('0.01')):,}"


def format_date(value: Optional[date | datetime]) -> str:
    """A date as people write it: ``2026年11月27日``; datetimes in Beijing time."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(LOCAL_TZ).date()
    return f"{value.year}年{value.month}月{value.day}日"


def format_month(value: Optional[date]) -> str:
    """``date(2026, 10, 1)`` → ``2026年10月``."""
    return "" if value is None else f"{value.year}年{value.month}月"


def format_rate(rate: Optional[Decimal]) -> str:
    """An annual or contribution rate stored as a fraction: ``0.026`` → ``2.6%``."""
    if rate is None:
        return ""
    percent = (rate * 100).normalize()
    return f"{percent:f}%"


KNOWN_CHANNELS = frozenset({"voice", "webchat", "rest"})


def channel_of(tracker: Tracker) -> str:
    """The records' channel code of the conversation (``other`` for e.g. rasa shell)."""
    channel = tracker.get_latest_input_channel()
    return channel if channel in KNOWN_CHANNELS else "other"


def phone_tail(phone: Optional[str]) -> str:
    return (phone or "")[-4:]


def today_local() -> date:
    return datetime.now(LOCAL_TZ).date()


def latest_intent(tracker: Tracker) -> Optional[str]:
    """The intent Rasa chose for the latest message (also for ``/intent`` messages,
    which carry no intent ranking)."""
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")


def intent_path(tracker: Tracker, limit: int = 8) -> List[str]:
    """The intents of the last ``limit`` user turns, oldest first."""
    intents = [
        (event.get("parse_data") or {}).get("intent", {}).get("name")
        for event in tracker.events
        if event.get("event") == "user"
    ]
    return [name for name in intents if name][-limit:]


def transcript(tracker: Tracker) -> List[Dict[str, str]]:
    """The conversation so far as ``{role, text, at}`` items for the complaint file.

    Messages the gateway sent on the caller's behalf (``/authenticated…``) are kept
    only as a marker, never with their token.
    """
    items: List[Dict[str, str]] = []
    for event in tracker.events:
        kind = event.get("event")
        if kind not in ("user", "bot"):
            continue
        text = event.get("text") or ""
        at = datetime.fromtimestamp(event.get("timestamp") or 0, tz=LOCAL_TZ).isoformat()
        if kind == "user":
            intent = (event.get("parse_data") or {}).get("intent", {}).get("name")
            if intent in SYSTEM_INTENTS or text.startswith("/"):
                items.append({"role": "system", "text": intent or "intent", "at": at})
                continue
            items.append({"role": "user", "text": text, "at": at})
        elif text:
            items.append({"role": "bot", "text": text, "at": at})
    return items


def short_text_slot(
    slot: str,
    value: Any,
    dispatcher: CollectingDispatcher,
    *,
    max_length: int,
    min_length: int = 1,
) -> Dict[str, Optional[str]]:
    """Validate a short free-text form answer (a place, a name, a time).

    Returns ``{slot: text}``, or ``{slot: None}`` after telling the caller the
    answer does not fit, so that the form asks again.
    """
    text = str(value or "").strip()
    if min_length <= len(text) <= max_length:
        return {slot: text}
    dispatcher.utter_message(response="utter_complaint_field_too_long")
    return {slot: None}


def phone_slot(slot: str, value: Any, dispatcher: CollectingDispatcher) -> Dict[str, Optional[str]]:
    """Validate a contact phone answer (spoken digits allowed); ask again if it is not one."""
    from bot.nlu.normalize import normalize_text
    from bot.records.identifiers import normalize_phone

    phone = normalize_phone(normalize_text(str(value or "")))
    if phone is None:
        dispatcher.utter_message(response="utter_invalid_phone")
    return {slot: phone}


class RecordsAction(Action, abc.ABC):
    """An action that works on the records database in one transaction.

    Subclasses implement :meth:`run_with_session`. A failure of the database or
    of the records code is logged and the caller hears an apology with the
    ``failure_response`` instead of silence.
    """

    failure_response = "utter_system_error"

    @abc.abstractmethod
    def name(self) -> str:
        """The action's name in the domain."""

    @abc.abstractmethod
    def run_with_session(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[str, Any],
        session: Session,
    ) -> List[Dict[str, Any]]:
        """Do the work; the session commits when this returns."""

    def on_failure(
        self, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> List[Dict[str, Any]]:
        dispatcher.utter_message(response=self.failure_response)
        return []

    def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[str, Any],
    ) -> List[Dict[str, Any]]:
        staged = CollectingDispatcher()
        try:
            with session_scope() as session:
                events = self.run_with_session(staged, tracker, domain, session)
        except Exception:  # noqa: BLE001 - the caller must never be left in silence
            logger.exception("action %s failed for %s", self.name(), tracker.sender_id)
            return self.on_failure(dispatcher, tracker)
        # Only after the transaction committed does the caller hear the outcome.
        dispatcher.messages.extend(staged.messages)
        return events


def answers_to_question(tracker: Tracker) -> int:
    """How often the caller has answered the question the form asks now, the
    latest answer included: user turns since ``requested_slot`` took its value."""
    asked, count = None, 0
    for event in tracker.events:
        if event.get("event") == "slot" and event.get("name") == REQUESTED_SLOT:
            if event.get("value") != asked:
                asked, count = event.get("value"), 0
        elif event.get("event") == "user":
            count += 1
    return count if asked is not None and asked == tracker.get_slot(REQUESTED_SLOT) else 0


def _refused(events: List[Dict[str, Any]], slot: str) -> bool:
    """The validation refused the answer to ``slot`` and changed nothing else."""
    cleared = {
        event["name"] for event in events
        if event.get("event") == "slot" and event.get("value") is None and event.get("name") != REQUESTED_SLOT
    }
    return cleared == {slot}


class AskAgainFormValidation(FormValidationAction, abc.ABC):
    """Validation that every form shares: ask again, then offer a person; a stop leaves.

    Subclasses write ``validate_<slot>`` methods as usual: a method that refuses
    an answer says why (a response by name) and returns ``{slot: None}``, and the
    form asks the question again. From the second refused answer to the same
    question on, the caller also hears how to reach a person
    (``utter_form_offer_human``) instead of being held in the form.

    A clear stop in the caller's own words (``stop`` in ``flows/answers.yml``:
    "算了", "不投诉了", "取消"), whatever intent the classifier chose, clears the
    form's slots and ends the form; the form's finishing action then finds
    nothing complete and says that nothing was submitted and how to start
    again.
    """

    @abc.abstractmethod
    def name(self) -> str:
        """``validate_<form>``; abstract, so that rasa_sdk registers only the subclasses."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        asked = tracker.get_slot(REQUESTED_SLOT)
        answered = asked is not None and asked in tracker.slots_to_validate()
        if answered and read_answer((tracker.latest_message or {}).get("text")).stop:
            return self.leave(domain)
        events = await super().run(dispatcher, tracker, domain)
        if answered and _refused(events, asked) and answers_to_question(tracker) >= 2:
            dispatcher.utter_message(response="utter_form_offer_human")
        return events

    def leave(self, domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        """Forget what the form collected and end it (``requested_slot`` to None)."""
        return [SlotSet(slot, None) for slot in self.domain_slots(domain)] + [SlotSet(REQUESTED_SLOT, None)]
