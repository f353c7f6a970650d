"""The phone call: what the caller hears next, given what they pressed or said.

:class:`VoiceService` is built once per gateway (:func:`bot.gateway.voice.init_app`)
from ``flows/`` and the settings. :meth:`VoiceService.handle` runs one Twilio
webhook:

1. a CallSid that cannot be Twilio's gets a spoken apology and the end of the call;
2. the call's state is loaded (an unknown CallSid starts a call afresh) and the
   turn claimed under its key (endpoint + turn number): a retried webhook gets
   the TwiML already answered, a stale one hears the current prompt again, and
   nothing runs twice;
3. the turn runs with no database transaction open (Rasa's actions write to
   the same database) and within the turn deadline;
4. state and answer are saved together.

Whatever fails (Rasa, the actions, the database), the caller hears an apology
and is transferred to a person, or outside agent hours gets a callback.
"""
from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from bot.flows import AgentHours, Menu, MenuItem
from bot.flows_voice import VoiceFlow
from bot.gateway.voice import store
from bot.gateway.voice.rasa_client import RasaUnavailable, RasaVoiceClient
from bot.gateway.voice.readout import Part, digits_words, hours_phrase, speakable
from bot.gateway.voice.security import IdentifierSeal, describe_input
from bot.gateway.voice.sms import SmsSender
from bot.gateway.voice.store import CallState
from bot.gateway.voice.twiml import (
    KEY_MODES,
    MODE_BUTTONS,
    MODE_CALLBACK_NUMBER,
    MODE_ENDED,
    MODE_FREE,
    MODE_IDLE,
    MODE_MENU,
    MODE_SECURE_IDENTIFIER,
    MODE_SECURE_PASSWORD,
    MODE_TRANSFER,
    SECURE_MODES,
    Twiml,
)
from bot.records import handovers
from bot.records.clock import utc_now
from bot.records.db import session_scope
from bot.records.identifiers import classify_identifier, normalize_phone
from bot.records.verification import verify_identity
from bot.settings import Settings

logger = logging.getLogger("bot.gateway.voice")

CALL_SID = re.compile(r"^CA[0-9a-f]{32}$")
KEYS = re.compile(r"^[0-9*#]{1,40}$")
SAFETY_MARGIN_S = 0.3          # kept back from the deadline to write the answer
WAIT_POLL_S = 0.1
MAX_BUTTON_KEYS = 9
DIAL_DONE = {"completed", "answered"}


@dataclass(frozen=True)
class Params:
    """What a Twilio webhook tells us (form fields and the turn number)."""

    call_sid: str
    turn: int | None = None
    from_number: str | None = None
    to_number: str | None = None
    digits: str | None = None
    speech: str | None = None
    dial_status: str | None = None
    call_status: str | None = None
    duration: int | None = None

    @classmethod
    def from_request(cls, form: Any, args: Any) -> "Params":
        def text(name: str, limit: int = 64) -> str | None:
            value = form.get(name)
            return value[:limit] if isinstance(value, str) else None

        turn_raw, duration_raw = args.get("t", ""), form.get("CallDuration", "")
        return cls(
            call_sid=(form.get("CallSid") or "")[:64],
            turn=int(turn_raw) if turn_raw.isdigit() and len(turn_raw) < 7 else None,
            from_number=text("From"),
            to_number=text("To"),
            digits=text("Digits"),
            speech=form.get("SpeechResult") if isinstance(form.get("SpeechResult"), str) else None,
            dial_status=text("DialCallStatus", 20),
            call_status=text("CallStatus", 20),
            duration=int(duration_raw) if duration_raw.isdigit() and len(duration_raw) < 7 else None,
        )


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


class VoiceService:
    """Everything the voice webhooks need, built once at gateway start."""

    def __init__(self, settings: Settings, flow: VoiceFlow, menus: dict[str, Menu],
                 hours: AgentHours, rasa: RasaVoiceClient | None = None,
                 sms: SmsSender | None = None) -> None:
        self.settings = settings
        self.flow = flow
        self.menus = menus
        self.hours = hours
        target = settings.agent_transfer_target or hours.transfer_target
        self.twiml = Twiml(flow, target)
        self.rasa = rasa or RasaVoiceClient(settings.rasa_url, settings.gateway_channel_secret)
        self.sms = sms or SmsSender(settings, flow.sms)
        self.seal = IdentifierSeal(settings.secret_key)
        self.deadline_s = settings.voice_turn_deadline_ms / 1000
        self.hours_words = hours_phrase(hours.periods)

    # ------------------------------------------------------------- utilities

    @staticmethod
    def now() -> datetime:
        return utc_now()

    @staticmethod
    def agents_clock() -> datetime:
        """The time agent hours are judged by (``VOICE_CLOCK`` in tests and demos)."""
        clock: Callable[[], datetime] | None = current_app.config.get("VOICE_CLOCK")
        return clock() if clock else utc_now()

    def say(self, text: str) -> list[Part]:
        readout = self.flow.readout
        return speakable(text, masked_number=readout.masked_number, url_word=readout.url,
                         pause_ms=readout.digit_group_pause_ms)

    def prompt(self, name: str, **values: str) -> list[Part]:
        return self.say(self.flow.prompt(name, **values))

    def agents_open(self) -> bool:
        try:
            return self.hours.is_open(self.agents_clock())
        except Exception:  # noqa: BLE001 - a calendar problem must not drop the caller
            logger.exception("agent hours could not be evaluated; assuming agents are at work")
            return True

    def db(self):  # noqa: ANN201 - a context manager
        return session_scope(self.settings.database_url)

    # ------------------------------------------------------------ the webhook

    def handle(self, endpoint: str, params: Params) -> str:
        """Run one webhook and return its TwiML. Never raises."""
        started = time.monotonic()
        deadline = started + self.deadline_s
        if not CALL_SID.fullmatch(params.call_sid):
            logger.warning("voice %s: malformed or missing CallSid; ending the call", endpoint)
            return self.twiml.end(self.prompt("bad_request"))
        if endpoint == "status":
            return self._status(params)
        key = "incoming" if endpoint == "incoming" else f"{endpoint}:{params.turn}"
        now = self.now()
        try:
            with self.db() as session:
                state = store.load_state(session, params.call_sid)
                if state is None:
                    state = store.start_call(session, params.call_sid, from_number=params.from_number,
                                             to_number=params.to_number, now=now)
                    if endpoint == "incoming":
                        store.purge_stale(session, now=now)
                done = store.find_turn(session, params.call_sid, key)
                answered_before = done.twiml if done is not None and done.twiml else None
                fresh = done is None and (
                    state.is_new if endpoint == "incoming"
                    else (not state.is_new and params.turn == state.turn
                          and self._endpoint_fits(endpoint, state.mode))
                )
                claimed = fresh and store.claim_turn(session, params.call_sid, key, now=now)
        except SQLAlchemyError:
            logger.exception("voice %s: the database failed before the turn", endpoint)
            return self._without_database()
        if answered_before is not None:
            logger.info("voice %s call=…%s: retried webhook answered from the turn record",
                        endpoint, params.call_sid[-6:])
            return answered_before
        if done is not None or (fresh and not claimed):
            return self._wait_for(params.call_sid, key, deadline, endpoint, params.turn)

        mode_before = state.mode
        try:
            if fresh:
                state.turns += endpoint != "incoming"  # turns the caller took
                twiml = self._run(endpoint, state, params, deadline)
            else:
                twiml = self._current_prompt(state)
        except Exception:  # noqa: BLE001 - the caller must hear something
            logger.exception("voice %s call=…%s: turn failed", endpoint, params.call_sid[-6:])
            twiml = self._system_error(state)
        try:
            with self.db() as session:
                store.save_state(session, state, now=self.now())
                if fresh:
                    store.finish_turn(session, params.call_sid, key, twiml, now=self.now())
        except SQLAlchemyError:
            logger.exception("voice %s: the call state could not be saved", endpoint)
        logger.info(
            "voice %s call=…%s t=%s mode=%s->%s %s %s %.0fms", endpoint, params.call_sid[-6:],
            params.turn, mode_before, state.mode,
            describe_input(params.digits, params.speech,
                           reveal_keys=mode_before in KEY_MODES and endpoint == "turn"),
            "fresh" if fresh else "stale", (time.monotonic() - started) * 1000,
        )
        return twiml

    @staticmethod
    def _endpoint_fits(endpoint: str, mode: str) -> bool:
        if endpoint == "secure":
            return mode in SECURE_MODES
        if endpoint == "turn":
            return mode not in SECURE_MODES | {MODE_TRANSFER, MODE_ENDED}
        if endpoint == "noinput":
            return mode not in {MODE_TRANSFER, MODE_ENDED}
        if endpoint == "dial":
            return mode == MODE_TRANSFER
        return True

    def _run(self, endpoint: str, state: CallState, params: Params, deadline: float) -> str:
        if endpoint == "incoming":
            return self._menu(state, "main", lead=self.prompt("greeting"))
        if endpoint == "turn":
            return self._turn(state, params, deadline)
        if endpoint == "secure":
            return self._secure(state, params, deadline)
        if endpoint == "noinput":
            return self._no_input(state, deadline)
        if endpoint == "dial":
            return self._dial_done(state, params)
        raise ValueError(f"unknown voice endpoint {endpoint!r}")

    def _wait_for(self, call_sid: str, key: str, deadline: float, endpoint: str,
                  turn: int | None) -> str:
        """A copy of this webhook is being handled: wait for its answer, briefly."""
        while time.monotonic() < deadline - SAFETY_MARGIN_S:
            time.sleep(WAIT_POLL_S)
            try:
                with self.db() as session:
                    row = store.find_turn(session, call_sid, key)
                    if row is not None and row.twiml:
                        return row.twiml
            except SQLAlchemyError:
                break
        return self.twiml.wait(self.prompt("busy_wait"), f"{endpoint}?t={turn}")

    # ------------------------------------------------------------- listening

    def _listen(self, state: CallState, parts: list[Part], mode: str,
                reprompt: list[Part] | None = None) -> str:
        state.turn += 1
        state.mode = mode
        state.speech = list(parts)
        state.reprompt = list(reprompt if reprompt is not None else parts)
        return self._render(state)

    def _render(self, state: CallState) -> str:
        endpoint = "secure" if state.mode in SECURE_MODES else "turn"
        return self.twiml.listen(state.speech, mode=state.mode,
                                 action=f"{endpoint}?t={state.turn}",
                                 no_input_url=f"noinput?t={state.turn}")

    def _current_prompt(self, state: CallState) -> str:
        """The prompt the caller is at, said again (stale or unexpected webhook)."""
        if state.mode in (MODE_TRANSFER, MODE_ENDED):
            return self.twiml.end([])
        if not state.speech:  # a call the gateway had not seen: start it properly
            return self._menu(state, "main", lead=self.prompt("greeting"))
        return self._render(state)

    def _menu(self, state: CallState, name: str, lead: list[Part] | None = None) -> str:
        menu = self.menus[name]
        listing = self.say(menu.prompt) + self.say("，".join(i.speech for i in menu.items) + "。")
        if name == "main":
            listing += self.prompt("speech_hint")
        listing += self.prompt("menu_suffix")
        state.menu = name
        state.buttons = []
        return self._listen(state, (lead or []) + listing, MODE_MENU, listing)

    def _repeat(self, state: CallState) -> str:
        return self._listen(state, state.speech, state.mode, state.reprompt)

    # ------------------------------------------------------------ the caller

    def _turn(self, state: CallState, params: Params, deadline: float) -> str:
        keys = self.flow.keys
        digits, speech = params.digits, params.speech
        if digits:
            if not KEYS.fullmatch(digits):
                return self._no_match(state, deadline)
            if digits == keys.repeat:
                return self._repeat(state)
            if digits == keys.person:
                return self._person(state, deadline, reason="requested", ask_assistant=True)
            if state.mode == MODE_CALLBACK_NUMBER:
                return self._callback_number(state, digits)
            if state.mode in KEY_MODES and digits == keys.main_menu:
                return self._menu(state, "main")
            if state.mode == MODE_MENU:
                item = self.menus[state.menu or "main"].item(digits)
                return self._menu_item(state, item, deadline) if item else self._no_match(state, deadline)
            if state.mode == MODE_IDLE:  # the keys of the menu the caller last used
                item = self.menus.get(state.menu or "main", self.menus["main"]).item(digits)
                return self._menu_item(state, item, deadline) if item else self._no_match(state, deadline)
            if state.mode == MODE_BUTTONS:
                index = int(digits) - 1 if digits.isdigit() else -1
                if not 0 <= index < min(len(state.buttons), MAX_BUTTON_KEYS):
                    return self._no_match(state, deadline)
                return self._button(state, state.buttons[index], deadline)
            if state.mode == MODE_FREE:
                answer = digits.rstrip("#")
                if not answer.isdigit():
                    return self._no_match(state, deadline)
                return self._ask(state, deadline, text=answer)
            return self._no_match(state, deadline)
        if speech is not None and state.mode != MODE_CALLBACK_NUMBER:
            said = speech.strip()
            if not said:
                return self._no_match(state, deadline)
            if len(said) > self.flow.listen.max_speech_chars:
                return self._no_match(state, deadline, lead=self.prompt("speech_too_long"))
            return self._ask(state, deadline, text=said)
        return self._no_match(state, deadline)

    def _menu_item(self, state: CallState, item: MenuItem, deadline: float) -> str:
        if item.submenu:
            return self._menu(state, item.submenu)
        if item.handover:
            return self._person(state, deadline, reason="requested", ask_assistant=True)
        if item.intent:
            return self._ask(state, deadline, intent=item.intent)
        return self._ask(state, deadline, text=item.text or item.label)

    def _button(self, state: CallState, button: dict[str, str], deadline: float) -> str:
        payload = str(button.get("payload") or button.get("title") or "")
        match = re.fullmatch(r"/([A-Za-z_][\w]*)(\{.*\})?", payload)
        if match:  # an intent payload written in the domain, not typed by a caller
            try:
                entities = json.loads(match.group(2)) if match.group(2) else {}
                entities = {str(k): str(v) for k, v in entities.items()}
            except (ValueError, AttributeError):
                entities = None
            if entities is not None:
                return self._ask(state, deadline, intent=match.group(1), entities=entities)
        return self._ask(state, deadline, text=payload)

    def _no_match(self, state: CallState, deadline: float, lead: list[Part] | None = None) -> str:
        state.no_match += 1
        if state.no_match > self.flow.no_match.reprompts:
            return self._escalate(state, deadline, reason="no_match")
        lead = lead if lead is not None else self.say(self.flow.no_match.prompt)
        return self._listen(state, lead + state.reprompt, state.mode, state.reprompt)

    def _no_input(self, state: CallState, deadline: float) -> str:
        state.no_input += 1
        if state.no_input > self.flow.no_input.reprompts:
            return self._escalate(state, deadline, reason="no_input", end_after_callback=True)
        return self._listen(state, self.say(self.flow.no_input.prompt) + state.reprompt,
                            state.mode, state.reprompt)

    # ------------------------------------------------------------ the assistant

    def _ask(self, state: CallState, deadline: float, *, text: str | None = None,
             intent: str | None = None, entities: dict[str, str] | None = None) -> str:
        state.no_match = state.no_input = 0
        timeout = deadline - time.monotonic() - SAFETY_MARGIN_S
        metadata = {"caller_number": state.from_number} if state.from_number else {}
        try:
            if intent is not None:
                state.intents.append(intent)
                messages = self.rasa.send_intent(state.call_sid, intent, entities,
                                                 metadata=metadata, timeout=timeout)
            else:
                messages = self.rasa.send_text(state.call_sid, text or "", metadata=metadata,
                                               timeout=timeout)
        except RasaUnavailable as exc:
            logger.warning("voice call=…%s: %s", state.call_sid[-6:], exc)
            return self._system_error(state)
        return self._speak_reply(state, messages, deadline)

    def _speak_reply(self, state: CallState, messages: list[dict[str, Any]], deadline: float) -> str:
        rules = self.flow.responses
        parts: list[Part] = []
        last_parts: list[Part] = []
        buttons: list[dict[str, str]] = []
        last_response: str | None = None
        secure = handover = end = False
        handover_text = ""
        for message in messages:
            custom = message.get("custom") if isinstance(message.get("custom"), dict) else {}
            response = message.get("response") if isinstance(message.get("response"), str) else None
            text = message.get("text") if isinstance(message.get("text"), str) else ""
            if custom.get("secure_input"):
                secure = True  # the phone's own keypad prompt replaces the screen text
                continue
            if custom.get("handover"):
                handover, handover_text = True, text
                continue
            if text:
                last_parts = self.say(text)
                parts += last_parts
            if custom.get("complaint_ticket"):
                parts += self._ticket_sms(state, str(custom["complaint_ticket"]))
            if isinstance(message.get("buttons"), list) and message["buttons"]:
                buttons = [b for b in message["buttons"] if isinstance(b, dict)][:MAX_BUTTON_KEYS]
            if response in rules.end_call:
                end = True
            last_response = response or last_response

        if handover:
            return self._person(state, deadline, reason="requested", lead=parts,
                                assistant_text=handover_text)
        if end:
            state.ended_by_assistant = True
            state.mode = MODE_ENDED
            return self.twiml.end(parts)
        if secure:
            if state.secure_failures >= self.flow.secure.max_failures_per_call:
                tail = self.say(self.flow.secure.too_many_failures)
                state.answered = True
                return self._listen(state, parts + tail, MODE_IDLE, tail)
            state.sealed_identifier, state.secure_retries = None, 0
            ask = self.say(self.flow.secure.identifier_prompt)
            return self._listen(state, parts + ask, MODE_SECURE_IDENTIFIER, ask)
        if buttons:
            choices = self._choices(buttons)
            state.buttons = buttons
            return self._listen(state, parts + choices, MODE_BUTTONS, last_parts + choices)
        state.buttons = []
        if rules.is_free_input(last_response):
            return self._listen(state, parts, MODE_FREE, last_parts)
        state.answered = True
        hint = self.prompt("idle_hint")
        return self._listen(state, parts + hint, MODE_IDLE, hint)

    def _choices(self, buttons: list[dict[str, str]]) -> list[Part]:
        phrases = []
        for key, button in enumerate(buttons, start=1):
            label = str(button.get("title") or button.get("payload") or "").strip()
            payload = str(button.get("payload") or "")
            for prefix in (f"{key} ", f"{payload} "):  # "1 非常满意" is read "非常满意请按1"
                if payload and label.startswith(prefix):
                    label = label[len(prefix):].strip()
            phrases.append(self.flow.prompt("button_choice", label=label, key=str(key)))
        return self.say("，".join(phrases) + "。")

    def _ticket_sms(self, state: CallState, ticket_id: str) -> list[Part]:
        try:
            with self.db() as session:
                message = self.sms.queue_complaint_ticket(
                    session, ticket_id=ticket_id, caller_number=callback_phone(state.from_number),
                    call_sid=state.call_sid, now=self.now())
                message_id = message.id if message is not None else None
                to_number = message.to_number if message is not None else None
        except SQLAlchemyError:
            logger.exception("SMS for complaint %s could not be queued", ticket_id)
            return []
        if message_id is None or to_number is None:
            return []
        self.sms.deliver_later(message_id)
        return self.prompt("sms_sent", tail=digits_words(to_number[-4:]))

    # ------------------------------------------------------------ secure step

    def _secure(self, state: CallState, params: Params, deadline: float) -> str:
        keys, secure = self.flow.keys, self.flow.secure
        digits = params.digits or ""
        if digits == keys.repeat:
            return self._repeat(state)
        if digits == keys.person:
            state.sealed_identifier = None
            return self._person(state, deadline, reason="requested", ask_assistant=True)
        if state.mode == MODE_SECURE_IDENTIFIER:
            candidate = digits.replace("*", "X")
            kind, normalized = (classify_identifier(candidate)
                                if re.fullmatch(r"[0-9X]{1,30}", candidate) else (None, ""))
            if kind is None:
                return self._secure_retry(state, deadline, secure.identifier_invalid)
            state.sealed_identifier = self.seal.seal(normalized, state.call_sid)
            state.secure_retries = 0
            ask = self.say(secure.password_prompt)
            return self._listen(state, ask, MODE_SECURE_PASSWORD, ask)
        # MODE_SECURE_PASSWORD
        if not re.fullmatch(r"[0-9]{6}", digits):
            return self._secure_retry(state, deadline, secure.password_invalid)
        identifier = self.seal.open(state.sealed_identifier, state.call_sid)
        state.sealed_identifier = None
        if identifier is None:
            ask = self.say(secure.identifier_prompt)
            return self._listen(state, ask, MODE_SECURE_IDENTIFIER, ask)
        with self.db() as session:
            result = verify_identity(session, identifier, digits, channel="voice",
                                     conversation_id=state.call_sid, settings=self.settings,
                                     now=self.now())
        if result.ok:
            state.masked_account = result.masked_account
            return self._ask(state, deadline, intent="authenticated",
                             entities={"auth_token": result.token or ""})
        state.secure_failures += 1
        entities = {"reason": str(result.reason)}
        if result.remaining_attempts is not None:
            entities["remaining"] = str(result.remaining_attempts)
        if result.reason == "mismatch" and result.remaining_attempts == 0:
            # The failure just recorded locks the account: say so now.
            entities = {"reason": "locked", "remaining": "0"}
        return self._ask(state, deadline, intent="authentication_failed", entities=entities)

    def _secure_retry(self, state: CallState, deadline: float, prompt: str) -> str:
        state.secure_retries += 1
        if state.secure_retries > self.flow.secure.retries:
            state.sealed_identifier = None
            return self._escalate(state, deadline, reason="secure_step_failed")
        return self._listen(state, self.say(prompt), state.mode, self.say(prompt))

    # ------------------------------------------------------------ a person

    def _escalate(self, state: CallState, deadline: float, *, reason: str,
                  end_after_callback: bool = False) -> str:
        """The gateway gives up (silence, misses): a person, or a callback."""
        state.no_match = state.no_input = 0
        return self._person(state, deadline, reason=reason, end_after_callback=end_after_callback)

    def _person(self, state: CallState, deadline: float, *, reason: str,
                ask_assistant: bool = False, lead: list[Part] | None = None,
                assistant_text: str | None = None, end_after_callback: bool = False) -> str:
        """Transfer to the agents, or outside their hours record a callback.

        ``ask_assistant``: the caller asked (key 0); during agent hours the
        assistant records the hand-over with its context (reason, intent path,
        masked account) and answers with a hand-over message. ``assistant_text``:
        that message, said before the transfer.
        """
        lead = list(lead or [])
        if self.agents_open():
            if ask_assistant:
                return self._ask(state, deadline, intent="human_agent")
            if assistant_text is None:
                self._record_handover(state, reason)
            words = self.say(assistant_text) if assistant_text else self.prompt("transfer")
            return self._transfer(state, lead + words)
        phone = callback_phone(state.from_number)
        after_hours = self.prompt("after_hours", hours=self.hours_words)
        if phone is None:
            ask = self.prompt("ask_callback_number")
            return self._listen(state, lead + after_hours + ask, MODE_CALLBACK_NUMBER, ask)
        if not self._record_callback(state, phone, f"after_hours:{reason}"):
            return self._end(state, lead + self.prompt("callback_failed", hours=self.hours_words)
                             + self.prompt("goodbye"))
        recorded = lead + after_hours + self.prompt("callback_recorded", tail=digits_words(phone[-4:]))
        if end_after_callback:
            return self._end(state, recorded + self.prompt("goodbye"))
        more = self.prompt("anything_else")
        state.answered = True
        return self._listen(state, recorded + more, MODE_IDLE, more)

    def _callback_number(self, state: CallState, digits: str) -> str:
        phone = normalize_phone(digits.rstrip("#"))
        if phone is None:
            state.no_match += 1
            if state.no_match > 1:
                return self._end(state, self.prompt("callback_failed", hours=self.hours_words)
                                 + self.prompt("goodbye"))
            ask = self.prompt("callback_number_invalid")
            return self._listen(state, ask, MODE_CALLBACK_NUMBER, ask)
        state.no_match = 0
        if not self._record_callback(state, phone, "after_hours:requested"):
            return self._end(state, self.prompt("callback_failed", hours=self.hours_words)
                             + self.prompt("goodbye"))
        more = self.prompt("anything_else")
        state.answered = True
        return self._listen(state, self.prompt("callback_recorded", tail=digits_words(phone[-4:]))
                            + more, MODE_IDLE, more)

    def _transfer(self, state: CallState, parts: list[Part]) -> str:
        state.turn += 1
        state.mode = MODE_TRANSFER
        state.transferred = True
        return self.twiml.transfer(parts, action=f"dial?t={state.turn}")

    def _end(self, state: CallState, parts: list[Part]) -> str:
        state.mode = MODE_ENDED
        return self.twiml.end(parts)

    def _dial_done(self, state: CallState, params: Params) -> str:
        if (params.dial_status or "") in DIAL_DONE:
            return self._end(state, [])
        # No agent answered: the caller is not left waiting.
        state.transferred = False
        busy = self.prompt("agents_busy")
        phone = callback_phone(state.from_number)
        if phone and self._record_callback(state, phone, "agents_busy"):
            more = self.prompt("anything_else")
            state.answered = True
            return self._listen(state, busy + self.prompt("callback_soon", tail=digits_words(phone[-4:]))
                                + more, MODE_IDLE, more)
        return self._end(state, busy + self.prompt("call_again_later") + self.prompt("goodbye"))

    def _record_handover(self, state: CallState, reason: str) -> None:
        try:
            with self.db() as session:
                handovers.record_handover(
                    session, conversation_id=state.call_sid, channel="voice", reason=reason,
                    intent_path=" > ".join(state.intents[-8:]) or None,
                    masked_account=state.masked_account,
                    context={"source": "voice_gateway", "mode": state.mode}, now=self.now(),
                )
        except Exception:  # noqa: BLE001 - the transfer goes ahead without the record
            logger.exception("hand-over of call …%s could not be recorded", state.call_sid[-6:])

    def _record_callback(self, state: CallState, phone: str, reason: str) -> bool:
        try:
            with self.db() as session:
                handovers.record_callback(session, conversation_id=state.call_sid, channel="voice",
                                        phone=phone, reason=reason, now=self.now())
        except Exception:  # noqa: BLE001 - said to the caller instead
            logger.exception("callback for call …%s could not be recorded", state.call_sid[-6:])
            return False
        state.callback_requested = True
        return True

    # ------------------------------------------------------------ failures

    def _system_error(self, state: CallState) -> str:
        """Rasa, the actions or the database failed: apologise, then a person."""
        state.sealed_identifier = None
        sorry = self.prompt("system_error")
        if self.agents_open():
            self._record_handover(state, "backend_error")
            return self._transfer(state, sorry + self.prompt("transfer"))
        phone = callback_phone(state.from_number)
        if phone and self._record_callback(state, phone, "after_hours:backend_error"):
            return self._end(state, sorry + self.prompt("after_hours", hours=self.hours_words)
                             + self.prompt("callback_recorded", tail=digits_words(phone[-4:]))
                             + self.prompt("apology_goodbye"))
        return self._end(state, sorry + self.prompt("call_again_later")
                         + self.prompt("apology_goodbye"))

    def _without_database(self) -> str:
        """Not even the call state can be read: transfer, or ask to call again."""
        sorry = self.prompt("system_error")
        if self.agents_open():
            return self.twiml.transfer(sorry + self.prompt("transfer"), action="dial?t=0")
        return self.twiml.end(sorry + self.prompt("call_again_later") + self.prompt("apology_goodbye"))

    # ------------------------------------------------------------ end of call

    def _status(self, params: Params) -> str:
        status = params.call_status or ""
        if status not in store.FINAL_STATUSES:
            return self.twiml.empty()
        try:
            with self.db() as session:
                outcome = store.end_call(session, params.call_sid, status=status,
                                         duration=params.duration, now=self.now())
        except SQLAlchemyError:
            logger.exception("the end of call …%s could not be recorded", params.call_sid[-6:])
            return self.twiml.empty()
        logger.info("voice status call=…%s %s duration=%ss outcome=%s", params.call_sid[-6:],
                    status, params.duration, outcome.value if outcome else "unknown call")
        return self.twiml.empty()
