"""The security headers of every response, in one place.

Every response of the gateway gets :data:`BASELINE`: nothing may be framed,
sniffed or loaded, and no referrer leaves. A part's pages that need more (the
chat demo page loads the widget; the desk renders forms with its own style and
script) get the policy written for them in :data:`POLICIES`, on top of the
baseline; each entry names the blueprint and which of its responses it covers.
Cross-origin access to the chat API (CORS) is not here: it depends on the chat's
allowed origins and is answered by :mod:`bot.gateway.chat.api`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

from flask import Flask, Response, request

from bot.gateway.chat.api import API_PREFIX

NOTHING_CSP = "default-src 'none'; frame-ancestors 'none'"

CHAT_PAGE_CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

DESK_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)

BASELINE: Mapping[str, str] = {
    "Content-Security-Policy": NOTHING_CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

NO_STORE: Mapping[str, str] = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@dataclass(frozen=True)
class Policy:
    """Headers over the baseline for the responses of one blueprint that ``covers`` picks."""

    blueprint: str
    covers: Callable[[Response], bool]
    headers: Mapping[str, str]


def _chat_api(_response: Response) -> bool:
    return request.path.startswith(API_PREFIX)


def _html_page(response: Response) -> bool:
    return response.mimetype == "text/html"


def _every(_response: Response) -> bool:
    return True


# The first policy of the response's blueprint that covers it applies.
POLICIES: tuple[Policy, ...] = (
    # The chat API: answers about one visitor, never cached.
    Policy("chat", _chat_api, NO_STORE),
    # The chat demo page loads the widget's script and style from the gateway.
    Policy(
        "chat",
        _html_page,
        {"Content-Security-Policy": CHAT_PAGE_CSP, "Referrer-Policy": "strict-origin-when-cross-origin"},
    ),
    # The desk: staff pages and forms, personal data, never cached.
    Policy(
        "desk", _every, {"Content-Security-Policy": DESK_CSP, "Referrer-Policy": "same-origin", **NO_STORE}
    ),
)


def security_headers(response: Response) -> Response:
    """Set the baseline, then the first policy written for this response."""
    response.headers.update(BASELINE)
    for policy in POLICIES:
        if policy.blueprint == request.blueprint and policy.covers(response):
            response.headers.update(policy.headers)
            break
    return response


def init_app(app: Flask) -> None:
    app.after_request(security_headers)
