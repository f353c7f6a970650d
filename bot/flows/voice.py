"""Loader and schema of ``flows/voice.yml``: how the phone line listens and speaks.

Only the voice gateway reads this file, so :mod:`bot.flows` does not import
this module; the gateway imports ``bot.flows.voice``. :func:`voice_flow`
validates everything the gateway relies on at start (Twilio attribute values,
keys, prompt placeholders, the speech-hint vocabulary) and raises
:class:`bot.flows.FlowsError` naming the file and the entry at fault;
:func:`check_voice_flows` also loads the shared files the phone uses (menus,
agent hours) and checks that they fit together. The field checks are in
:mod:`bot.flows.voice_checks`; the ``policy_answer`` section (a policy answer's
SMS and materials keys and prompts) is :mod:`bot.flows.voice_policy`.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.flows.agents import agent_hours
from bot.flows.loader import FLOWS_DIR, FlowsError, load_yaml
from bot.flows.menus import menus
from bot.flows.voice_checks import (
    check_template,
    flag,
    one_key,
    section,
    text,
    whole_number,
)
from bot.flows.voice_policy import PolicyAnswerFlow, policy_answer_flow

PROJECT_ROOT = FLOWS_DIR.parent
TWILIO_MAX_HINTS = 500
TWILIO_MAX_HINT_CHARS = 100

# Recognition must be Mandarin: a BCP-47 tag of Chinese (cmn-Hans-CN, zh-CN, zh).
_MANDARIN_TAG = re.compile(r"^(cmn|zh)(-[A-Za-z0-9]{2,8}){0,3}$")
_TTS_LANGUAGE = re.compile(r"^(cmn|zh)(-[A-Za-z0-9]{2,8}){0,2}$")
# Twilio voice names: "Polly.<Name>[-Neural|-Generative]" or "Google.<locale>-<model>-<X>".
_TWILIO_VOICE = re.compile(
    r"^(Polly\.[A-Z][A-Za-z]+(-Neural|-Generative)?|Google\.[a-z]{2,3}-[A-Za-z0-9-]+)$"
)

# Every prompt and the placeholders it may use ({label} and {key} must appear in
# button_choice: the caller has to hear which key).
PROMPT_FIELDS: dict[str, frozenset[str]] = {
    "greeting": frozenset(),
    "speech_hint": frozenset(),
    "menu_suffix": frozenset(),
    "idle_hint": frozenset(),
    "button_choice": frozenset({"label", "key"}),
    "speech_too_long": frozenset(),
    "secret_in_speech": frozenset(),
    "transfer": frozenset(),
    "agents_busy": frozenset(),
    "after_hours": frozenset({"hours"}),
    "callback_recorded": frozenset({"tail"}),
    "callback_soon": frozenset({"tail"}),
    "ask_callback_number": frozenset(),
    "callback_number_invalid": frozenset(),
    "callback_failed": frozenset({"hours"}),
    "anything_else": frozenset(),
    "system_error": frozenset(),
    "call_again_later": frozenset(),
    "goodbye": frozenset(),
    "apology_goodbye": frozenset(),
    "bad_request": frozenset(),
    "busy_wait": frozenset(),
    "sms_sent": frozenset({"tail"}),
}
REQUIRED_PLACEHOLDERS = {"button_choice": frozenset({"label", "key"})}
SECURE_FIELDS = (
    "identifier_prompt",
    "identifier_invalid",
    "password_prompt",
    "password_invalid",
    "too_many_failures",
    "throttled_minutes",
    "throttled_hours",
)
SECURE_PLACEHOLDERS = {"throttled_minutes": frozenset({"minutes"}),
                       "throttled_hours": frozenset({"hours"})}
SMS_FIELDS: dict[str, frozenset[str]] = {
    "complaint_ticket": frozenset({"ticket_id", "due_date"}),
    "account_locked": frozenset({"account", "count", "hours"}),
}


@dataclass(frozen=True)
class Recognition:
    language: str
    speech_model: str
    speech_timeout: str
    profanity_filter: bool
    hints: tuple[str, ...]


@dataclass(frozen=True)
class Listen:
    barge_in: bool
    menu_timeout: int
    answer_timeout: int
    keypad_timeout: int
    max_speech_chars: int


@dataclass(frozen=True)
class Keys:
    repeat: str
    person: str
    main_menu: str


@dataclass(frozen=True)
class Policy:
    """No-input or no-match: ask again ``reprompts`` times, then a person."""

    reprompts: int
    prompt: str


@dataclass(frozen=True)
class Secure:
    identifier_prompt: str
    identifier_invalid: str
    password_prompt: str
    password_invalid: str
    too_many_failures: str
    throttled_minutes: str
    throttled_hours: str
    retries: int
    max_failures_per_call: int


@dataclass(frozen=True)
class Readout:
    masked_number: str
    url: str
    digit_group_pause_ms: int


@dataclass(frozen=True)
class ResponseRules:
    end_call: frozenset[str]
    free_input_prefixes: tuple[str, ...]
    free_input: frozenset[str]
    keypad_input: frozenset[str] = frozenset()

    def is_keypad_input(self, response: str | None) -> bool:
        """After this response the caller answers on the keypad only (digits + #)."""
        return bool(response) and response in self.keypad_input

    def is_free_input(self, response: str | None) -> bool:
        """After this response the caller answers freely (speech or digits + #)."""
        if not response or self.is_keypad_input(response):
            return False
        return response in self.free_input or response.startswith(self.free_input_prefixes)


@dataclass(frozen=True)
class VoiceFlow:
    recognition: Recognition
    tts_voice: str
    tts_language: str
    listen: Listen
    keys: Keys
    no_input: Policy
    no_match: Policy
    prompts: dict[str, str]
    secure: Secure
    readout: Readout
    responses: ResponseRules
    sms: dict[str, str]
    policy_answer: PolicyAnswerFlow

    def prompt(self, name: str, **values: str) -> str:
        """A prompt of ``voice.prompts`` with its placeholders filled."""
        return self.prompts[name].format(**values)


# ------------------------------------------------------------------ validation


def _vocabulary(path_text: str, where: str) -> list[str]:
    path = (PROJECT_ROOT / path_text).resolve()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise FlowsError(f"{where}: hints vocabulary {path_text!r} cannot be read: {exc}") from exc
    words = [line.split()[0] for line in lines if line.strip() and not line.startswith("#")]
    # Single characters (dialect particles such as 嘛, 噻) would only bias recognition.
    return [word for word in words if len(word) >= 2]


def _hints(raw: Any, where: str) -> tuple[str, ...]:
    if not isinstance(raw, dict):
        raise FlowsError(f"{where}: 'hints' must be a mapping with 'vocabulary' and/or 'extra'")
    phrases: list[str] = []
    if raw.get("vocabulary"):
        phrases += _vocabulary(str(raw["vocabulary"]), where)
    extra = raw.get("extra") or []
    if not isinstance(extra, list):
        raise FlowsError(f"{where}: 'hints.extra' must be a list")
    phrases += [str(item).strip() for item in extra]
    seen: dict[str, None] = {}
    for phrase in phrases:
        if not phrase:
            continue
        if len(phrase) > TWILIO_MAX_HINT_CHARS or "," in phrase:
            raise FlowsError(
                f"{where}: hint {phrase[:20]!r} must be at most {TWILIO_MAX_HINT_CHARS} characters "
                "without commas"
            )
        seen.setdefault(phrase)
    if len(seen) > TWILIO_MAX_HINTS:
        raise FlowsError(f"{where}: {len(seen)} hints; Twilio accepts at most {TWILIO_MAX_HINTS}")
    return tuple(seen)


def _recognition(raw: dict[str, Any], where: str) -> Recognition:
    here = f"{where}: voice.recognition"
    language = text(raw, "language", here)
    if not _MANDARIN_TAG.fullmatch(language):
        raise FlowsError(f"{here}: language {language!r} is not a Mandarin tag such as cmn-Hans-CN or zh-CN")
    timeout = str(raw.get("speech_timeout", "auto")).strip()
    if timeout != "auto" and not (timeout.isdigit() and 1 <= int(timeout) <= 10):
        raise FlowsError(f"{here}: speech_timeout must be 'auto' or 1-10 seconds, got {timeout!r}")
    model = str(raw.get("speech_model") or "").strip()
    if model and not re.fullmatch(r"[a-z0-9_.\-]+", model):
        raise FlowsError(f"{here}: speech_model {model!r} is not a Twilio model name")
    if model and timeout == "auto":
        # Twilio warning 13335: "auto" works only when Twilio picks the model.
        raise FlowsError(f"{here}: speech_timeout 'auto' cannot be used with a speech_model; "
                         "give whole seconds")
    return Recognition(
        language=language,
        speech_model=model,
        speech_timeout=timeout,
        profanity_filter=flag(raw, "profanity_filter", here),
        hints=_hints(raw.get("hints"), here),
    )


def _keys(raw: dict[str, Any], where: str) -> Keys:
    here = f"{where}: voice.keys"
    keys = Keys(
        repeat=str(raw.get("repeat", "")),
        person=str(raw.get("person", "")),
        main_menu=str(raw.get("main_menu", "")),
    )
    for name in ("repeat", "person", "main_menu"):
        one_key(raw, name, here)
    if len({keys.repeat, keys.person, keys.main_menu}) != 3:
        raise FlowsError(f"{here}: repeat, person and main_menu need three different keys")
    return keys


def _policy(raw: dict[str, Any], name: str, where: str) -> Policy:
    here = f"{where}: voice.{name}"
    return Policy(reprompts=whole_number(raw, "reprompts", here, 0, 5), prompt=text(raw, "prompt", here))


def _load_voice(flows_dir: Path) -> VoiceFlow:
    where = str(flows_dir / "voice.yml")
    raw = load_yaml("voice.yml", flows_dir).get("voice")
    if not isinstance(raw, dict):
        raise FlowsError(f"{where}: top level needs a 'voice' mapping")

    recognition = _recognition(section(raw, "recognition", where), where)

    tts = section(raw, "tts", where)
    tts_voice = text(tts, "voice", f"{where}: voice.tts")
    if not _TWILIO_VOICE.fullmatch(tts_voice):
        raise FlowsError(
            f"{where}: voice.tts: voice {tts_voice!r} is not a Twilio voice name such as Polly.Zhiyu-Neural"
        )
    tts_language = text(tts, "language", f"{where}: voice.tts")
    if not _TTS_LANGUAGE.fullmatch(tts_language):
        raise FlowsError(f"{where}: voice.tts: language {tts_language!r} is not Mandarin (e.g. cmn-CN)")

    listen_raw = section(raw, "listen", where)
    here = f"{where}: voice.listen"
    listen = Listen(
        barge_in=flag(listen_raw, "barge_in", here),
        menu_timeout=whole_number(listen_raw, "menu_timeout", here, 2, 15),
        answer_timeout=whole_number(listen_raw, "answer_timeout", here, 2, 15),
        keypad_timeout=whole_number(listen_raw, "keypad_timeout", here, 3, 20),
        max_speech_chars=whole_number(listen_raw, "max_speech_chars", here, 20, 2000),
    )

    prompts_raw = section(raw, "prompts", where)
    prompts: dict[str, str] = {}
    for name, allowed in PROMPT_FIELDS.items():
        at = f"{where}: voice.prompts.{name}"
        prompts[name] = check_template(
            text(prompts_raw, name, f"{where}: voice.prompts"), allowed, at,
            REQUIRED_PLACEHOLDERS.get(name, frozenset()),
        )
    unknown = set(prompts_raw) - set(PROMPT_FIELDS)
    if unknown:
        raise FlowsError(f"{where}: voice.prompts: unknown prompt {sorted(unknown)}")

    secure_raw = section(raw, "secure", where)
    here = f"{where}: voice.secure"
    secure_texts = {
        name: check_template(text(secure_raw, name, here),
                             SECURE_PLACEHOLDERS.get(name, frozenset()), f"{here}.{name}",
                             SECURE_PLACEHOLDERS.get(name, frozenset()))
        for name in SECURE_FIELDS
    }
    secure = Secure(
        **secure_texts,
        retries=whole_number(secure_raw, "retries", here, 0, 5),
        max_failures_per_call=whole_number(secure_raw, "max_failures_per_call", here, 1, 20),
    )

    readout_raw = section(raw, "readout", where)
    here = f"{where}: voice.readout"
    readout = Readout(
        masked_number=check_template(
            text(readout_raw, "masked_number", here), frozenset({"tail"}), f"{here}.masked_number",
            frozenset({"tail"}),
        ),
        url=text(readout_raw, "url", here),
        digit_group_pause_ms=whole_number(readout_raw, "digit_group_pause_ms", here, 0, 1000),
    )

    responses_raw = section(raw, "responses", where)
    here = f"{where}: voice.responses"
    names: dict[str, list[str]] = {}
    for field in ("end_call", "free_input_prefixes", "free_input", "keypad_input"):
        value = responses_raw.get(field) or []
        if not isinstance(value, list) or not all(
            isinstance(v, str) and re.fullmatch(r"[a-z][a-z0-9_/]*", v) for v in value
        ):
            raise FlowsError(f"{here}: '{field}' must be a list of response names")
        names[field] = value
    if not names["end_call"]:
        raise FlowsError(f"{here}: 'end_call' must name at least one response")
    responses = ResponseRules(
        end_call=frozenset(names["end_call"]),
        free_input_prefixes=tuple(names["free_input_prefixes"]),
        free_input=frozenset(names["free_input"]),
        keypad_input=frozenset(names["keypad_input"]),
    )

    sms_raw = section(raw, "sms", where)
    sms = {
        name: check_template(text(sms_raw, name, f"{where}: voice.sms"), allowed,
                              f"{where}: voice.sms.{name}")
        for name, allowed in SMS_FIELDS.items()
    }

    keys = _keys(section(raw, "keys", where), where)
    reserved = {"repeat": keys.repeat, "person": keys.person, "main_menu": keys.main_menu}
    return VoiceFlow(
        recognition=recognition,
        tts_voice=tts_voice,
        tts_language=tts_language,
        listen=listen,
        keys=keys,
        no_input=_policy(section(raw, "no_input", where), "no_input", where),
        no_match=_policy(section(raw, "no_match", where), "no_match", where),
        prompts=prompts,
        secure=secure,
        readout=readout,
        responses=responses,
        sms=sms,
        policy_answer=policy_answer_flow(raw, where, reserved),
    )


@functools.lru_cache(maxsize=None)
def voice_flow(flows_dir: Path = FLOWS_DIR) -> VoiceFlow:
    """The validated ``flows/voice.yml``."""
    return _load_voice(flows_dir)


def check_voice_flows(flows_dir: Path = FLOWS_DIR) -> VoiceFlow:
    """Load everything the phone line uses and check that it fits together.

    Raises :class:`FlowsError` naming the file and fault: voice.yml itself, the
    menus (every menu reachable, the repeat and main-menu keys unused by items,
    the person key always a hand-over) and the agent hours.
    """
    flow = voice_flow(flows_dir)
    all_menus = menus(flows_dir)
    agent_hours(flows_dir)
    where = str(flows_dir / "menu.yml")
    for menu in all_menus.values():
        for item in menu.items:
            if item.key in (flow.keys.repeat, flow.keys.main_menu):
                raise FlowsError(
                    f"{where}: menus.{menu.name} key {item.key}: reserved on the phone by voice.yml keys"
                )
            if item.key == flow.keys.person and not item.handover:
                raise FlowsError(
                    f"{where}: menus.{menu.name} key {item.key}: the person key must be a hand-over"
                )
    return flow
