"""Checks of the values callers hand to the records functions, shared by every topic.

Pure functions, no database. Two kinds of caller, two kinds of error:

- what the actions and the gateway pass (:func:`checked_enum`,
  :func:`checked_text`, :func:`checked_phone`) is refused with a
  :class:`~bot.records.errors.RecordsValidationError` whose English message
  names the argument: a bad value there is a bug;
- what a staff member typed into a desk form (:func:`form_text`) is refused
  with a :class:`~bot.records.errors.DeskValidationError` whose ``code`` the
  desk shows in Chinese.

Each returns the cleaned value to store.
"""
from __future__ import annotations

import enum
import unicodedata
from typing import TypeVar

from bot.records.errors import DeskValidationError, RecordsValidationError
from bot.records.identifiers import normalize_phone

MAX_CONVERSATION_ID_LENGTH = 64

E = TypeVar("E", bound=enum.Enum)


def checked_enum(enum_class: type[E], value: E | str, name: str) -> E:
    """The member of ``enum_class`` for ``value`` (a member or its code)."""
    try:
        return enum_class(value)
    except ValueError as exc:
        codes = ", ".join(member.value for member in enum_class)
        raise RecordsValidationError(f"{name} must be one of {codes}, got {value!r}") from exc


def checked_text(
    value: str | None, name: str, max_length: int, *, required: bool = False
) -> str | None:
    """Stripped text of at most ``max_length`` characters; None for empty when not required."""
    if value is None:
        if required:
            raise RecordsValidationError(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise RecordsValidationError(f"{name} must be a string, got {type(value).__name__}")
    value = value.strip()
    if not value:
        if required:
            raise RecordsValidationError(f"{name} must not be empty")
        return None
    if len(value) > max_length:
        raise RecordsValidationError(
            f"{name} is {len(value)} characters long; the limit is {max_length}"
        )
    return value


def checked_phone(value: str | None, name: str, *, required: bool) -> str | None:
    """A mobile or 028 landline number as bare digits; None for empty when not required."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise RecordsValidationError(f"{name} is required")
        return None
    normalized = normalize_phone(value) if isinstance(value, str) else None
    if normalized is None:
        raise RecordsValidationError(
            f"{name} must be a mobile number (1[3-9] + 9 digits) or a 028 landline"
        )
    return normalized


def form_text(value: object, *, max_length: int, code: str, required: bool = True) -> str:
    """Stripped text without control characters (newlines and tabs are kept).

    Refusals are ``<code>_required`` and ``<code>_too_long`` (with ``limit``
    and ``length``).
    """
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise DeskValidationError(f"{code}_required")
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    text = "".join(
        ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs")
    )
    if required and not text:
        raise DeskValidationError(f"{code}_required")
    if len(text) > max_length:
        raise DeskValidationError(f"{code}_too_long", limit=max_length, length=len(text))
    return text
