"""Ground rules of the chat's JSON API, before and around every API view.

- :func:`guard_api` (before every ``/chat/api/…`` request): the ``Origin`` must
  be the gateway's own or listed in ``CHAT_ALLOWED_ORIGINS``; preflights are
  answered; the per-address rate limit; JSON bodies only.
- :func:`cors_headers`: CORS for allowed cross-origin pages (the other
  security headers are the gateway's, :mod:`bot.gateway.headers`).
- Errors are ``{"error": {"code", "message"[, "field"]}}`` with a Chinese
  message that says what to do next: views raise them with :func:`fail`,
  :func:`field_error` or :func:`rate_limited`.
- What every API view starts and ends with: :func:`read_body`,
  :func:`conversation_state` (the signed cookie must own the conversation the
  body names; :func:`cookie_state` reads it), :func:`count_turn` (per-session
  rate limit) and :func:`respond` (the JSON answer with the refreshed cookie).
"""

from __future__ import annotations

import logging
from typing import Any, NoReturn
from urllib.parse import urlsplit

from flask import Response, jsonify, make_response, request
from werkzeug.exceptions import HTTPException

from bot import metrics
from bot.gateway.chat import bp
from bot.gateway.chat.service import current_service
from bot.gateway.chat.lifecycle import end_verification
from bot.gateway.chat.state import ChatState
from bot.logs import bind_conversation

logger = logging.getLogger(__name__)

API_PREFIX = "/chat/api/"


class ApiError(Exception):
    """An error answered as JSON with a Chinese message for the visitor.

    ``field`` names the form field at fault (verification and callback forms).
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        field: str | None = None,
        extra: dict[str, Any] | None = None,
        state: ChatState | None = None,
    ):
        super().__init__(code)
        self.status, self.code, self.message = status, code, message
        self.headers, self.field = headers or {}, field
        # ``extra``: more of the answer beside the error (the apology's callback
        # offer); ``state``: the session changed, its cookie is refreshed.
        self.extra, self.state = extra or {}, state


def fail(status: int, code: str, **values: Any) -> NoReturn:
    """Answer ``status`` with the Chinese message of ``code`` (``messages.yml``)."""
    raise ApiError(status, code, current_service().texts.error(code, **values))


def field_error(field: str, code: str) -> NoReturn:
    """A form value is wrong: 422, and the widget marks ``field``."""
    raise ApiError(422, code, current_service().texts.error(code), field=field)


def rate_limited(retry_after: int, limit: str) -> NoReturn:
    """429 past a limit (``limit``: address, session, new_session, verify; counted)."""
    metrics.rate_limited("webchat", limit)
    raise ApiError(
        429,
        "rate_limited",
        current_service().texts.error("rate_limited", retry_after=retry_after),
        {"Retry-After": str(retry_after)},
    )


# ----------------------------------------------------------------- before and after


def client_address() -> str:
    """The visitor's address (behind proxies: as ``TRUSTED_PROXIES`` makes it, ProxyFix)."""
    return request.remote_addr or "unknown"


def _origin_allowed(origin: str) -> bool:
    """Same host as the gateway, or listed in ``CHAT_ALLOWED_ORIGINS``."""
    if origin.rstrip("/").lower() in current_service().settings.chat_allowed_origins:
        return True
    parts = urlsplit(origin)
    return bool(parts.netloc) and parts.netloc.lower() == (request.host or "").lower()


def _cross_origin() -> str | None:
    """The request's Origin when it is another allowed origin (CORS headers needed)."""
    origin = request.headers.get("Origin")
    if origin and origin.rstrip("/").lower() in current_service().settings.chat_allowed_origins:
        return origin
    return None


@bp.before_request
def guard_api() -> Response | None:
    """Origin, preflight, per-address limit and content type, before any API view."""
    if not request.path.startswith(API_PREFIX):
        return None
    service = current_service()
    origin = request.headers.get("Origin")
    if origin is not None and not _origin_allowed(origin):
        logger.warning("chat API refused for origin %r", origin[:100])
        fail(403, "origin_not_allowed")
    if request.method == "OPTIONS":
        response = make_response("", 204)
        response.headers["Access-Control-Allow-Methods"] = "POST"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        response.headers["Access-Control-Max-Age"] = "600"
        return response
    verdict = service.limiter.hit(
        f"a:{client_address()}", service.settings.chat_rate_per_address, 60
    )
    if not verdict.allowed:
        rate_limited(verdict.retry_after, "address")
    if request.method == "POST" and request.mimetype != "application/json":
        raise ApiError(415, "bad_request", service.texts.error("bad_request"))
    return None


@bp.after_request
def cors_headers(response: Response) -> Response:
    """CORS for the API (security headers: :mod:`bot.gateway.headers`)."""
    if request.path.startswith(API_PREFIX):
        origin = _cross_origin()
        if origin:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Credentials"] = "true"
        response.vary.add("Origin")
    return response


@bp.errorhandler(ApiError)
def api_error(error: ApiError) -> Response:
    detail = {"code": error.code, "message": error.message}
    if error.field:
        detail["field"] = error.field
    response = jsonify(error=detail, **error.extra)
    response.status_code = error.status
    response.headers.update(error.headers)
    if error.state is not None:
        _set_cookie(response, error.state)
    return response


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> Response:
    if not request.path.startswith(API_PREFIX):
        return error  # type: ignore[return-value]
    service = current_service()
    code = "bad_request"
    if error.code == 413:
        code = "too_long"
        message = service.texts.error("too_long", max_chars=service.settings.chat_max_message_chars)
    else:
        message = service.texts.error("bad_request")
    response = jsonify(error={"code": code, "message": message})
    response.status_code = error.code or 400
    return response


# ----------------------------------------------------------------- in every view


def read_body() -> dict[str, Any]:
    """The request's JSON object (400 for anything else)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        fail(400, "bad_request")
    return body


def cookie_state() -> ChatState | None:
    """The session of the request's chat cookie, if it is valid.

    A genuine cookie that has idle-expired is no session either, but what its
    conversation was granted (the secure step's auth session) is revoked now.
    """
    service = current_service()
    value = request.cookies.get(service.cookie.name)
    state = service.codec.loads(value)
    if state is None:
        expired = service.codec.expired(value)
        if expired is not None:
            end_verification(expired.conversation_id, why="expired")
    return state


def conversation_state(body: dict[str, Any]) -> ChatState:
    """The visitor's session, which must own the conversation the body names."""
    state = cookie_state()
    if state is None:
        fail(401, "no_session")
    bind_conversation(state.conversation_id)
    if not state.owns(body.get("conversation_id")):
        logger.warning("chat API: conversation id does not match the session; refused")
        fail(403, "wrong_conversation")
    return state


def count_turn(state: ChatState) -> None:
    """One more turn of this conversation in the current minute (429 past the limit)."""
    service = current_service()
    verdict = service.limiter.hit(
        f"s:{state.conversation_id}", service.settings.chat_rate_per_session, 60
    )
    if not verdict.allowed:
        rate_limited(verdict.retry_after, "session")


def respond(payload: dict[str, Any], state: ChatState, status: int = 200) -> Response:
    """``payload`` as JSON, with the session cookie refreshed from ``state``."""
    response = jsonify(payload)
    response.status_code = status
    _set_cookie(response, state)
    return response


def _set_cookie(response: Response, state: ChatState) -> None:
    service = current_service()
    cookie = service.cookie
    response.set_cookie(
        cookie.name,
        service.codec.dumps(state),
        path=cookie.path,
        httponly=True,
        secure=cookie.secure,
        samesite=cookie.samesite,
    )
