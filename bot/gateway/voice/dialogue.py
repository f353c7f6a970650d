"""The call dialogue: what the caller hears next, given what they pressed or said.

:class:`CallDialogue` runs one webhook of a call on its :class:`CallState`;
:mod:`.call` loads and saves that state around it, and the dialogue never
holds a transaction open while it talks to Rasa. Read top-down:

- **endpoints**: one handler per webhook (:attr:`CallDialogue.endpoints`), with
  the modes in which that webhook is expected (a late or replayed one is not
  run, the current prompt is said again);
- **keys**: the repeat and person keys mean the same at every prompt, the
  main-menu key at menus and after answers; any other keys go to the handler
  of the current mode (:attr:`CallDialogue.keys_by_mode`);
- **the assistant**: a menu item, a button, digits or speech go to Rasa; its
  reply, rendered by :mod:`.render`, decides the next mode; speech that seems
  to say a password or an identifier (:func:`bot.secrets_guard.spoken_secret`)
  does not, the caller is asked to keep them for the keypad;
- **the secure step**: identifier and query password on the keypad, verified
  against the records; Rasa learns only the outcome
  (:func:`bot.contract.secure_step_outcome`);
- **a policy answer**: its SMS and materials are offered (:mod:`.policy`);
- **a person**: the person key or a menu's hand-over item asks the assistant
  (which records the hand-over) in agent hours; silence, misses and failures
  go straight to :class:`.agents.Agents` (transfer, or a callback).

``deadline`` is the monotonic time by which Rasa must have answered; the
caller of :meth:`CallDialogue.run` keeps its own margin to save the answer.
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Callable

from sqlalchemy.exc import SQLAlchemyError

from bot import metrics
from bot.contract import SecureOutcome, parse_intent_payload, secure_step_outcome
from bot.flows import Menu, MenuItem
from bot.flows.voice import VoiceFlow
from bot.gateway.rasa import AssistantUnavailable, RasaClient
from bot.gateway.voice.agents import Agents, callback_phone
from bot.gateway.voice.policy import PolicyAnswers
from bot.gateway.voice.readout import Part, digits_words
from bot.gateway.voice.render import MAX_BUTTON_KEYS, Prompter, Reply, Speaker, read_reply
from bot.gateway.voice.security import identifier_seal, throttled_words
from bot.gateway.voice.sms import SmsSender
from bot.gateway.voice.store import CallState
from bot.gateway.voice.twiml import (
    KEY_MODES,
    KEYPAD_MODES,
    MODE_BUTTONS,
    MODE_CALLBACK_NUMBER,
    MODE_ENDED,
    MODE_FREE,
    MODE_IDLE,
    MODE_KEYPAD_ANSWER,
    MODE_MENU,
    MODE_POLICY_MATERIALS,
    MODE_POLICY_NUMBER,
    MODE_POLICY_OFFER,
    MODE_SECURE_IDENTIFIER,
    MODE_SECURE_PASSWORD,
    MODE_TRANSFER,
    POLICY_MODES,
    SECURE_MODES,
)
from bot.gateway.voice.webhook import Params
from bot.records.throttle import call_sources
from bot.records.verification import verify_identity
from bot.records.clock import utc_now
from bot.records.db import session_scope
from bot.records.identifiers import classify_identifier
from bot.secrets_guard import spoken_secret
from bot.settings import Settings

logger = logging.getLogger("bot.gateway.voice")

KEYS = re.compile(r"^[0-9*#]{1,40}$")

KeyHandler = Callable[[CallState, str, float], str]


@dataclass(frozen=True)
class Endpoint:
    """A webhook: what it does, and in which modes of the call it is expected."""

    run: Callable[[CallState, Params, float], str]
    expected_in: Callable[[str], bool]


class CallDialogue:
    """Menus, keys, the assistant and the secure step, for every call."""

    def __init__(self, settings: Settings, flow: VoiceFlow, menus: dict[str, Menu],
                 speaker: Speaker, prompter: Prompter, agents: Agents, rasa: RasaClient,
                 sms: SmsSender) -> None:
        self.settings = settings
        self.flow = flow
        self.menus = menus
        self.speaker = speaker
        self.prompter = prompter
        self.agents = agents
        self.rasa = rasa
        self.sms = sms
        self.seal = identifier_seal(settings.secret_key)
        self.policy = PolicyAnswers(settings, flow, speaker, prompter, sms, self._no_match)
        ended = {MODE_TRANSFER, MODE_ENDED}
        self.endpoints: dict[str, Endpoint] = {
            "incoming": Endpoint(self._incoming, lambda mode: True),
            "turn": Endpoint(self._turn, lambda mode: mode not in SECURE_MODES | ended),
            "secure": Endpoint(self._secure, lambda mode: mode in SECURE_MODES),
            "noinput": Endpoint(self._no_input, lambda mode: mode not in ended),
            "dial": Endpoint(self._dial_done, lambda mode: mode == MODE_TRANSFER),
        }
        keys = flow.keys
        self.keys_anywhere: dict[str, KeyHandler] = {
            keys.repeat: self._repeat_key,
            keys.person: self._person_key,
        }
        self.keys_at_menus: dict[str, KeyHandler] = {keys.main_menu: self._main_menu_key}
        self.keys_by_mode: dict[str, KeyHandler] = {
            MODE_MENU: self._menu_key,
            MODE_IDLE: self._idle_key,
            MODE_BUTTONS: self._button_key,
            MODE_FREE: self._answer_key,
            MODE_KEYPAD_ANSWER: self._answer_key,
            MODE_CALLBACK_NUMBER: self._callback_number_key,
            MODE_POLICY_OFFER: self.policy.offer_key,
            MODE_POLICY_MATERIALS: self.policy.materials_key,
            MODE_POLICY_NUMBER: self.policy.number_key,
        }
        self.secure_keys_anywhere: dict[str, KeyHandler] = {
            keys.repeat: self._repeat_key,
            keys.person: self._secure_person_key,
        }
        self.secure_keys_by_mode: dict[str, KeyHandler] = {
            MODE_SECURE_IDENTIFIER: self._identifier_key,
            MODE_SECURE_PASSWORD: self._password_key,
        }

    # -------------------------------------------------------------- endpoints

    def expects(self, endpoint: str, mode: str) -> bool:
        """Whether ``endpoint`` is the webhook the call's prompt in ``mode`` leads to."""
        known = self.endpoints.get(endpoint)
        return known is None or known.expected_in(mode)

    def run(self, endpoint: str, state: CallState, params: Params, deadline: float) -> str:
        """Run a webhook the call expects; returns its TwiML. Raises on failures."""
        known = self.endpoints.get(endpoint)
        if known is None:
            raise ValueError(f"unknown voice endpoint {endpoint!r}")
        return known.run(state, params, deadline)

    def current_prompt(self, state: CallState) -> str:
        """The prompt the caller is at, said again (stale or unexpected webhook)."""
        if state.mode in (MODE_TRANSFER, MODE_ENDED):
            return self.prompter.twiml.end([])
        if not state.speech:  # a call the gateway had not seen: start it properly
            return self._menu(state, "main", lead=self.speaker.prompt("greeting"))
        return self.prompter.again(state)

    def _incoming(self, state: CallState, params: Params, deadline: float) -> str:
        return self._menu(state, "main", lead=self.speaker.prompt("greeting"))

    def _turn(self, state: CallState, params: Params, deadline: float) -> str:
        digits, speech = params.digits, params.speech
        if digits:
            if not KEYS.fullmatch(digits):
                return self._no_match(state, deadline)
            handler = (self.keys_anywhere.get(digits)
                       or (self.keys_at_menus.get(digits) if state.mode in KEY_MODES else None)
                       or self.keys_by_mode.get(state.mode, self._unexpected_key))
            return handler(state, digits, deadline)
        if speech is not None and state.mode not in KEYPAD_MODES:
            said = speech.strip()
            if not said:
                return self._no_match(state, deadline)
            if len(said) > self.flow.listen.max_speech_chars:
                return self._no_match(state, deadline, lead=self.speaker.prompt("speech_too_long"))
            if spoken_secret(said):  # Rasa's tracker would keep it: the keypad is for it
                logger.info("voice call=…%s: speech like a secret kept back", state.call_sid[-6:])
                lead = self.speaker.prompt("secret_in_speech") + state.reprompt
                return self.prompter.listen(state, lead, state.mode, state.reprompt)
            return self._ask(state, deadline, text=said)
        return self._no_match(state, deadline)

    def _secure(self, state: CallState, params: Params, deadline: float) -> str:
        digits = params.digits or ""
        handler = (self.secure_keys_anywhere.get(digits)
                   or self.secure_keys_by_mode.get(state.mode, self._password_key))
        return handler(state, digits, deadline)

    def _no_input(self, state: CallState, params: Params, deadline: float) -> str:
        if state.mode in POLICY_MODES:  # no fault: the caller heard a complete answer
            return self.policy.silence(state)
        state.no_input += 1
        if state.no_input > self.flow.no_input.reprompts:
            return self.agents.escalate(state, reason="no_input", end_after_callback=True)
        still_there = self.speaker.say(self.flow.no_input.prompt)
        return self.prompter.listen(state, still_there + state.reprompt, state.mode, state.reprompt)

    def _dial_done(self, state: CallState, params: Params, deadline: float) -> str:
        return self.agents.dial_done(state, params.dial_status)

    # ------------------------------------------------------------------ keys

    def _repeat_key(self, state: CallState, digits: str, deadline: float) -> str:
        return self.prompter.listen(state, state.speech, state.mode, state.reprompt)

    def _person_key(self, state: CallState, digits: str, deadline: float) -> str:
        return self._ask_for_person(state, deadline)

    def _main_menu_key(self, state: CallState, digits: str, deadline: float) -> str:
        return self._menu(state, "main")

    def _menu_key(self, state: CallState, digits: str, deadline: float) -> str:
        item = self.menus[state.menu or "main"].item(digits)
        return self._menu_item(state, item, deadline) if item else self._no_match(state, deadline)

    def _idle_key(self, state: CallState, digits: str, deadline: float) -> str:
        """After an answer, keys belong to the menu the caller last used."""
        item = self.menus.get(state.menu or "main", self.menus["main"]).item(digits)
        return self._menu_item(state, item, deadline) if item else self._no_match(state, deadline)

    def _button_key(self, state: CallState, digits: str, deadline: float) -> str:
        index = int(digits) - 1 if digits.isdigit() else -1
        if not 0 <= index < min(len(state.buttons), MAX_BUTTON_KEYS):
            return self._no_match(state, deadline)
        payload = str(state.buttons[index].get("payload") or state.buttons[index].get("title") or "")
        try:
            parsed = parse_intent_payload(payload)
        except ValueError as exc:  # said as text: Rasa's channel strips the leading "/"
            logger.warning("voice call=…%s: button payload refused: %s", state.call_sid[-6:], exc)
            parsed = None
        if parsed is not None:  # an intent payload written in the domain, not typed by a caller
            intent, entities = parsed
            return self._ask(state, deadline, intent=intent, entities=entities)
        return self._ask(state, deadline, text=payload)

    def _answer_key(self, state: CallState, digits: str, deadline: float) -> str:
        """Digits ending with # as the answer to the assistant's question."""
        answer = digits.rstrip("#")
        if not answer.isdigit():
            return self._no_match(state, deadline)
        return self._ask(state, deadline, text=answer)

    def _callback_number_key(self, state: CallState, digits: str, deadline: float) -> str:
        return self.agents.callback_number(state, digits)

    def _unexpected_key(self, state: CallState, digits: str, deadline: float) -> str:
        return self._no_match(state, deadline)

    def _menu_item(self, state: CallState, item: MenuItem, deadline: float) -> str:
        if item.submenu:
            return self._menu(state, item.submenu)
        if item.handover:
            return self._ask_for_person(state, deadline)
        if item.intent:
            return self._ask(state, deadline, intent=item.intent)
        return self._ask(state, deadline, text=item.text or item.label)

    # ------------------------------------------------------------- listening

    def _menu(self, state: CallState, name: str, lead: list[Part] | None = None) -> str:
        listing = self.speaker.menu(self.menus[name])
        state.menu = name
        state.buttons, state.policy = [], {}
        return self.prompter.listen(state, (lead or []) + listing, MODE_MENU, listing)

    def _no_match(self, state: CallState, deadline: float, lead: list[Part] | None = None) -> str:
        state.no_match += 1
        if state.no_match > self.flow.no_match.reprompts:
            return self.agents.escalate(state, reason="no_match")
        lead = lead if lead is not None else self.speaker.say(self.flow.no_match.prompt)
        return self.prompter.listen(state, lead + state.reprompt, state.mode, state.reprompt)

    # ---------------------------------------------------------- the assistant

    def _ask(self, state: CallState, deadline: float, *, text: str | None = None,
             intent: str | None = None, entities: dict[str, str] | None = None,
             outcome: SecureOutcome | None = None) -> str:
        state.no_match = state.no_input = 0
        state.policy = {}
        timeout = deadline - time.monotonic()
        metadata: dict[str, str] = {}  # the caller's number stays here, out of the tracker
        try:
            if outcome is not None:
                state.intents.append(outcome.intent)
                messages = self.rasa.send_outcome(state.call_sid, outcome,
                                                  metadata=metadata, timeout=timeout)
            elif intent is not None:
                state.intents.append(intent)
                messages = self.rasa.send_intent(state.call_sid, intent, entities,
                                                 metadata=metadata, timeout=timeout)
            else:
                messages = self.rasa.send_text(state.call_sid, text or "", metadata=metadata,
                                               timeout=timeout)
        except AssistantUnavailable as exc:
            logger.warning("voice call=…%s: %s", state.call_sid[-6:], exc)
            return self.agents.system_error(state)
        reply = read_reply(messages, self.speaker, lambda ticket: self._ticket_sms(state, ticket))
        return self._follow(state, reply, deadline)

    def _follow(self, state: CallState, reply: Reply, deadline: float) -> str:
        """Say the reply, then do what it asks: a person, the end, the secure step, a question."""
        if reply.handover:
            return self.agents.person(state, reason="requested", lead=reply.parts,
                                      assistant_text=reply.handover_text)
        if reply.end:
            state.ended_by_assistant = True
            return self.prompter.end(state, reply.parts)
        if reply.secure:
            if state.secure_failures >= self.flow.secure.max_failures_per_call:
                tail = self.speaker.say(self.flow.secure.too_many_failures)
                state.answered = True
                return self.prompter.listen(state, reply.parts + tail, MODE_IDLE, tail)
            state.sealed_identifier, state.secure_retries = None, 0
            ask = self.speaker.say(self.flow.secure.identifier_prompt)
            return self.prompter.listen(state, reply.parts + ask, MODE_SECURE_IDENTIFIER, ask)
        if reply.buttons:
            choices = self.speaker.choices(reply.buttons)
            state.buttons = reply.buttons
            return self.prompter.listen(state, reply.parts + choices, MODE_BUTTONS,
                                        reply.last_parts + choices)
        state.buttons = []
        if reply.keypad_input:
            return self.prompter.listen(state, reply.parts, MODE_KEYPAD_ANSWER, reply.last_parts)
        if reply.free_input:
            return self.prompter.listen(state, reply.parts, MODE_FREE, reply.last_parts)
        if reply.policy is not None:
            return self.policy.offer(state, reply.parts, reply.policy)
        state.answered = True
        hint = self.speaker.prompt("idle_hint")
        return self.prompter.listen(state, reply.parts + hint, MODE_IDLE, hint)

    def _ticket_sms(self, state: CallState, ticket_id: str) -> list[Part]:
        try:
            with self.db() as session:
                message = self.sms.queue_complaint_ticket(
                    session, ticket_id=ticket_id, caller_number=callback_phone(state.from_number),
                    call_sid=state.call_sid, now=utc_now())
                message_id = message.id if message is not None else None
                to_number = message.to_number if message is not None else None
        except SQLAlchemyError:
            logger.exception("SMS for complaint %s could not be queued", ticket_id)
            return []
        if message_id is None or to_number is None:
            return []
        self.sms.deliver_later(message_id)
        return self.speaker.prompt("sms_sent", tail=digits_words(to_number[-4:]))

    # ----------------------------------------------------------- secure step

    def _secure_person_key(self, state: CallState, digits: str, deadline: float) -> str:
        state.sealed_identifier = None
        return self._ask_for_person(state, deadline)

    def _identifier_key(self, state: CallState, digits: str, deadline: float) -> str:
        candidate = digits.replace("*", "X")
        kind, normalized = (classify_identifier(candidate)
                            if re.fullmatch(r"[0-9X]{1,30}", candidate) else (None, ""))
        if kind is None:
            return self._secure_retry(state, deadline, self.flow.secure.identifier_invalid)
        state.sealed_identifier = self.seal.seal(normalized, state.call_sid)
        state.secure_retries = 0
        ask = self.speaker.say(self.flow.secure.password_prompt)
        return self.prompter.listen(state, ask, MODE_SECURE_PASSWORD, ask)

    def _password_key(self, state: CallState, digits: str, deadline: float) -> str:
        secure = self.flow.secure
        if not re.fullmatch(r"[0-9]{6}", digits):
            return self._secure_retry(state, deadline, secure.password_invalid)
        identifier = self.seal.open(state.sealed_identifier, state.call_sid)
        state.sealed_identifier = None
        if identifier is None:
            ask = self.speaker.say(secure.identifier_prompt)
            return self.prompter.listen(state, ask, MODE_SECURE_IDENTIFIER, ask)
        with self.db() as session:
            result = verify_identity(session, identifier, digits, channel="voice",
                                     conversation_id=state.call_sid, settings=self.settings,
                                     now=utc_now(),
                                     sources=call_sources(state.from_number, state.call_sid))
        metrics.verified("voice", result.ok, result.reason)
        if result.reason == "throttled":  # this number failed too often: Rasa hears nothing
            tail = self.speaker.say(throttled_words(secure, result.retry_after_seconds or 60))
            state.answered = True
            return self.prompter.listen(state, tail, MODE_IDLE, tail)
        if result.locked_account_id is not None:  # this attempt locked it: tell the owner
            self.sms.send_account_locked(result.locked_account_id)
        if result.ok:
            state.masked_account = result.masked_account
        else:
            state.secure_failures += 1
        return self._ask(state, deadline, outcome=secure_step_outcome(result))

    def _secure_retry(self, state: CallState, deadline: float, prompt: str) -> str:
        state.secure_retries += 1
        if state.secure_retries > self.flow.secure.retries:
            state.sealed_identifier = None
            return self.agents.escalate(state, reason="secure_step_failed")
        again = self.speaker.say(prompt)
        return self.prompter.listen(state, again, state.mode, again)

    # --------------------------------------------------------------- a person

    def _ask_for_person(self, state: CallState, deadline: float) -> str:
        """The caller asked for a person: in agent hours the assistant records the
        hand-over with its context (reason, intent path, masked account) and
        answers with a hand-over message; outside them, a callback."""
        if self.agents.are_open():
            return self._ask(state, deadline, intent="human_agent")
        return self.agents.after_hours(state, reason="requested")

    def db(self):  # noqa: ANN201 - a context manager
        return session_scope(self.settings.database_url)
