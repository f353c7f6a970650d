"""Rendering: what the caller hears, from the assistant's messages and ``flows/``.

No I/O. :class:`Speaker` turns text into spoken parts by the read-out rules of
``flows/voice.yml`` (:mod:`.readout`: amounts in yuan and jiao, numbers digit
by digit, no URLs or emoji) and reads menus and button choices.
:func:`read_reply` turns Rasa's messages into a :class:`Reply`: what is said,
and what the messages ask the call to do next. :class:`Prompter` writes the
next prompt's TwiML and notes in the call state what it said (to repeat it)
and the turn its answer belongs to.

- ``text``: said, after the read-out rules;
- ``buttons``: choices read as "确认请按1，修改请按2" (keys 1 to
  :data:`MAX_BUTTON_KEYS`);
- ``custom.secure_input``: the keypad secure step; the screen text is not said
  (the phone has its own prompt);
- ``custom.handover``: a person; the message's text is said before the transfer;
- ``custom.complaint_ticket``: the ticket's SMS sentence, said where it occurs;
- ``custom.policy_answer``: the text said was a policy answer (topic, answer
  version, materials): the call offers its full text by SMS and its materials
  (:mod:`.policy`); Rasa's collecting channel delivers it as a message of its
  own right after the text;
- ``response`` listed in ``voice.responses.end_call``: the end of the call;
  the last response listed as a free-input one: the caller answers freely;
  listed as a keypad-input one: the caller answers on the keypad only.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from bot.flows import Menu
from bot.flows.voice import VoiceFlow
from bot.knowledge.content import MATERIALS_MAX
from bot.gateway.voice.readout import Part, speakable
from bot.gateway.voice.store import CallState
from bot.gateway.voice.twiml import MODE_ENDED, MODE_TRANSFER, SECURE_MODES, Twiml

MAX_BUTTON_KEYS = 9
MAX_MATERIAL_CHARS = 200

logger = logging.getLogger("bot.gateway.voice")


class Speaker:
    """Says texts, prompts, menus and choices the way ``flows/voice.yml`` wants them read."""

    def __init__(self, flow: VoiceFlow) -> None:
        self.flow = flow

    def say(self, text: str) -> list[Part]:
        """A text as spoken parts (numbers in words, digit groups with pauses)."""
        readout = self.flow.readout
        return speakable(text, masked_number=readout.masked_number, url_word=readout.url,
                         pause_ms=readout.digit_group_pause_ms)

    def prompt(self, name: str, **values: str) -> list[Part]:
        """A prompt of ``voice.prompts``, filled and spoken."""
        return self.say(self.flow.prompt(name, **values))

    def menu(self, menu: Menu) -> list[Part]:
        """A menu read out: its prompt, every item, and how to go on."""
        listing = self.say(menu.prompt) + self.say("，".join(i.speech for i in menu.items) + "。")
        if menu.name == "main":
            listing += self.prompt("speech_hint")
        return listing + self.prompt("menu_suffix")

    def choices(self, buttons: list[dict[str, str]]) -> list[Part]:
        """Buttons read as choices: "非常满意请按1，满意请按2。"."""
        phrases = []
        for key, button in enumerate(buttons, start=1):
            label = str(button.get("title") or button.get("payload") or "").strip()
            payload = str(button.get("payload") or "")
            for prefix in (f"{key} ", f"{payload} "):  # "1 非常满意" is read "非常满意请按1"
                if payload and label.startswith(prefix):
                    label = label[len(prefix):].strip()
            phrases.append(self.flow.prompt("button_choice", label=label, key=str(key)))
        return self.say("，".join(phrases) + "。")


@dataclass(frozen=True)
class PolicyAnswer:
    """The policy answer just said: its topic, answer version and materials."""

    topic: str
    version: int
    materials: tuple[str, ...] = ()


def policy_answer(raw: Any) -> PolicyAnswer | None:
    """``custom.policy_answer`` as a :class:`PolicyAnswer`, or None when malformed."""
    if not isinstance(raw, dict):
        return None
    topic, version, materials = raw.get("topic"), raw.get("version"), raw.get("materials") or []
    if (not isinstance(topic, str) or not topic.strip() or isinstance(version, bool)
            or not isinstance(version, int) or version <= 0 or not isinstance(materials, list)):
        logger.warning("policy_answer payload refused (topic, version or materials malformed)")
        return None
    items = tuple(item.strip()[:MAX_MATERIAL_CHARS] for item in materials
                  if isinstance(item, str) and item.strip())
    return PolicyAnswer(topic=topic.strip(), version=version, materials=items[:MATERIALS_MAX])


@dataclass
class Reply:
    """The assistant's messages as the phone will say them, and what they ask for."""

    parts: list[Part] = field(default_factory=list)        # everything said, in order
    last_parts: list[Part] = field(default_factory=list)   # the last text: said again after a miss
    buttons: list[dict[str, str]] = field(default_factory=list)
    secure: bool = False          # the assistant asks for the secure step
    handover: bool = False        # the assistant hands the caller to a person
    handover_text: str = ""       # ... and says this before the transfer
    end: bool = False             # the call ends after the parts
    free_input: bool = False      # the caller answers freely (speech, or digits and #)
    keypad_input: bool = False    # the caller answers on the keypad only (digits and #)
    policy: PolicyAnswer | None = None  # a policy answer was said: offer its SMS and materials


def read_reply(messages: list[dict[str, Any]], speaker: Speaker,
               ticket_sms: Callable[[str], list[Part]]) -> Reply:
    """Render Rasa's messages for the phone.

    ``ticket_sms(ticket_id)`` sends the complaint ticket's SMS and returns what
    to say about it (nothing when no SMS went out); it is called where the
    ticket occurs, so the sentence follows the ticket's message.
    """
    rules = speaker.flow.responses
    reply = Reply()
    last_response: str | None = None
    for message in messages:
        custom = message.get("custom") if isinstance(message.get("custom"), dict) else {}
        response = message.get("response") if isinstance(message.get("response"), str) else None
        text = message.get("text") if isinstance(message.get("text"), str) else ""
        if custom.get("secure_input"):
            reply.secure = True  # the phone's own keypad prompt replaces the screen text
            continue
        if custom.get("handover"):
            reply.handover, reply.handover_text = True, text
            continue
        if text:
            reply.last_parts = speaker.say(text)
            reply.parts += reply.last_parts
        if custom.get("complaint_ticket"):
            reply.parts += ticket_sms(str(custom["complaint_ticket"]))
        if "policy_answer" in custom:
            reply.policy = policy_answer(custom["policy_answer"]) or reply.policy
        if isinstance(message.get("buttons"), list) and message["buttons"]:
            reply.buttons = [b for b in message["buttons"] if isinstance(b, dict)][:MAX_BUTTON_KEYS]
        if response in rules.end_call:
            reply.end = True
        last_response = response or last_response
    reply.keypad_input = rules.is_keypad_input(last_response)
    reply.free_input = rules.is_free_input(last_response)
    return reply


class Prompter:
    """The TwiML of what the call does next, and the state that goes with it."""

    def __init__(self, twiml: Twiml) -> None:
        self.twiml = twiml

    def listen(self, state: CallState, parts: list[Part], mode: str,
               reprompt: list[Part] | None = None) -> str:
        """Say ``parts`` and listen in ``mode``: the next turn of the call.

        ``reprompt``: the short form said again after silence or a miss
        (default: ``parts``).
        """
        state.turn += 1
        state.mode = mode
        state.speech = list(parts)
        state.reprompt = list(reprompt if reprompt is not None else parts)
        return self.again(state)

    def again(self, state: CallState) -> str:
        """The current prompt once more, for the same turn."""
        endpoint = "secure" if state.mode in SECURE_MODES else "turn"
        return self.twiml.listen(state.speech, mode=state.mode,
                                 action=f"{endpoint}?t={state.turn}",
                                 no_input_url=f"noinput?t={state.turn}")

    def transfer(self, state: CallState, parts: list[Part]) -> str:
        """Say ``parts`` and connect the caller to the agents."""
        state.turn += 1
        state.mode = MODE_TRANSFER
        state.transferred = True
        return self.twiml.transfer(parts, action=f"dial?t={state.turn}")

    def end(self, state: CallState, parts: list[Part]) -> str:
        """Say ``parts`` and hang up."""
        state.mode = MODE_ENDED
        return self.twiml.end(parts)
