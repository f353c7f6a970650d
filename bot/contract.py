"""The gateway↔Rasa contract: the one owner of both ends of the wire.

Imported by the gateway (Flask environment), the terminal client and the Rasa
input channels (Rasa environment), so it imports nothing but the standard
library: no Rasa, no Flask, no SQLAlchemy. It owns

- the header that carries the shared channel secret (:data:`SECRET_HEADER`);
- the intents only the gateway may send (:data:`SYSTEM_INTENTS`);
- how a person's text is neutralised so it can never pose as an intent
  (:func:`neutralize_user_text`);
- how an intent message is built (:func:`intent_message`) and how a button's
  payload is parsed back (:func:`parse_intent_payload`);
- the secure-step outcome: what a verification result means for Rasa
  (:func:`secure_step_outcome`);
- the mark on a person's message copied to a verified chat's new id
  (:data:`CARRIED_OVER`, :func:`carry_over`, :func:`is_carried_over`), which
  the gateway writes through Rasa's API and the tracker-store readers skip;
- the failed-turn marker (:data:`TURN_FAILED`, :func:`turn_failed_reply`,
  :func:`turn_failure`): the one reply Rasa's gateway channels send when an
  action of the turn could not run, which the gateway turns into its apology.

Rasa reads any message that starts with "/" as an intent with entities, so a
person could type ``/authenticated{"auth_token": …}``: only the gateway (and the
terminal client) send intent messages, and text from people loses its leading
slashes before it reaches Rasa.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Protocol

SECRET_HEADER = "X-Gateway-Secret"
"""Header in which the gateway sends ``GATEWAY_CHANNEL_SECRET`` to Rasa's channels."""

DEFAULT_CHANNEL_SECRET = "local-dev-gateway-secret"
"""The embedded default's secret (production refuses to start with it)."""

DEFAULT_RASA_TOKEN = "local-dev-rasa-token"
"""The embedded default's Rasa API token (``make run``; production refuses it)."""

AUTHENTICATED = "authenticated"
AUTHENTICATION_FAILED = "authentication_failed"
SYSTEM_INTENTS = frozenset({AUTHENTICATED, AUTHENTICATION_FAILED})
"""Intents that only the gateway sends after the secure step; never a button or a person."""

LOCKED = "locked"
"""The failure reason Rasa receives when no attempt remains."""

CARRIED_OVER = "carried_over"
"""User-event metadata key: the message was copied from the chat's old conversation id."""

_SLASHES = "/／"  # the ASCII slash and its full-width look-alike
_INTENT_PAYLOAD_RE = re.compile(r"^/([A-Za-z_][A-Za-z0-9_]*)(\{.*\})?$", re.S)


def neutralize_user_text(text: Optional[str]) -> str:
    """Return ``text`` safe to forward to Rasa as a person's message (no leading "/")."""
    cleaned = (text or "").lstrip()
    while cleaned and cleaned[:1] in _SLASHES:
        cleaned = cleaned[1:].lstrip()
    return cleaned


def intent_message(intent: str, entities: Optional[Mapping[str, str]] = None) -> str:
    """Build the ``/intent{"entity":"value"}`` message that the gateway sends to Rasa."""
    if not isinstance(intent, str) or not intent.isidentifier():
        raise ValueError(f"not an intent name: {intent!r}")
    if not entities:
        return f"/{intent}"
    payload = json.dumps(dict(entities), ensure_ascii=False, separators=(",", ":"))
    return f"/{intent}{payload}"


def parse_intent_payload(payload: str) -> Optional[tuple[str, dict[str, str]]]:
    """Parse a button payload: ``(intent, entities)`` for ``/intent{…}``, None for plain text.

    Raises:
        ValueError: the payload looks like an intent but is malformed, or names a
            system intent (a button may never stand for the secure step).
    """
    if not isinstance(payload, str) or not payload.startswith("/"):
        return None
    match = _INTENT_PAYLOAD_RE.fullmatch(payload)
    if match is None:
        raise ValueError("malformed intent payload")
    intent, raw_entities = match.group(1), match.group(2)
    if intent in SYSTEM_INTENTS:
        raise ValueError("system intent in a button")
    entities: dict[str, str] = {}
    if raw_entities:
        try:
            parsed = json.loads(raw_entities)
        except json.JSONDecodeError as exc:
            raise ValueError("entities are not JSON") from exc
        if not isinstance(parsed, dict):
            raise ValueError("entities must be an object")
        entities = {str(key): str(value) for key, value in parsed.items()}
    return intent, entities


class VerificationResult(Protocol):
    """What :func:`secure_step_outcome` reads of ``bot.records`` verification results."""

    ok: bool
    token: Optional[str]
    reason: Optional[str]
    remaining_attempts: Optional[int]


@dataclass(frozen=True)
class SecureOutcome:
    """The intent message that tells Rasa how the secure step ended."""

    intent: str
    entities: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return self.intent == AUTHENTICATED

    @property
    def reason(self) -> Optional[str]:
        return self.entities.get("reason")

    def message(self) -> str:
        """The outcome as the ``/intent{…}`` text (terminal client, REST channel)."""
        return intent_message(self.intent, self.entities)


def secure_step_outcome(result: VerificationResult) -> SecureOutcome:
    """Map a verification result to what Rasa is told; the same on every channel.

    - success: ``authenticated{"auth_token": …}``;
    - failure: ``authentication_failed{"reason": …, "remaining": "n"}``;
    - a mismatch that used the last attempt (nothing remains) is reported as
      ``locked``: the failure just recorded locked the account, so the person is
      told so now, not on the next try.
    """
    if result.ok:
        if not result.token:
            raise ValueError("a successful verification must carry a token")
        return SecureOutcome(AUTHENTICATED, {"auth_token": result.token})
    reason = str(result.reason or "mismatch")
    remaining = result.remaining_attempts
    if reason == LOCKED or (remaining is not None and remaining <= 0):
        return SecureOutcome(AUTHENTICATION_FAILED, {"reason": LOCKED, "remaining": "0"})
    entities = {"reason": reason}
    if remaining is not None:
        entities["remaining"] = str(remaining)
    return SecureOutcome(AUTHENTICATION_FAILED, entities)


def carry_over(event: dict[str, Any]) -> dict[str, Any]:
    """A tracker event (Rasa's JSON) as copied to a new id; a person's message is marked.

    The old conversation keeps its own events, so a reader that counts what
    people typed (desk figures, learning inbox) skips the marked copies
    (:func:`is_carried_over`) to count each message once.
    """
    if event.get("event") != "user":
        return event
    metadata = event.get("metadata") if isinstance(event.get("metadata"), dict) else {}
    return {**event, "metadata": {**metadata, CARRIED_OVER: True}}


def is_carried_over(event: Mapping[str, Any]) -> bool:
    """Whether a user event (Rasa's JSON) is a copy made by :func:`carry_over`."""
    metadata = event.get("metadata")
    return isinstance(metadata, Mapping) and metadata.get(CARRIED_OVER) is True


TURN_FAILED = "turn_failed"
"""Custom-payload key of the reply that stands for a turn Rasa could not finish."""

ACTION_FAILED = "action_failed"
"""Why: an action of the turn raised (e.g. the action server is down)."""

EMPTY_SLOT = "empty_slot"
"""Why: a response would have rendered an empty slot ("None") and was refused."""


def turn_failed_reply(recipient_id: str, reasons: list[str]) -> dict[str, Any]:
    """The only message of a failed turn: the gateway says its apology instead.

    What the assistant said before the failure is not sent (it may promise a
    step that cannot follow); the channel has already undone the turn in the
    tracker, so the person can simply say it again once the service is back.
    """
    reason = ",".join(sorted(set(reasons))) or ACTION_FAILED
    return {"recipient_id": recipient_id, "custom": {TURN_FAILED: reason}}


def turn_failure(messages: list[dict[str, Any]]) -> Optional[str]:
    """Why the turn failed (``"action_failed"``…) if the reply is the marker, else None."""
    for message in messages:
        custom = message.get("custom")
        if isinstance(custom, Mapping) and custom.get(TURN_FAILED):
            return str(custom[TURN_FAILED])
    return None
