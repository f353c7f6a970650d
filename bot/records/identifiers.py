"""Pure validation, normalisation and masking of the identifiers callers give.

No database, no I/O: the channels, the actions and the records all agree on
these formats (see ``shared/common.md``):

- ``id_number``: resident ID, 17 digits + a GB 11643 check character (digit or X);
- ``account_number``: personal fund account, exactly 12 digits;
- ``card_number``: joint card, exactly 19 digits starting with 6;
- phone: mobile ``1[3-9]`` + 9 digits, or a Chengdu landline ``028`` + 8 digits;
- ``ticket_id``: ``TS`` + yymmdd + 4-digit sequence.

:func:`mask_text` masks every such number inside free text a caller wrote or
said (for text kept after the conversation, e.g. the learning inbox).
"""
from __future__ import annotations

import re
from datetime import date
from typing import Literal

IdentifierKind = Literal["id_number", "account_number", "card_number"]

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
_ID_RE = re.compile(r"^[0-9]{17}[0-9X]$")
_ACCOUNT_RE = re.compile(r"^[0-9]{12}$")
_CARD_RE = re.compile(r"^6[0-9]{18}$")
_MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")
_LANDLINE_RE = re.compile(r"^028[0-9]{8}$")
_TICKET_RE = re.compile(r"^TS[0-9]{10}$")
_TICKET_DIGITS_RE = re.compile(r"^[0-9]{10}$")
# Full-width digits and letters typed with a Chinese input method.
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_SEPARATORS_RE = re.compile(r"[\s\-\u2014\u2013\u00a0\u3000]+")
# Seven or more digits in a row (spaces or dashes between them allowed), an
# optional ID check letter after them, and a ticket's "TS" before them.
_NUMBER_IN_TEXT = re.compile(
    r"(?<![0-9A-Za-z])(?:[Tt][Ss])?[0-9](?:[ \-\u00a0]*[0-9]){6,}(?:[ \-]*[Xx](?![A-Za-z]))?"
)
MIN_MASKED_DIGITS = 7
# The oldest plausible birth year of a living depositor.
_MIN_BIRTH_YEAR = 1900


def normalize_digits(value: str) -> str:
    """Turn full-width characters (``１２３``, ``Ｘ``) into their ASCII forms."""
    return value.translate(_FULL_WIDTH)


def _strip_separators(value: str) -> str:
    return _SEPARATORS_RE.sub("", normalize_digits(value))


def id_check_char(first17: str) -> str:
    """Return the GB 11643 check character for the first 17 digits of an ID."""
    if not re.fullmatch(r"[0-9]{17}", first17 or ""):
        raise ValueError("id_check_char needs exactly 17 digits")
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11]


def id_birth_date(id_number: str) -> date | None:
    """Return the birth date encoded in an 18-character ID, or None if impossible."""
    try:
        return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return None


def is_valid_id_number(value: str, *, today: date | None = None) -> bool:
    """True for an 18-character resident ID with a real birth date and check char.

    Spaces and dashes are ignored and a lower-case ``x`` is accepted.
    """
    if not isinstance(value, str):
        return False
    candidate = _strip_separators(value).upper()
    if not _ID_RE.fullmatch(candidate):
        return False
    birth = id_birth_date(candidate)
    if birth is None or birth.year < _MIN_BIRTH_YEAR or birth > (today or date.today()):
        return False
    return id_check_char(candidate[:17]) == candidate[17]


def classify_identifier(value: str) -> tuple[IdentifierKind | None, str]:
    """Tell which identifier a caller gave and return it normalised.

    Returns ``(kind, normalized)`` where ``kind`` is ``"id_number"``,
    ``"account_number"``, ``"card_number"`` or None when the value is none of
    them (``normalized`` is then the cleaned input, for logging nothing but its
    length).
    """
    if not isinstance(value, str):
        return None, ""
    normalized = _strip_separators(value).upper()
    if len(normalized) == 18 and is_valid_id_number(normalized):
        return "id_number", normalized
    if _ACCOUNT_RE.fullmatch(normalized):
        return "account_number", normalized
    if _CARD_RE.fullmatch(normalized):
        return "card_number", normalized
    return None, normalized


def normalize_phone(value: str) -> str | None:
    """Return the phone number as bare digits, or None if it is not valid.

    Accepts a leading ``+86``/``86`` country code on mobiles and a separator
    between the Chengdu area code and the number (``028-8627 9298``).
    """
    if not isinstance(value, str):
        return None
    digits = _strip_separators(value)
    digits = digits.replace("(", "").replace(")", "").replace("\uff08", "").replace("\uff09", "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if _MOBILE_RE.fullmatch(digits) or _LANDLINE_RE.fullmatch(digits):
        return digits
    return None


def is_valid_phone(value: str) -> bool:
    """True for a mobile number (1[3-9] + 9 digits) or a Chengdu landline (028 + 8)."""
    return normalize_phone(value) is not None


def normalize_ticket_id(value: str) -> str | None:
    """Return ``TS`` + 10 digits for a ticket given in any case or as the 10 digits.

    The 10 digits are yymmdd + a 4-digit sequence; a date that cannot exist
    (month 13, 31 February) is rejected. Returns None for anything else.
    """
    if not isinstance(value, str):
        return None
    candidate = _strip_separators(value).upper()
    if _TICKET_DIGITS_RE.fullmatch(candidate):
        candidate = "TS" + candidate
    if not _TICKET_RE.fullmatch(candidate):
        return None
    try:
        date(2000 + int(candidate[2:4]), int(candidate[4:6]), int(candidate[6:8]))
    except ValueError:
        return None
    if candidate[8:] == "0000":
        return None
    return candidate


def is_valid_ticket_id(value: str) -> bool:
    """True when :func:`normalize_ticket_id` accepts the value."""
    return normalize_ticket_id(value) is not None


def _mask_middle(value: str, keep_start: int, keep_end: int) -> str:
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    hidden = len(value) - keep_start - keep_end
    return value[:keep_start] + "*" * hidden + value[len(value) - keep_end:]


def mask_account(value: str) -> str:
    """``"102030405060"`` → ``"1020****5060"``: first 4 and last 4 kept."""
    return _mask_middle(_strip_separators(value or ""), 4, 4)


def mask_card(value: str) -> str:
    """A 19-digit joint-card number with only the first 4 and last 4 digits shown."""
    return _mask_middle(_strip_separators(value or ""), 4, 4)


def mask_phone(value: str) -> str:
    """``"13812345678"`` → ``"138****5678"``; ``"02886279298"`` → ``"028****9298"``."""
    return _mask_middle(_strip_separators(value or ""), 3, 4)


def mask_id(value: str) -> str:
    """``"510104198503150018"`` → ``"510104********0018"``: area code and last 4 kept."""
    return _mask_middle(_strip_separators(value or "").upper(), 6, 4)


def mask_identifier(value: str) -> str:
    """Mask whatever identifier a caller gave, by its kind (for logs and hand-overs)."""
    kind, normalized = classify_identifier(value)
    if kind == "id_number":
        return mask_id(normalized)
    if kind in ("account_number", "card_number"):
        return mask_account(normalized)
    return "*" * len(normalized)


def _mask_number(match: re.Match[str]) -> str:
    found = match.group(0)
    if normalize_ticket_id(found) is not None:
        return found  # a ticket number names a complaint, not a person
    digits = _strip_separators(found).upper()
    if normalize_phone(digits) is not None:
        return mask_phone(digits)
    return mask_identifier(digits)


def mask_text(text: str) -> str:
    """Mask every identifier-like number in free text, by its kind.

    Any run of seven or more ASCII digits (spaces or dashes between them, a
    check letter X after them) is masked: an 18-character ID number with
    :func:`mask_id`, a phone with :func:`mask_phone`, a 12-digit account or a
    19-digit card number with :func:`mask_account`, anything else in full.
    Afterwards no seven digits stand together. Ticket numbers (``TS`` + 10
    digits) stay. Spoken and full-width digits must be made ASCII first
    (``bot.nlu.normalize.normalize_text`` does it for Chinese input).

    >>> mask_text("电话13812345678，账号102030405060")
    '电话138****5678，账号1020****5060'
    """
    return _NUMBER_IN_TEXT.sub(_mask_number, text or "")


def has_unmasked_number(text: str) -> bool:
    """True when ``text`` still holds seven or more digits together (see :func:`mask_text`)."""
    return any(
        normalize_ticket_id(match.group(0)) is None
        for match in _NUMBER_IN_TEXT.finditer(text or "")
    )
