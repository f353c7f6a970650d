"""Translation between Rasa's messages and the widget's JSON (the channel's wire format).

The widget renders every ``text`` with ``textContent``; the only markup-like
data it gets are links, and only those a response marks in its custom payload
(``custom: {links: [{title, url}]}``), checked here: ``https://`` or ``tel:``
URLs, nothing else. Buttons go to the browser as titles with an index; their
payloads stay in the gateway (:mod:`bot.gateway.chat.state`), so the browser can
only pick one of the buttons the assistant offered, never write an intent; a
button's payload is read with :func:`bot.contract.parse_intent_payload`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable
from urllib.parse import urlsplit

from bot.contract import AUTHENTICATED, AUTHENTICATION_FAILED
from bot.records.identifiers import normalize_ticket_id

MAX_BUTTONS = 12
MAX_BUTTON_TITLE = 40
MAX_BUTTON_PAYLOAD = 200
MAX_LINKS = 5
MAX_LINK_TITLE = 100
MAX_LINK_URL = 500
MAX_TEXT = 4000

# The responses of the account actions (actions/account.py) that tell a verified
# depositor's own figures; Rasa names the response in a bot event's
# ``metadata.utter_action``.
ACCOUNT_RESPONSES = ("utter_balance_", "utter_loan_", "utter_withdrawal_", "utter_entrust_")

_TEL_RE = re.compile(r"^tel:\+?[0-9\-]{3,20}$")
_CONTROL_RE = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]"
)


@dataclass
class Reply:
    """One turn of the assistant, ready for the widget."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    buttons: list[tuple[str, str]] = field(default_factory=list)
    secure_step: bool = False
    handover: bool = False


def clean_text(text: str) -> str:
    """What a visitor typed, without control and direction-override characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL_RE.sub("", text).strip()


def _safe_link(raw: Any) -> dict[str, str] | None:
    if not isinstance(raw, dict):
        return None
    title, url = raw.get("title"), raw.get("url")
    if not isinstance(title, str) or not isinstance(url, str):
        return None
    title, url = title.strip(), url.strip()
    if not title or len(title) > MAX_LINK_TITLE or not url or len(url) > MAX_LINK_URL:
        return None
    if any(ch.isspace() for ch in url) or _CONTROL_RE.search(url):
        return None
    if _TEL_RE.fullmatch(url):
        return {"title": title, "url": url}
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
        return None
    return {"title": title, "url": url}


def _apply_custom(item: dict[str, Any], custom: Any, reply: Reply | None) -> None:
    if not isinstance(custom, dict):
        return
    if custom.get("secure_input") == "identity" and reply is not None:
        reply.secure_step = True
    if custom.get("handover") is True:
        item["handover"] = True
        if reply is not None:
            reply.handover = True
    ticket = custom.get("complaint_ticket")
    if isinstance(ticket, str) and normalize_ticket_id(ticket):
        item["ticket"] = normalize_ticket_id(ticket)
    links = [link for link in map(_safe_link, custom.get("links") or []) if link]
    if links:
        item.setdefault("links", []).extend(links[:MAX_LINKS])


def _buttons(raw: Any) -> list[tuple[str, str]]:
    buttons = []
    for button in raw if isinstance(raw, list) else []:
        if not isinstance(button, dict):
            continue
        title, payload = button.get("title"), button.get("payload")
        if not isinstance(title, str) or not isinstance(payload, str):
            continue
        title, payload = title.strip()[:MAX_BUTTON_TITLE], payload.strip()
        if title and payload and len(payload) <= MAX_BUTTON_PAYLOAD:
            buttons.append((title, payload))
    return buttons[:MAX_BUTTONS]


def parse_reply(messages: Iterable[dict[str, Any]]) -> Reply:
    """Turn Rasa's channel reply (text, buttons and custom payloads) into a :class:`Reply`.

    Rasa's collecting channel sends a response's custom payload as a message of
    its own right after the text; it is attached to that text here.
    """
    reply = Reply()
    for message in messages:
        text = message.get("text")
        if isinstance(text, str) and text.strip():
            reply.messages.append({"role": "bot", "text": text.strip()[:MAX_TEXT]})
        buttons = _buttons(message.get("buttons"))
        if buttons:
            reply.buttons = buttons
        custom = message.get("custom")
        if custom is not None:
            if not reply.messages:
                reply.messages.append({"role": "bot", "text": ""})
            _apply_custom(reply.messages[-1], custom, reply)
    reply.messages = [m for m in reply.messages if m["text"] or len(m) > 2]
    return reply


def is_account_answer(event: dict[str, Any]) -> bool:
    """Whether a bot event tells the verified depositor's own account, loan or withdrawals."""
    metadata = event.get("metadata")
    response = metadata.get("utter_action") if isinstance(metadata, dict) else None
    return isinstance(response, str) and response.startswith(ACCOUNT_RESPONSES)


def history(
    events: Iterable[dict[str, Any]],
    *,
    verified_note: str,
    failed_note: str,
    handover_text: str | None = None,
    hidden_note: str | None = None,
) -> list[dict[str, Any]]:
    """The visible conversation of the current Rasa session, from tracker events.

    Gateway messages appear as what the visitor did: a menu choice by its label
    (``metadata.display``), the secure step only as a note (verified / failed);
    the token itself is never part of the history; a turn undone after a failure
    (``rewind``) is left out. ``handover_text`` replaces the
    assistant's hand-over announcement (outside agent hours). With
    ``hidden_note`` (the auth session has expired or was revoked), each run of
    account answers is replaced by that one note.
    """
    events = list(events)
    starts = [i for i, event in enumerate(events) if event.get("event") == "session_started"]
    if starts:
        events = events[starts[-1] + 1 :]
    items: list[dict[str, Any]] = []
    hidden = {"role": "note", "text": hidden_note, "tone": "info"}
    turn_start = 0  # where the items of the last user message begin
    for event in events:
        kind = event.get("event")
        if kind == "rewind":
            # A failed turn that Rasa's channel undid (bot.channels.turn_guard):
            # the visitor saw it as not delivered, so it is not in the history.
            del items[turn_start:]
            continue
        if kind == "user":
            turn_start = len(items)
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if intent == AUTHENTICATED:
                items.append({"role": "note", "text": verified_note, "tone": "ok"})
                continue
            if intent == AUTHENTICATION_FAILED:
                items.append({"role": "note", "text": failed_note, "tone": "warn"})
                continue
            metadata = event.get("metadata") or {}
            display = metadata.get("display") if isinstance(metadata, dict) else None
            text = display if isinstance(display, str) else event.get("text")
            if isinstance(text, str) and text.strip() and not text.startswith("/"):
                items.append({"role": "user", "text": text.strip()[:MAX_TEXT]})
        elif kind == "bot":
            if hidden_note is not None and is_account_answer(event):
                if items[-1:] != [hidden]:
                    items.append(dict(hidden))
                continue
            text = event.get("text")
            item: dict[str, Any] = {
                "role": "bot",
                "text": text.strip()[:MAX_TEXT] if isinstance(text, str) else "",
            }
            _apply_custom(item, (event.get("data") or {}).get("custom"), None)
            if item.get("handover") and handover_text:
                item["text"] = handover_text
            if item["text"] or len(item) > 2:
                items.append(item)
    return items
