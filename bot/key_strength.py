"""How strong a production key must be: at least 32 random bytes, judged cautiously.

:func:`secret_weakness` says why a value cannot be a key (or None).
:meth:`bot.settings.Settings.validate` refuses to start production with a weak
one of :data:`GENERATED_KEYS`; anything else holding such a key (e.g. Rasa's
side of the gateway channels) can ask the same question. Messages never repeat
the value.
"""
from __future__ import annotations

import math
import re

# Keys this deployment makes for itself (Twilio issues its own auth token):
# each must be at least 32 random bytes in production (:func:`secret_weakness`).
GENERATED_KEYS = ("SECRET_KEY", "GATEWAY_CHANNEL_SECRET", "RASA_TOKEN")
MIN_KEY_BYTES = 32
MAKE_KEY_COMMAND = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'
# Parts of the development defaults, refused anywhere in a production key.
_DEVELOPMENT_MARKERS = ("local-dev", "not-for-production", "changeme", "change-me")


def _alphabet_size(value: str) -> int:
    """Size of the smallest usual alphabet that holds every character of ``value``."""
    if re.fullmatch(r"[0-9a-f]+|[0-9A-F]+", value):
        return 16
    symbols = {char for char in value if not (char.isascii() and char.isalnum())}
    return (10 * any(char.isdigit() for char in value)
            + 26 * any("a" <= char <= "z" for char in value)
            + 26 * any("A" <= char <= "Z" for char in value)
            + len(symbols))


def _shannon_bits_per_char(value: str) -> float:
    counts = {char: value.count(char) for char in set(value)}
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def secret_weakness(value: str) -> str | None:
    """Why ``value`` cannot be a production key, or None when it looks like 32+ random bytes.

    A cautious estimate, not a proof of randomness: at least 32 bytes; no
    development default; not one short piece repeated; characters spread
    (>= 3 bits each by their frequencies); and length x bits of its alphabet
    >= 256 (64 hex digits, 43 URL-safe base64 characters with every class).
    """
    size = len(value.encode("utf-8"))
    if size < MIN_KEY_BYTES:
        return f"is {size} bytes long; it needs at least {MIN_KEY_BYTES} random bytes"
    lowered = value.lower()
    if any(marker in lowered for marker in _DEVELOPMENT_MARKERS):
        return "is a development default or placeholder"
    if value in (value + value)[1:-1]:
        return "repeats one short piece over and over"
    if _shannon_bits_per_char(value) < 3:
        return "uses too few different characters to be random"
    bits = len(value) * math.log2(_alphabet_size(value))
    if bits < 8 * MIN_KEY_BYTES:
        return (f"holds at most {int(bits)} random bits for its length and characters "
                f"(hex needs 64 digits); it needs {8 * MIN_KEY_BYTES}")
    return None
