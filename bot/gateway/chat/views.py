"""Routes of the ``chat`` blueprint: demo page, widget assets and the JSON chat API.

Pages and assets
    ``GET /``                   demo fund-centre home page with the widget (labelled 演示)
    ``GET /chat/widget.js``     the widget: one ``<script src=…/chat/widget.js>`` embeds it
    ``GET /chat/widget.css``    its style sheet (loaded by the widget into its shadow root)

JSON API (``POST``, ``Content-Type: application/json``, signed chat cookie)
    ``/chat/api/session``   start or resume: conversation id, history, menu, state
    ``/chat/api/message``   ``{"text": …}`` or ``{"choice": {"menu": …, "key": …}}`` /
                            ``{"choice": {"button": n}}``
    ``/chat/api/verify``    the secure step: identifier + query password (never to Rasa)
    ``/chat/api/end``       end the conversation (the assistant asks for a rating)
    ``/chat/api/callback``  leave a phone number after a hand-over

Every call but ``session`` names its ``conversation_id``, which must be the
cookie's. Errors are ``{"error": {"code", "message"}}`` with a Chinese message
that says what to do next.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    make_response,
    render_template,
    request,
    send_from_directory,
)
from werkzeug.exceptions import HTTPException

from bot.gateway.chat.assistant import AssistantUnavailable
from bot.gateway.chat.replies import (
    SYSTEM_INTENTS,
    Reply,
    clean_text,
    history,
    intent_from_payload,
    looks_like_secret,
    parse_reply,
)
from bot.gateway.chat.service import EXTENSION, ChatService
from bot.gateway.chat.state import COOKIE_NAME, COOKIE_PATH, ChatState, new_conversation_id
from bot.records import handovers
from bot.records.db import session_scope
from bot.records.errors import RecordsValidationError
from bot.records.identifiers import (
    classify_identifier,
    mask_phone,
    normalize_digits,
    normalize_phone,
)
from bot.records.passwords import is_valid_password_format
from bot.records.verification import verify_identity

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static" / "chat"
API_PREFIX = "/chat/api/"
CHANNEL = "webchat"
MAX_IDENTIFIER_CHARS = 40
MAX_PHONE_CHARS = 30
VERIFY_ADDRESS_FACTOR = 5  # verification attempts per address = 5 × per session

PAGE_CSP = "; ".join(
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
API_CSP = "default-src 'none'; frame-ancestors 'none'"

bp = Blueprint("chat", __name__)


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
    ):
        super().__init__(code)
        self.status, self.code, self.message = status, code, message
        self.headers, self.field = headers or {}, field


def _service() -> ChatService:
    return current_app.extensions[EXTENSION]


def _fail(status: int, code: str, **values: Any) -> NoReturn:
    raise ApiError(status, code, _service().texts.error(code, **values))


# ----------------------------------------------------------------- security


def client_address() -> str:
    """The visitor's address (behind N trusted proxies: Nth X-Forwarded-For from the right)."""
    hops = _service().settings.chat_trusted_proxies
    if hops > 0:
        forwarded = [
            p.strip() for p in request.headers.get("X-Forwarded-For", "").split(",") if p.strip()
        ]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.remote_addr or "unknown"


def _origin_allowed(origin: str) -> bool:
    """Same host as the gateway, or listed in ``CHAT_ALLOWED_ORIGINS``."""
    if origin.rstrip("/").lower() in _service().settings.chat_allowed_origins:
        return True
    parts = urlsplit(origin)
    return bool(parts.netloc) and parts.netloc.lower() == (request.host or "").lower()


def _cross_origin() -> str | None:
    """The request's Origin when it is another allowed origin (CORS headers needed)."""
    origin = request.headers.get("Origin")
    if origin and origin.rstrip("/").lower() in _service().settings.chat_allowed_origins:
        return origin
    return None


@bp.before_request
def guard_api() -> Response | None:
    """Origin, preflight, per-address limit and content type, before any API view."""
    if not request.path.startswith(API_PREFIX):
        return None
    service = _service()
    origin = request.headers.get("Origin")
    if origin is not None and not _origin_allowed(origin):
        logger.warning("chat API refused for origin %r", origin[:100])
        _fail(403, "origin_not_allowed")
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
        _rate_limited(verdict.retry_after)
    if request.method == "POST" and request.mimetype != "application/json":
        raise ApiError(415, "bad_request", service.texts.error("bad_request"))
    return None


def _rate_limited(retry_after: int) -> NoReturn:
    raise ApiError(
        429,
        "rate_limited",
        _service().texts.error("rate_limited", retry_after=retry_after),
        {"Retry-After": str(retry_after)},
    )


@bp.after_request
def security_headers(response: Response) -> Response:
    response.headers["X-Content-Type-Options"] = "nosniff"
    if request.path.startswith(API_PREFIX):
        response.headers["Content-Security-Policy"] = API_CSP
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        origin = _cross_origin()
        if origin:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Credentials"] = "true"
        response.vary.add("Origin")
    elif response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = PAGE_CSP
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    else:
        response.headers["Content-Security-Policy"] = API_CSP
    return response


@bp.errorhandler(ApiError)
def api_error(error: ApiError) -> Response:
    detail = {"code": error.code, "message": error.message}
    if error.field:
        detail["field"] = error.field
    response = jsonify(error=detail)
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> Response:
    if not request.path.startswith(API_PREFIX):
        return error  # type: ignore[return-value]
    code = "bad_request"
    if error.code == 413:
        code = "too_long"
        message = _service().texts.error(
            "too_long", max_chars=_service().settings.chat_max_message_chars
        )
    else:
        message = _service().texts.error("bad_request")
    response = jsonify(error={"code": code, "message": message})
    response.status_code = error.code or 400
    return response


# ----------------------------------------------------------------- helpers


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        _fail(400, "bad_request")
    return body


def _state(body: dict[str, Any]) -> ChatState:
    """The visitor's session, which must own the conversation the body names."""
    service = _service()
    state = service.codec.loads(request.cookies.get(COOKIE_NAME))
    if state is None:
        _fail(401, "no_session")
    if not state.owns(body.get("conversation_id")):
        logger.warning("chat API: conversation id does not match the session; refused")
        _fail(403, "wrong_conversation")
    return state


def _count_turn(state: ChatState) -> None:
    service = _service()
    verdict = service.limiter.hit(
        f"s:{state.conversation_id}", service.settings.chat_rate_per_session, 60
    )
    if not verdict.allowed:
        _rate_limited(verdict.retry_after)


def _respond(payload: dict[str, Any], state: ChatState, status: int = 200) -> Response:
    service = _service()
    response = jsonify(payload)
    response.status_code = status
    response.set_cookie(
        COOKIE_NAME,
        service.codec.dumps(state),
        path=COOKIE_PATH,
        httponly=True,
        secure=service.settings.is_production or service.settings.chat_cookie_samesite == "None",
        samesite=service.settings.chat_cookie_samesite,
    )
    return response


def _menu_json(name: str) -> dict[str, Any]:
    menu = _service().menus[name]
    return {
        "name": menu.name,
        "prompt": menu.prompt,
        "items": [{"key": item.key, "label": item.label} for item in menu.items],
    }


def _handover_json(state: ChatState) -> dict[str, Any] | None:
    if state.handover is None:
        return None
    return {
        "mode": state.handover,
        "callback_done": state.callback,
        "hours": _service().texts.agent_hours(_service().agent_hours),
    }


def _turn_json(state: ChatState, reply: Reply | None = None, **extra: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "conversation_id": state.conversation_id,
        "messages": reply.messages if reply else [],
        "buttons": [{"id": i, "title": title} for i, (title, _) in enumerate(state.buttons)],
        "secure_step": state.secure_step,
        "handover": _handover_json(state),
    }
    payload.update(extra)
    return payload


def _apply_reply(state: ChatState, reply: Reply) -> Reply:
    """Update the session from the assistant's turn; hand-over per agent hours."""
    service = _service()
    state.buttons = reply.buttons
    state.secure_step = reply.secure_step
    if reply.handover:
        state.handover = "in_hours" if service.agents_available() else "after_hours"
        state.callback = False
        hours = service.texts.agent_hours(service.agent_hours)
        for message in reply.messages:
            if message.get("handover") and state.handover == "after_hours":
                message["text"] = service.texts.get("handover.after_hours", hours=hours)
        if state.handover == "in_hours":
            reply.messages.append(
                {"role": "note", "text": service.texts.get("handover.in_hours"), "tone": "info"}
            )
    return reply


def _converse(state: ChatState, send: Any) -> Reply:
    """Run one assistant turn, turning any failure into the 96319 apology."""
    try:
        raw = send()
    except AssistantUnavailable:
        _fail(503, "assistant_unavailable")
    return _apply_reply(state, parse_reply(raw))


def _history(state: ChatState) -> list[dict[str, Any]]:
    service = _service()
    texts = service.texts
    after_hours = (
        texts.get("handover.after_hours", hours=texts.agent_hours(service.agent_hours))
        if state.handover == "after_hours"
        else None
    )
    items = history(
        service.assistant.events(state.conversation_id),
        verified_note=texts.get("verified_note"),
        failed_note=texts.get("verify_failed_note"),
        handover_text=after_hours,
    )
    if state.handover == "in_hours":
        last = max((i for i, item in enumerate(items) if item.get("handover")), default=None)
        if last is not None:
            items.insert(
                last + 1, {"role": "note", "text": texts.get("handover.in_hours"), "tone": "info"}
            )
    return items


# ----------------------------------------------------------------- pages


@bp.get("/")
def demo_page() -> str:
    return render_template("chat/demo.html")


def _asset(name: str, mimetype: str) -> Response:
    response = send_from_directory(STATIC_DIR, name, mimetype=mimetype, max_age=300)
    # The widget is meant to be loaded by other sites' pages.
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@bp.get("/chat/widget.js")
def widget_js() -> Response:
    return _asset("widget.js", "text/javascript")


@bp.get("/chat/widget.css")
def widget_css() -> Response:
    return _asset("widget.css", "text/css")


@bp.get("/chat/demo.css")
def demo_css() -> Response:
    return _asset("demo.css", "text/css")


# ----------------------------------------------------------------- API


@bp.route("/chat/api/session", methods=["POST", "OPTIONS"])
def start_session() -> Response:
    """Resume the browser's conversation (with its history) or start a new one."""
    service = _service()
    body = _body()
    state = service.codec.loads(request.cookies.get(COOKIE_NAME))
    resumed = state is not None and body.get("restart") is not True
    payload: dict[str, Any] = {}
    if resumed:
        assert state is not None
        try:
            payload["history"] = _history(state)
        except AssistantUnavailable:
            payload["history"] = []
            payload["notice"] = service.texts.error("assistant_unavailable")
    else:
        verdict = service.limiter.hit(
            f"n:{client_address()}", service.settings.chat_new_sessions_per_address, 3600
        )
        if not verdict.allowed:
            _rate_limited(verdict.retry_after)
        state = ChatState(conversation_id=new_conversation_id())
        payload["history"] = []
        logger.info("chat session started: %s…", state.conversation_id[:6])
    payload.update(
        resumed=resumed,
        welcome=service.texts.get("welcome"),
        main_menu=_menu_json("main"),
        max_chars=service.settings.chat_max_message_chars,
    )
    return _respond(_turn_json(state, **payload), state)


def _choice(state: ChatState, choice: Any) -> Response:
    service = _service()
    if not isinstance(choice, dict):
        _fail(400, "bad_request")
    if "menu" in choice:
        menu = (
            service.menus.get(choice.get("menu")) if isinstance(choice.get("menu"), str) else None
        )
        item = menu.item(choice.get("key")) if menu and isinstance(choice.get("key"), str) else None
        if item is None:
            _fail(422, "unknown_choice")
        display = {"display": item.label}
        cid = state.conversation_id
        if item.submenu:
            state.buttons, state.secure_step = [], False
            submenu = _menu_json(item.submenu)
            reply = Reply(
                messages=[{"role": "bot", "text": submenu["prompt"]}] if submenu["prompt"] else []
            )
            return _respond(_turn_json(state, reply, menu=submenu), state)
        if item.handover:
            reply = _converse(
                state, lambda: service.assistant.send_intent(cid, "human_agent", metadata=display)
            )
        elif item.intent:
            if item.intent in SYSTEM_INTENTS:
                _fail(422, "unknown_choice")
            reply = _converse(
                state, lambda: service.assistant.send_intent(cid, item.intent, metadata=display)
            )
        else:
            reply = _converse(
                state, lambda: service.assistant.send_text(cid, item.text, metadata=display)
            )
        return _respond(_turn_json(state, reply), state)
    index = choice.get("button")
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(state.buttons):
        _fail(422, "unknown_choice")
    title, payload = state.buttons[index]
    try:
        parsed = intent_from_payload(payload)
    except ValueError:
        logger.warning("chat: refused a button payload that is not a plain intent")
        _fail(422, "unknown_choice")
    cid, display = state.conversation_id, {"display": title}
    if parsed is None:
        reply = _converse(
            state, lambda: service.assistant.send_text(cid, payload, metadata=display)
        )
    else:
        intent, entities = parsed
        reply = _converse(
            state, lambda: service.assistant.send_intent(cid, intent, entities, metadata=display)
        )
    return _respond(_turn_json(state, reply), state)


@bp.route("/chat/api/message", methods=["POST", "OPTIONS"])
def send_message() -> Response:
    """What the visitor typed, or a menu item / button they chose."""
    service = _service()
    body = _body()
    state = _state(body)
    has_text, has_choice = "text" in body, "choice" in body
    if has_text == has_choice:
        _fail(400, "bad_request")
    _count_turn(state)
    if has_choice:
        return _choice(state, body["choice"])
    if not isinstance(body["text"], str):
        _fail(400, "bad_request")
    text = clean_text(body["text"])
    if not text:
        _fail(422, "empty")
    limit = service.settings.chat_max_message_chars
    if len(text) > limit:
        _fail(422, "too_long", max_chars=limit)
    if looks_like_secret(text, secure_step_open=state.secure_step):
        _fail(422, "secret_in_chat")
    cid = state.conversation_id
    reply = _converse(state, lambda: service.assistant.send_text(cid, text))
    return _respond(_turn_json(state, reply), state)


@bp.route("/chat/api/verify", methods=["POST", "OPTIONS"])
def verify() -> Response:
    """The secure step: check identifier + password here and tell Rasa only the outcome."""
    service = _service()
    settings = service.settings
    body = _body()
    state = _state(body)
    identifier, password = body.get("identifier"), body.get("password")
    if not isinstance(identifier, str) or not isinstance(password, str):
        _fail(400, "bad_request")
    if not state.secure_step:
        _fail(409, "verify_not_requested")
    for key, limit in (
        (f"v:{state.conversation_id}", settings.chat_verify_attempts_per_session),
        (
            f"va:{client_address()}",
            settings.chat_verify_attempts_per_session * VERIFY_ADDRESS_FACTOR,
        ),
    ):
        verdict = service.limiter.hit(key, limit, 3600)
        if not verdict.allowed:
            _rate_limited(verdict.retry_after)
    if len(identifier) > MAX_IDENTIFIER_CHARS or classify_identifier(identifier)[0] is None:
        _field_error("identifier", "verify_invalid_identifier")
    password = normalize_digits(password.strip())
    if not is_valid_password_format(password):
        _field_error("password", "verify_invalid_password")
    cid = state.conversation_id
    try:
        with session_scope(settings.database_url) as session:
            result = verify_identity(
                session,
                identifier,
                password,
                channel=CHANNEL,
                conversation_id=cid,
                settings=settings,
            )
    except Exception:  # noqa: BLE001 - the visitor gets the apology, the log the cause
        logger.exception("chat verification could not run")
        _fail(503, "verify_unavailable")
    finally:
        del password
    if result.ok:
        assert result.token is not None
        intent, entities = "authenticated", {"auth_token": result.token}
        note = {"role": "note", "text": service.texts.get("verified_note"), "tone": "ok"}
    else:
        intent, entities = "authentication_failed", {"reason": str(result.reason)}
        if result.remaining_attempts is not None:
            entities["remaining"] = str(result.remaining_attempts)
        note = {"role": "note", "text": service.texts.get("verify_failed_note"), "tone": "warn"}
    logger.info("chat verification for %s…: %s", cid[:6], "ok" if result.ok else result.reason)
    state.secure_step = False
    reply = _converse(state, lambda: service.assistant.send_intent(cid, intent, entities))
    reply.messages.insert(0, note)
    return _respond(_turn_json(state, reply, verified=result.ok), state)


def _field_error(field: str, code: str) -> NoReturn:
    raise ApiError(422, code, _service().texts.error(code), field=field)


@bp.route("/chat/api/end", methods=["POST", "OPTIONS"])
def end_conversation() -> Response:
    """The visitor ends the chat; the assistant asks for the rating, then says goodbye."""
    service = _service()
    body = _body()
    state = _state(body)
    _count_turn(state)
    cid, display = state.conversation_id, {"display": service.texts.get("end_label")}
    reply = _converse(
        state, lambda: service.assistant.send_intent(cid, "goodbye", metadata=display)
    )
    return _respond(_turn_json(state, reply), state)


@bp.route("/chat/api/callback", methods=["POST", "OPTIONS"])
def request_callback() -> Response:
    """After a hand-over: the visitor leaves a phone number to be called back."""
    service = _service()
    body = _body()
    state = _state(body)
    _count_turn(state)
    phone = body.get("phone")
    if not isinstance(phone, str):
        _fail(400, "bad_request")
    if state.handover is None:
        _fail(409, "callback_not_available")
    if state.callback:
        _fail(409, "callback_already")
    normalized = normalize_phone(phone) if len(phone) <= MAX_PHONE_CHARS else None
    if normalized is None:
        _field_error("phone", "callback_invalid_phone")
    try:
        with session_scope(service.settings.database_url) as session:
            handovers.record_callback(
                session,
                conversation_id=state.conversation_id,
                channel=CHANNEL,
                phone=normalized,
                reason=state.handover,
                now=service.clock(),
            )
    except RecordsValidationError:
        _field_error("phone", "callback_invalid_phone")
    except Exception:  # noqa: BLE001
        logger.exception("chat callback request could not be recorded")
        _fail(503, "callback_unavailable")
    state.callback = True
    logger.info(
        "chat callback requested for %s… (%s)", state.conversation_id[:6], mask_phone(normalized)
    )
    note = {
        "role": "note",
        "text": service.texts.get("handover.callback_recorded", phone_tail=normalized[-4:]),
        "tone": "ok",
    }
    return _respond(_turn_json(state, Reply(messages=[note])), state)
