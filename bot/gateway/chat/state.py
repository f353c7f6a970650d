"""A visitor's chat session: a signed, HttpOnly cookie of its own (not Flask's ``session``).

The cookie holds the conversation id (32 random URL-safe characters, 192 bits),
whether the assistant asked for the secure step, the hand-over state and the
payloads of the buttons the assistant last offered. It is signed with
``SECRET_KEY`` (itsdangerous, with its own salt) and carries its signing time:
an unsigned, forged or idle-expired cookie is no session at all. Every API call
names the conversation id too, and it must equal the cookie's, so a page can
never act on (or read) a conversation that is not its browser's.

It is separate from Flask's session cookie so that the staff desk's log-in and
log-out never touch a visitor's chat. In development it is ``hotline_chat`` on
the path ``/chat/api``; in production it is ``__Host-hotline_chat`` (Secure,
``Path=/``, no ``Domain``), so no other host or plain-HTTP page can plant or
overwrite it (:func:`cookie_policy`).

An idle-expired cookie still names its conversation (:meth:`StateCodec.expired`),
so that the gateway can end what that conversation was granted.
"""

from __future__ import annotations

import hmac
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

COOKIE_NAME = "hotline_chat"
COOKIE_PATH = "/chat/api"
HOST_COOKIE_NAME = "__Host-hotline_chat"  # production: Secure, Path=/, no Domain
SALT = "hotline.chat.session.v1"
MAX_COOKIE_BYTES = 3800
HANDOVER_MODES = ("in_hours", "after_hours", "backend_error")  # the last: a failed turn (turns.py)
_CONVERSATION_ID_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")


@dataclass(frozen=True)
class CookiePolicy:
    """Name and attributes of the chat cookie."""

    name: str
    path: str
    secure: bool
    samesite: str


def cookie_policy(*, production: bool, samesite: str) -> CookiePolicy:
    """``__Host-`` prefixed and Secure on ``/`` in production; plain on ``/chat/api`` otherwise."""
    if production:
        return CookiePolicy(HOST_COOKIE_NAME, "/", True, samesite)
    return CookiePolicy(COOKIE_NAME, COOKIE_PATH, samesite == "None", samesite)


def new_conversation_id() -> str:
    """A random, unguessable conversation id (also Rasa's sender id)."""
    return secrets.token_urlsafe(24)


def is_conversation_id(value: object) -> bool:
    return isinstance(value, str) and bool(_CONVERSATION_ID_RE.fullmatch(value))


@dataclass
class ChatState:
    conversation_id: str
    started_at: int = field(default_factory=lambda: int(time.time()))
    secure_step: bool = False
    handover: str | None = None
    callback: bool = False
    buttons: list[tuple[str, str]] = field(default_factory=list)

    def owns(self, conversation_id: object) -> bool:
        """Whether ``conversation_id`` (from the request body) is this session's."""
        return isinstance(conversation_id, str) and hmac.compare_digest(
            conversation_id.encode("utf-8"), self.conversation_id.encode("utf-8")
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "c": self.conversation_id,
            "t": self.started_at,
            "s": int(self.secure_step),
            "h": self.handover,
            "cb": int(self.callback),
            "b": [list(button) for button in self.buttons],
        }

    @classmethod
    def from_wire(cls, data: Any) -> "ChatState | None":
        if not isinstance(data, dict) or not is_conversation_id(data.get("c")):
            return None
        handover = data.get("h")
        buttons = data.get("b") or []
        if handover not in (None, *HANDOVER_MODES) or not isinstance(buttons, list):
            return None
        pairs = [
            (b[0], b[1])
            for b in buttons
            if isinstance(b, list) and len(b) == 2 and all(isinstance(x, str) for x in b)
        ]
        return cls(
            conversation_id=data["c"],
            started_at=int(data.get("t") or 0),
            secure_step=bool(data.get("s")),
            handover=handover,
            callback=bool(data.get("cb")),
            buttons=pairs,
        )


class StateCodec:
    """Signs and reads the chat cookie."""

    def __init__(self, secret_key: str, max_idle_seconds: int):
        self._serializer = URLSafeTimedSerializer(secret_key, salt=SALT)
        self.max_idle_seconds = max_idle_seconds

    def dumps(self, state: ChatState) -> str:
        value = self._serializer.dumps(state.to_wire())
        if len(value) > MAX_COOKIE_BYTES and state.buttons:
            # Never lose the session over a long button list: drop the buttons.
            state.buttons = []
            value = self._serializer.dumps(state.to_wire())
        return value

    def loads(self, value: str | None) -> ChatState | None:
        """The session of a valid cookie; None if absent, forged or idle-expired."""
        if not value or len(value) > 2 * MAX_COOKIE_BYTES:
            return None
        try:
            data = self._serializer.loads(value, max_age=self.max_idle_seconds)
        except BadSignature:  # also SignatureExpired
            return None
        return ChatState.from_wire(data)

    def expired(self, value: str | None) -> ChatState | None:
        """The session of a cookie that is genuine but idle-expired (None for any other)."""
        if not value or len(value) > 2 * MAX_COOKIE_BYTES:
            return None
        try:
            self._serializer.loads(value, max_age=self.max_idle_seconds)
        except SignatureExpired as exc:  # raised only once the signature checked out
            try:
                return ChatState.from_wire(self._serializer.load_payload(exc.payload))
            except BadSignature:  # BadPayload
                return None
        except BadSignature:
            return None
        return None
