"""The gateway's own words to a chat visitor, from ``messages.yml`` beside this module.

Loaded once when the blueprint starts and checked for every key the code uses,
so a missing or misspelt text stops the gateway at start, naming the file and key.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

from bot.flows import AgentHours

MESSAGES_FILE = Path(__file__).with_name("messages.yml")

# Every key and the placeholders it must (and may only) use.
REQUIRED: dict[str, frozenset[str]] = {
    "welcome": frozenset(),
    "end_label": frozenset(),
    "verified_note": frozenset(),
    "verify_failed_note": frozenset(),
    "account_hidden_note": frozenset(),
    "errors.empty": frozenset(),
    "errors.too_long": frozenset({"max_chars"}),
    "errors.bad_request": frozenset(),
    "errors.no_session": frozenset(),
    "errors.wrong_conversation": frozenset(),
    "errors.origin_not_allowed": frozenset(),
    "errors.rate_limited": frozenset({"retry_after"}),
    "errors.unknown_choice": frozenset(),
    "errors.assistant_unavailable": frozenset(),
    "errors.turn_failed": frozenset(),
    "errors.secret_in_chat": frozenset(),
    "errors.verify_not_requested": frozenset(),
    "errors.verify_invalid_identifier": frozenset(),
    "errors.verify_invalid_password": frozenset(),
    "errors.verify_unavailable": frozenset(),
    "errors.verify_slowed": frozenset({"minutes"}),
    "errors.verify_stopped": frozenset({"hours"}),
    "errors.callback_not_available": frozenset(),
    "errors.callback_already": frozenset(),
    "errors.callback_invalid_phone": frozenset(),
    "errors.callback_unavailable": frozenset(),
    "handover.hours": frozenset({"periods"}),
    "handover.period": frozenset({"start", "end"}),
    "handover.period_separator": frozenset(),
    "handover.in_hours": frozenset(),
    "handover.after_hours": frozenset({"hours"}),
    "handover.callback_recorded": frozenset({"phone_tail"}),
}


class TextsError(ValueError):
    """``messages.yml`` is missing, malformed or lacks a text the gateway needs."""


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@dataclass(frozen=True)
class ChatTexts:
    """Lookup of the visitor-facing texts by dotted key (``errors.empty``)."""

    texts: Mapping[str, str]

    def get(self, key: str, **values: Any) -> str:
        return self.texts[key].format(**values)

    def error(self, code: str, **values: Any) -> str:
        return self.get(f"errors.{code}", **values)

    def agent_hours(self, hours: AgentHours) -> str:
        """The agents' working hours as a visitor reads them."""
        periods = self.texts["handover.period_separator"].join(
            self.get(
                "handover.period",
                start=f"{start.hour}:{start.minute:02d}",
                end=f"{end.hour}:{end.minute:02d}",
            )
            for start, end in hours.periods
        )
        return self.get("handover.hours", periods=periods)


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def load_texts(path: Path = MESSAGES_FILE) -> ChatTexts:
    """Read and check ``path``; raises :class:`TextsError` naming the file and key."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise TextsError(f"{path}: file not found") from exc
    except yaml.YAMLError as exc:
        raise TextsError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, Mapping):
        raise TextsError(f"{path}: top level must be a mapping")
    flat = _flatten(data)
    texts: dict[str, str] = {}
    for key, allowed in REQUIRED.items():
        value = flat.get(key)
        if not isinstance(value, str) or not value.strip():
            raise TextsError(f"{path}: '{key}' must be a non-empty text")
        used = _placeholders(value)
        if used != allowed:
            raise TextsError(
                f"{path}: '{key}' must use the placeholders {sorted(allowed) or 'none'}, "
                f"uses {sorted(used) or 'none'}"
            )
        texts[key] = value.strip() if key != "handover.period_separator" else value
    return ChatTexts(texts=texts)
