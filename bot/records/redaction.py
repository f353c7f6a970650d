"""Masking the personal data in what is kept of a conversation.

A complaint keeps its conversation (the transcript) and a hand-over keeps the
caller's last words, for staff to read on the desk long after the call. What
staff may see there is what happened, not who the caller is or what is in
their account: :func:`redact_text` masks, when the text is captured,

- phone, ID, fund account and joint-card numbers (and any other run of seven
  or more digits) by their kind, with :func:`bot.records.identifiers.mask_text`
  (``138****5678``, ``510104********0018``, ``1020****5060``);
- loan contract and withdrawal application numbers (two letters and seven or
  more digits, ``DK2019000123``) in full;
- every amount of money (``12,345.60元``, ``3000块``, ``五千元``, ``20万``) as
  ``***`` before its unit.

Ticket numbers (``TS`` + 10 digits) and the center's published numbers (the
supervision line 86279298) stay: they name a complaint or the center, not a person.
A number said in words ("幺三八…") or typed full-width is read the way the NLU
pipeline reads it (:func:`bot.nlu.normalize.normalize_text`) before masking.
The full contact phone stays in its own column, shown only through the desk's
logged reveal. Masking is idempotent: masked text comes back unchanged.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.nlu.normalize import normalize_text
from bot.records.identifiers import mask_text

MASK = "***"
_UNIT = r"(?=\s*(?:万元|万|元|块|圆))"
# Digits with thousands separators and decimals: "12,345.60", "3000", "1.5".
_AMOUNT_DIGITS = re.compile(r"(?<![0-9A-Za-z.,])[0-9](?:[0-9,，]*[0-9])?(?:\.[0-9]+)?" + _UNIT)
# An amount in Chinese numerals: two characters at least ("五千", "十"+"块" is "十块"),
# so that "一块" (together) stays.
_AMOUNT_WORDS = re.compile(r"[零一二两三四五六七八九十百千万亿点]{2,}" + _UNIT + r"|[十百千]" + _UNIT)
# Loan contract and withdrawal application numbers: letters, then the digits.
_REFERENCE = re.compile(r"(?<![0-9A-Za-z])(?![Tt][Ss][0-9]{10}(?![0-9]))([A-Za-z]{2})[0-9]{7,}(?![0-9])")
_ASCII_DIGIT = re.compile(r"[0-9]")
# The fund center's own published numbers stay readable ("监督电话86279298").
_PUBLIC_NUMBER = re.compile(r"((?<![0-9])(?:028-?)?86279298(?![0-9]))")


def _reading(text: str) -> str:
    """The text as said, or the pipeline's reading when it found numbers written
    in words or full-width (it then holds more ASCII digits)."""
    normalized = normalize_text(text)
    if len(_ASCII_DIGIT.findall(normalized)) > len(_ASCII_DIGIT.findall(text)):
        return normalized
    return text


def redact_text(text: str | None) -> str:
    """``text`` with identifiers, reference numbers and amounts masked (see the module)."""
    if not text:
        return ""
    masked = _reading(text)
    masked = _AMOUNT_DIGITS.sub(MASK, masked)
    masked = _AMOUNT_WORDS.sub(MASK, masked)
    masked = _REFERENCE.sub(lambda match: match.group(1) + MASK, masked)
    # Split around the public numbers (kept, at the odd places) and mask the rest.
    parts = _PUBLIC_NUMBER.split(masked)
    return "".join(part if index % 2 else mask_text(part) for index, part in enumerate(parts))


def redact_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``values`` with every text value masked (nested mappings and lists too)."""
    return {key: _redact_value(value) for key, value in values.items()}


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return redact_values(value)
    if isinstance(value, list):
        return [_redact_value(item) for item in value]
    return value
