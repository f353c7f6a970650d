"""A person on the line: a transfer in agent hours, a callback outside them.

The hours and the transfer target come from ``flows/agents.yml`` (the target
may be overridden by ``AGENT_TRANSFER_TARGET``). :class:`Agents` is where every
road to a person ends: the caller asked (after the assistant recorded the
hand-over), the gateway gave up (silence, misses, a failed secure step), or
something failed (Rasa, the actions, the database): then the caller hears an
apology first. Outside agent hours a callback is recorded with the caller's
number, asked on the keypad when it is withheld; when nobody answers a
transfer, a callback too. Hand-overs and callbacks are written to the records
in a transaction of their own; if that fails, the caller is still told what
happens next.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable

from flask import current_app

from bot import metrics
from bot.flows import AgentHours
from bot.gateway.metrics import note_apology
from bot.gateway.voice.readout import Part, digits_words, hours_phrase
from bot.gateway.voice.render import Prompter, Speaker
from bot.gateway.voice.store import CallState
from bot.gateway.voice.twiml import MODE_CALLBACK_NUMBER, MODE_IDLE
from bot.records.handovers import record_callback, record_handover
from bot.records.clock import utc_now
from bot.records.db import session_scope
from bot.records.identifiers import normalize_phone
from bot.settings import Settings

logger = logging.getLogger("bot.gateway.voice")

DIAL_DONE = {"completed", "answered"}


def callback_phone(number: str | None) -> str | None:
    """The caller's number as a callback number (mobile or 028 landline), else None.

    Twilio gives E.164 (+8613800000001, +862886279298); Chengdu landlines get
    their trunk 0 back.
    """
    if not number:
        return None
    candidate = number.strip()
    if candidate.startswith("+86") and not candidate.startswith("+861"):
        candidate = "0" + candidate[3:]
    return normalize_phone(candidate)


class Agents:
    """Transfers, callbacks and apologies: the way to a person."""

    def __init__(self, settings: Settings, hours: AgentHours, speaker: Speaker,
                 prompter: Prompter) -> None:
        self.settings = settings
        self.hours = hours
        self.speaker = speaker
        self.prompter = prompter
        self.hours_words = hours_phrase(hours.periods)

    def are_open(self) -> bool:
        """Whether a person is at work now (``VOICE_CLOCK`` sets "now" in tests and demos)."""
        clock: Callable[[], datetime] | None = current_app.config.get("VOICE_CLOCK")
        try:
            return self.hours.is_open(clock() if clock else utc_now())
        except Exception:  # noqa: BLE001 - a calendar problem must not drop the caller
            logger.exception("agent hours could not be evaluated; assuming agents are at work")
            return True

    # --------------------------------------------------------- the way there

    def escalate(self, state: CallState, *, reason: str, end_after_callback: bool = False) -> str:
        """The gateway gives up (silence, misses): a person, or a callback."""
        state.no_match = state.no_input = 0
        return self.person(state, reason=reason, end_after_callback=end_after_callback)

    def person(self, state: CallState, *, reason: str, lead: list[Part] | None = None,
               assistant_text: str | None = None, end_after_callback: bool = False) -> str:
        """Transfer to the agents, or outside their hours record a callback.

        ``assistant_text``: the assistant's hand-over message (it has recorded
        the hand-over itself), said before the transfer; without it the
        gateway records the hand-over with ``reason``.
        """
        if not self.are_open():
            return self.after_hours(state, reason=reason, lead=lead,
                                    end_after_callback=end_after_callback)
        if assistant_text is None:
            self._record_handover(state, reason)
        metrics.transferred("voice", reason)
        words = self.speaker.say(assistant_text) if assistant_text else self.speaker.prompt("transfer")
        return self.prompter.transfer(state, list(lead or []) + words)

    def after_hours(self, state: CallState, *, reason: str, lead: list[Part] | None = None,
                    end_after_callback: bool = False) -> str:
        """Nobody is at work: a callback to the caller's number (asked if withheld)."""
        lead = list(lead or [])
        phone = callback_phone(state.from_number)
        after_hours = self.speaker.prompt("after_hours", hours=self.hours_words)
        if phone is None:
            ask = self.speaker.prompt("ask_callback_number")
            return self.prompter.listen(state, lead + after_hours + ask, MODE_CALLBACK_NUMBER, ask)
        if not self._record_callback(state, phone, f"after_hours:{reason}"):
            return self._callback_failed(state, lead)
        recorded = lead + after_hours + self._recorded(phone)
        if end_after_callback:
            return self.prompter.end(state, recorded + self.speaker.prompt("goodbye"))
        more = self.speaker.prompt("anything_else")
        state.answered = True
        return self.prompter.listen(state, recorded + more, MODE_IDLE, more)

    def callback_number(self, state: CallState, digits: str) -> str:
        """The number a caller with a withheld number keyed in for the callback."""
        phone = normalize_phone(digits.rstrip("#"))
        if phone is None:
            state.no_match += 1
            if state.no_match > 1:
                return self._callback_failed(state)
            ask = self.speaker.prompt("callback_number_invalid")
            return self.prompter.listen(state, ask, MODE_CALLBACK_NUMBER, ask)
        state.no_match = 0
        if not self._record_callback(state, phone, "after_hours:requested"):
            return self._callback_failed(state)
        more = self.speaker.prompt("anything_else")
        state.answered = True
        return self.prompter.listen(state, self._recorded(phone) + more, MODE_IDLE, more)

    def dial_done(self, state: CallState, dial_status: str | None) -> str:
        """The transfer ended: hang up after a conversation, else offer a callback."""
        if (dial_status or "") in DIAL_DONE:
            return self.prompter.end(state, [])
        # No agent answered: the caller is not left waiting.
        state.transferred = False
        busy = self.speaker.prompt("agents_busy")
        phone = callback_phone(state.from_number)
        if phone and self._record_callback(state, phone, "agents_busy"):
            more = self.speaker.prompt("anything_else")
            state.answered = True
            soon = self.speaker.prompt("callback_soon", tail=digits_words(phone[-4:]))
            return self.prompter.listen(state, busy + soon + more, MODE_IDLE, more)
        return self.prompter.end(state, busy + self.speaker.prompt("call_again_later")
                                 + self.speaker.prompt("goodbye"))

    # --------------------------------------------------------------- failures

    def system_error(self, state: CallState) -> str:
        """Rasa, the actions or the database failed: apologise, then a person."""
        state.sealed_identifier = None
        note_apology()
        sorry = self.speaker.prompt("system_error")
        if self.are_open():
            self._record_handover(state, "backend_error")
            metrics.transferred("voice", "backend_error")
            return self.prompter.transfer(state, sorry + self.speaker.prompt("transfer"))
        phone = callback_phone(state.from_number)
        if phone and self._record_callback(state, phone, "after_hours:backend_error"):
            return self.prompter.end(
                state, sorry + self.speaker.prompt("after_hours", hours=self.hours_words)
                + self._recorded(phone) + self.speaker.prompt("apology_goodbye"))
        if phone is None:  # a withheld number: the callback is offered on the keypad
            ask = self.speaker.prompt("ask_callback_number")
            after_hours = self.speaker.prompt("after_hours", hours=self.hours_words)
            return self.prompter.listen(state, sorry + after_hours + ask, MODE_CALLBACK_NUMBER, ask)
        return self.prompter.end(state, sorry + self.speaker.prompt("call_again_later")
                                 + self.speaker.prompt("apology_goodbye"))

    def without_records(self, dial_status: str | None = None) -> str:
        """Not even the call state can be read: transfer, or ask to call again.

        ``dial_status`` is given when the webhook is the end of a transfer
        (Twilio's ``<Dial action>``): the caller is not transferred again (with
        the database still down that would loop), but hung up on after a
        conversation with an agent, or asked to call again when none answered.
        """
        twiml = self.prompter.twiml
        if dial_status in DIAL_DONE:
            return twiml.end([])
        note_apology()
        sorry = self.speaker.prompt("system_error")
        if dial_status is not None:
            return twiml.end(sorry + self.speaker.prompt("call_again_later")
                             + self.speaker.prompt("apology_goodbye"))
        if self.are_open():
            metrics.transferred("voice", "backend_error")
            return twiml.transfer(sorry + self.speaker.prompt("transfer"), action="dial?t=0")
        return twiml.end(sorry + self.speaker.prompt("call_again_later")
                         + self.speaker.prompt("apology_goodbye"))

    # ---------------------------------------------------------------- records

    def _recorded(self, phone: str) -> list[Part]:
        return self.speaker.prompt("callback_recorded", tail=digits_words(phone[-4:]))

    def _callback_failed(self, state: CallState, lead: list[Part] | None = None) -> str:
        return self.prompter.end(state, list(lead or [])
                                 + self.speaker.prompt("callback_failed", hours=self.hours_words)
                                 + self.speaker.prompt("goodbye"))

    def _record_handover(self, state: CallState, reason: str) -> None:
        try:
            with session_scope(self.settings.database_url) as session:
                record_handover(
                    session, conversation_id=state.call_sid, channel="voice", reason=reason,
                    intent_path=" > ".join(state.intents[-8:]) or None,
                    masked_account=state.masked_account,
                    context={"source": "voice_gateway", "mode": state.mode}, now=utc_now(),
                )
        except Exception:  # noqa: BLE001 - the transfer goes ahead without the record
            logger.exception("hand-over of call …%s could not be recorded", state.call_sid[-6:])

    def _record_callback(self, state: CallState, phone: str, reason: str) -> bool:
        try:
            with session_scope(self.settings.database_url) as session:
                record_callback(session, conversation_id=state.call_sid, channel="voice",
                                        phone=phone, reason=reason, now=utc_now())
        except Exception:  # noqa: BLE001 - said to the caller instead
            logger.exception("callback for call …%s could not be recorded", state.call_sid[-6:])
            metrics.callback_requested("voice", recorded=False)
            return False
        metrics.callback_requested("voice", recorded=True)
        state.callback_requested = True
        return True
