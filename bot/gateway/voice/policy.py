"""A policy answer on the phone: short, then the rest by SMS (issue 9).

The assistant's spoken answer is at most 120 characters; after it the caller
is offered the version's full SMS text and, when the answer lists materials,
the materials read a few at a time. Keys and prompts are ``voice.policy_answer``
of ``flows/voice.yml`` (:mod:`bot.flows.voice_policy`):

- **the offer** (:data:`MODE_POLICY_OFFER`): the SMS key sends the full text,
  the materials key reads the materials from the first item;
- **the materials** (:data:`MODE_POLICY_MATERIALS`): the materials key reads the
  next items, the SMS key sends; after the last items the caller is back at
  the offer;
- **the number** (:data:`MODE_POLICY_NUMBER`): when the caller's number is
  withheld or not a mobile, an 11-digit mobile number on the keypad ending
  with #; a malformed one is asked again, then the SMS is politely given up.

The repeat, person and main-menu keys, speech (a new question for the
assistant) and keys that mean nothing are the dialogue's (:mod:`.dialogue`).
Silence at the offer or the materials is no fault: the caller gets the usual
prompt after an answer. The SMS goes through the outbox (:mod:`.sms`), once
per call and answer version; numbers appear in logs masked only.
"""
from __future__ import annotations

import logging
import re
from typing import Callable

from sqlalchemy.exc import SQLAlchemyError

from bot.flows.voice import VoiceFlow
from bot.gateway.voice.agents import callback_phone
from bot.gateway.voice.readout import Part, digits_words, integer_words
from bot.gateway.voice.render import PolicyAnswer, Prompter, Speaker
from bot.gateway.voice.sms import SmsSender, mobile_number
from bot.gateway.voice.store import CallState
from bot.gateway.voice.twiml import (
    MODE_IDLE,
    MODE_POLICY_MATERIALS,
    MODE_POLICY_NUMBER,
    MODE_POLICY_OFFER,
)
from bot.records.clock import utc_now
from bot.records.db import session_scope
from bot.settings import Settings

logger = logging.getLogger("bot.gateway.voice")

MOBILE_KEYS = re.compile(r"^1[3-9][0-9]{9}$")

# What the dialogue does with a key that means nothing here: (state, deadline) -> TwiML.
NoMatch = Callable[[CallState, float], str]


class PolicyAnswers:
    """The offer after a policy answer, its materials, and its SMS."""

    def __init__(self, settings: Settings, flow: VoiceFlow, speaker: Speaker,
                 prompter: Prompter, sms: SmsSender, no_match: NoMatch) -> None:
        self.settings = settings
        self.flow = flow.policy_answer
        self.speaker = speaker
        self.prompter = prompter
        self.sms = sms
        self.no_match = no_match

    def say(self, name: str, **values: str) -> list[Part]:
        return self.speaker.say(self.flow.prompt(name, **values))

    # ------------------------------------------------------------- the offer

    def offer(self, state: CallState, lead: list[Part], answer: PolicyAnswer) -> str:
        """Say the answer (``lead``), then offer its SMS and materials."""
        state.policy = {"topic": answer.topic, "version": answer.version,
                        "materials": list(answer.materials), "at": 0, "retries": 0}
        state.answered = True
        offer = self._offer_parts(state, again=False)
        return self.prompter.listen(state, lead + offer, MODE_POLICY_OFFER, offer)

    def _offer_parts(self, state: CallState, *, again: bool) -> list[Part]:
        parts = self.say("offer_sms", key=self.flow.sms_key)
        if state.policy.get("materials"):
            name = "offer_materials_again" if again else "offer_materials"
            parts += self.say(name, key=self.flow.materials_key)
        return parts + self.say("offer_more")

    def offer_key(self, state: CallState, digits: str, deadline: float) -> str:
        """A key at the offer: the SMS, or the materials from the first item."""
        if digits == self.flow.sms_key:
            return self.send(state)
        if digits == self.flow.materials_key and state.policy.get("materials"):
            return self._materials(state, 0)
        return self.no_match(state, deadline)

    # --------------------------------------------------------- the materials

    def materials_key(self, state: CallState, digits: str, deadline: float) -> str:
        """A key while the materials are read: the next items, or the SMS."""
        if digits == self.flow.materials_key:
            return self._materials(state, int(state.policy.get("at", 0)) + self.flow.materials_per_prompt)
        if digits == self.flow.sms_key:
            return self.send(state)
        return self.no_match(state, deadline)

    def _materials(self, state: CallState, start: int) -> str:
        """Items ``start``… of the materials; after the last ones, the offer again."""
        materials: list[str] = list(state.policy.get("materials") or [])
        start = start if 0 <= start < len(materials) else 0
        state.policy["at"] = start
        chunk = materials[start:start + self.flow.materials_per_prompt]
        lead = self.say("materials_intro", count=str(len(materials))) if start == 0 else []
        items = "；".join(self.flow.prompt("material_item", ordinal=integer_words(start + n), item=item)
                         for n, item in enumerate(chunk, start=1))
        said = lead + self.speaker.say(items + "。")
        if start + len(chunk) < len(materials):
            choices = self.say("materials_more", more_key=self.flow.materials_key,
                               sms_key=self.flow.sms_key)
            return self.prompter.listen(state, said + choices, MODE_POLICY_MATERIALS, choices)
        offer = self._offer_parts(state, again=True)
        return self.prompter.listen(state, said + self.say("materials_done") + offer,
                                    MODE_POLICY_OFFER, offer)

    # ---------------------------------------------------------------- the SMS

    def send(self, state: CallState) -> str:
        """The full answer by SMS to the calling mobile, or ask for a mobile number."""
        phone = mobile_number(callback_phone(state.from_number))
        if phone is None:
            state.policy["retries"] = 0
            ask = self.say("ask_number")
            return self.prompter.listen(state, ask, MODE_POLICY_NUMBER, ask)
        return self._queue(state, phone)

    def number_key(self, state: CallState, digits: str, deadline: float) -> str:
        """The mobile number keyed in for the SMS (digits, # already stripped by Twilio)."""
        number = digits.rstrip("#")
        if MOBILE_KEYS.fullmatch(number):
            return self._queue(state, number)
        return self._number_again(state, "number_invalid")

    def _number_again(self, state: CallState, prompt: str) -> str:
        retries = int(state.policy.get("retries", 0)) + 1
        state.policy["retries"] = retries
        if retries > self.flow.number_retries:
            return self._idle(state, self.say("number_gave_up"))
        again = self.say(prompt)
        return self.prompter.listen(state, again, MODE_POLICY_NUMBER, again)

    def _queue(self, state: CallState, phone: str) -> str:
        topic, version = str(state.policy.get("topic") or ""), state.policy.get("version")
        message_id = to_number = None
        if isinstance(version, int):
            try:
                with session_scope(self.settings.database_url) as session:
                    message = self.sms.queue_policy_answer(
                        session, call_sid=state.call_sid, topic=topic, version_id=version,
                        to_number=phone, now=utc_now())
                    if message is not None:
                        message_id, to_number = message.id, message.to_number
            except SQLAlchemyError:
                logger.exception("call …%s: the SMS of answer %s could not be queued",
                                 state.call_sid[-6:], version)
        if message_id is None or to_number is None:
            return self._idle(state, self.say("sms_failed"))
        self.sms.deliver_later(message_id)
        return self._idle(state, self.say("sms_sent", tail=digits_words(to_number[-4:])))

    # ----------------------------------------------------------- and then

    def silence(self, state: CallState) -> str:
        """No answer at the offer or the materials: the usual prompt after an answer.
        No number keyed in: asked again, like a malformed one."""
        if state.mode == MODE_POLICY_NUMBER:
            return self._number_again(state, "ask_number")
        return self._idle(state, [])

    def _idle(self, state: CallState, lead: list[Part]) -> str:
        state.policy = {}
        state.answered = True
        hint = self.speaker.prompt("idle_hint")
        return self.prompter.listen(state, lead + hint, MODE_IDLE, hint)

