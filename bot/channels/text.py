"""Rules every channel applies to what a person typed or said before Rasa sees it."""
from __future__ import annotations

# Rasa parses a message that starts with "/" as an intent with entities, so a
# person could type '/authenticated{"auth_token": …}'. Only the gateway (or the
# terminal client) may send such messages; text from people loses its leading
# slashes (and the look-alike full-width slash).
_SLASHES = "/／"


def neutralize_user_text(text: str | None) -> str:
    """Return ``text`` safe to forward to Rasa as a person's message."""
    cleaned = (text or "").lstrip()
    while cleaned[:1] in _SLASHES and cleaned:
        cleaned = cleaned[1:].lstrip()
    return cleaned


def intent_message(intent: str, entities: dict[str, str] | None = None) -> str:
    """Build the ``/intent{"entity": "value"}`` message a channel sends for a person."""
    import json

    if not intent.isidentifier():
        raise ValueError(f"not an intent name: {intent!r}")
    payload = json.dumps(entities or {}, ensure_ascii=False, separators=(",", ":"))
    return f"/{intent}{payload}" if entities else f"/{intent}"
