"""Checks shared by the loaders of ``flows/voice.yml`` (:mod:`bot.flows.voice`,
:mod:`bot.flows.voice_policy`): typed fields and prompt templates.

Each raises :class:`bot.flows.FlowsError` naming ``where`` (the file and the
entry) and the fault.
"""
from __future__ import annotations

import string
from typing import Any

from bot.flows.loader import FlowsError

KEY_CHARS = set("0123456789*#")


def section(raw: dict[str, Any], name: str, where: str) -> dict[str, Any]:
    value = raw.get(name)
    if not isinstance(value, dict):
        raise FlowsError(f"{where}: 'voice.{name}' must be a mapping")
    return value


def text(section: dict[str, Any], field: str, where: str) -> str:
    value = section.get(field)
    if not isinstance(value, str) or not value.strip():
        raise FlowsError(f"{where}: '{field}' must be a non-empty text")
    return value.strip()


def whole_number(section: dict[str, Any], field: str, where: str, low: int, high: int) -> int:
    value = section.get(field)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise FlowsError(f"{where}: '{field}' must be a whole number from {low} to {high}, got {value!r}")
    return value


def flag(section: dict[str, Any], field: str, where: str) -> bool:
    value = section.get(field)
    if not isinstance(value, bool):
        raise FlowsError(f"{where}: '{field}' must be true or false, got {value!r}")
    return value


def placeholders(template: str, where: str) -> set[str]:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise FlowsError(f"{where}: malformed placeholder: {exc}") from exc
    if "" in names or any(not name.isidentifier() for name in names):
        raise FlowsError(f"{where}: placeholders must be names like {{tail}}")
    return names


def check_template(template: str, allowed: frozenset[str], where: str,
                    required: frozenset[str] = frozenset()) -> str:
    names = placeholders(template, where)
    unknown = names - allowed
    if unknown:
        listed = ", ".join(sorted(allowed)) or "none"
        raise FlowsError(f"{where}: unknown placeholder {sorted(unknown)} (allowed: {listed})")
    missing = required - names
    if missing:
        raise FlowsError(f"{where}: must contain {sorted('{' + m + '}' for m in missing)}")
    return template


def one_key(section: dict[str, Any], field: str, where: str) -> str:
    value = str(section.get(field, ""))
    if len(value) != 1 or value not in KEY_CHARS:
        raise FlowsError(f"{where}: '{field}' must be one key of 0-9, * or #, got {value!r}")
    return value
