"""The ``voice.policy_answer`` section of ``flows/voice.yml``: a policy answer on the phone.

After the short spoken answer the caller is offered the full answer by SMS
and, when the answer lists materials, the materials read a few at a time
(issue 9). This module loads and checks the section: its two keys (distinct
from each other and from ``voice.keys``), how many materials one prompt
reads, and every prompt with the placeholders it may or must use. Loaded by
:func:`bot.flows.voice.voice_flow` as part of the voice flow.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.flows.loader import FlowsError
from bot.flows.voice_checks import check_template, one_key, section, text, whole_number

# Every prompt, the placeholders it may use, and those it must use (the caller
# has to hear which key does what, and the tail of the number an SMS went to).
PROMPT_FIELDS: dict[str, frozenset[str]] = {
    "offer_sms": frozenset({"key"}),
    "offer_materials": frozenset({"key"}),
    "offer_materials_again": frozenset({"key"}),
    "offer_more": frozenset(),
    "materials_intro": frozenset({"count"}),
    "material_item": frozenset({"ordinal", "item"}),
    "materials_more": frozenset({"more_key", "sms_key"}),
    "materials_done": frozenset(),
    "ask_number": frozenset(),
    "number_invalid": frozenset(),
    "number_gave_up": frozenset(),
    "sms_sent": frozenset({"tail"}),
    "sms_failed": frozenset(),
}
REQUIRED_PLACEHOLDERS: dict[str, frozenset[str]] = {
    "offer_sms": frozenset({"key"}),
    "offer_materials": frozenset({"key"}),
    "offer_materials_again": frozenset({"key"}),
    "material_item": frozenset({"ordinal", "item"}),
    "materials_more": frozenset({"more_key", "sms_key"}),
    "sms_sent": frozenset({"tail"}),
}


@dataclass(frozen=True)
class PolicyAnswerFlow:
    """Keys, pace and prompts of a policy answer on the phone."""

    sms_key: str              # the full answer by SMS
    materials_key: str        # the materials (at the list: the next ones)
    materials_per_prompt: int
    number_retries: int       # a malformed mobile number is asked again this often
    prompts: dict[str, str]

    def prompt(self, name: str, **values: str) -> str:
        """A prompt of ``voice.policy_answer.prompts`` with its placeholders filled."""
        return self.prompts[name].format(**values)


def policy_answer_flow(raw: dict[str, Any], where: str,
                       reserved_keys: dict[str, str]) -> PolicyAnswerFlow:
    """The checked ``voice.policy_answer`` section of ``raw`` (the ``voice`` mapping).

    ``reserved_keys``: the keys of ``voice.keys`` by name, which mean the same
    at every prompt and so cannot be the SMS or materials key.
    """
    policy = section(raw, "policy_answer", where)
    here = f"{where}: voice.policy_answer"
    sms_key = one_key(policy, "sms_key", here)
    materials_key = one_key(policy, "materials_key", here)
    if sms_key == materials_key:
        raise FlowsError(f"{here}: sms_key and materials_key need two different keys")
    for name, key in (("sms_key", sms_key), ("materials_key", materials_key)):
        for reserved, value in reserved_keys.items():
            if key == value:
                raise FlowsError(f"{here}: '{name}' {key!r} is voice.keys.{reserved} at every prompt")

    prompts_raw = policy.get("prompts")
    if not isinstance(prompts_raw, dict):
        raise FlowsError(f"{here}: 'prompts' must be a mapping")
    prompts = {
        name: check_template(text(prompts_raw, name, f"{here}.prompts"), allowed,
                             f"{here}.prompts.{name}", REQUIRED_PLACEHOLDERS.get(name, frozenset()))
        for name, allowed in PROMPT_FIELDS.items()
    }
    unknown = set(prompts_raw) - set(PROMPT_FIELDS)
    if unknown:
        raise FlowsError(f"{here}.prompts: unknown prompt {sorted(unknown)}")
    return PolicyAnswerFlow(
        sms_key=sms_key,
        materials_key=materials_key,
        materials_per_prompt=whole_number(policy, "materials_per_prompt", here, 1, 10),
        number_retries=whole_number(policy, "number_retries", here, 0, 5),
        prompts=prompts,
    )
