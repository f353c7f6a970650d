"""The one place that writes TwiML, only through ``twilio.twiml.voice_response``.

Every answer of the voice webhooks is one of four shapes:

- **listen**: ``<Gather>`` with the prompt read inside it (barge-in), followed
  by a ``<Redirect>`` to the no-input webhook when the caller stays silent;
- **transfer**: what to say, then ``<Dial>`` to the agent target;
- **end**: what to say, then ``<Hangup>``;
- **wait**: a short pause and a ``<Redirect>`` back (a retried webhook whose
  first copy is still being handled).

How the gateway listens depends on the *mode* of the prompt (see
:data:`MODES`): single keys at menus, digits ending with ``#`` when the caller
answers a question, keypad only during the secure step and for answers that
must not be said aloud.
"""
from __future__ import annotations

import re
from typing import Sequence

from twilio.twiml.voice_response import Dial, Gather, Say, VoiceResponse

from bot.flows.voice import VoiceFlow
from bot.gateway.voice.readout import Part, Pause, merge

MODE_MENU = "menu"                    # a keypad menu of flows/menu.yml
MODE_IDLE = "idle"                    # after an answer: speech, or main-menu keys
MODE_BUTTONS = "buttons"              # the assistant offered choices: keys 1..n
MODE_FREE = "free"                    # the assistant asked a question: speech or digits + #
MODE_KEYPAD_ANSWER = "keypad_answer"  # ... whose answer is keyed in only: digits + #
MODE_SECURE_IDENTIFIER = "secure_identifier"
MODE_SECURE_PASSWORD = "secure_password"
MODE_CALLBACK_NUMBER = "callback_number"
MODE_POLICY_OFFER = "policy_offer"    # after a policy answer: its SMS or materials, or speech
MODE_POLICY_MATERIALS = "policy_materials"  # its materials being read: the next ones, SMS, speech
MODE_POLICY_NUMBER = "policy_number"  # the mobile number for its SMS: digits + #
MODE_TRANSFER = "transfer"
MODE_ENDED = "ended"
KEY_MODES = {MODE_MENU, MODE_IDLE, MODE_BUTTONS, MODE_POLICY_OFFER, MODE_POLICY_MATERIALS}
KEYPAD_MODES = {MODE_SECURE_IDENTIFIER, MODE_SECURE_PASSWORD, MODE_CALLBACK_NUMBER,
                MODE_POLICY_NUMBER, MODE_KEYPAD_ANSWER}
SECURE_MODES = {MODE_SECURE_IDENTIFIER, MODE_SECURE_PASSWORD}
POLICY_MODES = {MODE_POLICY_OFFER, MODE_POLICY_MATERIALS, MODE_POLICY_NUMBER}
MODES = KEY_MODES | KEYPAD_MODES | {MODE_FREE, MODE_TRANSFER, MODE_ENDED}

DIAL_TIMEOUT_SECONDS = 30
_SIP = re.compile(r"^sips?:[^\s@]+@[^\s@]+$")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def check_transfer_target(target: str) -> str:
    """The agent target if it is a SIP URI or an E.164 number, else ValueError."""
    if _SIP.fullmatch(target) or _E164.fullmatch(target):
        return target
    raise ValueError(
        f"agent transfer target {target!r} must be a SIP URI (sip:queue@pbx) or an "
        "E.164 number (+8628…); set it in flows/agents.yml or AGENT_TRANSFER_TARGET"
    )


class Twiml:
    """Builds the gateway's TwiML documents from spoken parts and a mode."""

    def __init__(self, flow: VoiceFlow, transfer_target: str) -> None:
        self.flow = flow
        self.transfer_target = check_transfer_target(transfer_target)

    # ------------------------------------------------------------------ pieces

    def _say(self, parent: VoiceResponse | Gather, parts: Sequence[Part]) -> None:
        # Adjacent texts must be one string: the library keeps only the last of
        # several strings nested in a row.
        parts = merge(parts)
        if not any(isinstance(part, str) and part.strip() for part in parts):
            return
        say = Say(voice=self.flow.tts_voice, language=self.flow.tts_language)
        for part in parts:
            if isinstance(part, Pause):
                say.break_(time=f"{part.ms}ms")
            elif part:
                say.nest(part)
        parent.append(say)

    def _gather(self, mode: str, action: str) -> Gather:
        flow, listen = self.flow, self.flow.listen
        attrs: dict[str, object] = {"action": action, "method": "POST"}
        if mode in KEYPAD_MODES:
            attrs.update(input="dtmf", finish_on_key="#", timeout=listen.keypad_timeout)
        else:
            attrs.update(input="dtmf speech")
            if mode in KEY_MODES:
                attrs.update(num_digits=1, finish_on_key="",
                             timeout=listen.menu_timeout if mode == MODE_MENU else listen.answer_timeout)
            else:
                attrs.update(finish_on_key="#", timeout=listen.answer_timeout)
            recognition = flow.recognition
            attrs.update(
                language=recognition.language,
                speech_timeout=recognition.speech_timeout,
                profanity_filter=recognition.profanity_filter,
                barge_in=listen.barge_in,
            )
            if recognition.hints:
                attrs["hints"] = ", ".join(recognition.hints)
            if recognition.speech_model:
                attrs["speech_model"] = recognition.speech_model
        return Gather(**attrs)

    # --------------------------------------------------------------- documents

    def listen(self, parts: Sequence[Part], *, mode: str, action: str, no_input_url: str) -> str:
        """Say ``parts`` while listening; silence leads to ``no_input_url``."""
        if mode not in KEY_MODES | KEYPAD_MODES | {MODE_FREE}:
            raise ValueError(f"cannot listen in mode {mode!r}")
        response = VoiceResponse()
        gather = self._gather(mode, action)
        self._say(gather, parts)
        response.append(gather)
        response.redirect(no_input_url, method="POST")
        return response.to_xml()

    def transfer(self, parts: Sequence[Part], *, action: str) -> str:
        """Say ``parts``, then connect the caller to the agents."""
        response = VoiceResponse()
        self._say(response, parts)
        dial = Dial(action=action, method="POST", timeout=DIAL_TIMEOUT_SECONDS)
        if self.transfer_target.startswith("sip"):
            dial.sip(self.transfer_target)
        else:
            dial.number(self.transfer_target)
        response.append(dial)
        return response.to_xml()

    def end(self, parts: Sequence[Part]) -> str:
        """Say ``parts``, then hang up."""
        response = VoiceResponse()
        self._say(response, parts)
        response.hangup()
        return response.to_xml()

    def wait(self, parts: Sequence[Part], url: str, seconds: int = 1) -> str:
        """Say ``parts``, pause, and ask again at ``url``."""
        response = VoiceResponse()
        self._say(response, parts)
        response.pause(length=seconds)
        response.redirect(url, method="POST")
        return response.to_xml()

    @staticmethod
    def empty() -> str:
        """An empty document (answer to status callbacks)."""
        return VoiceResponse().to_xml()
