"""Who is asking, and may they: staff sessions, CSRF, roles, errors.

The records session is the gateway's one per request (:func:`bot.gateway.db.db`);
the security headers are set for every part by the gateway (:mod:`bot.gateway.headers`).

The signed Flask session cookie (shared with the other parts; the desk touches
only its own ``desk_*`` keys) carries a random session token and the CSRF
token. The token's SHA-256 is the :class:`~bot.records.staff_models.StaffSession`
row, so a log-out, a disabled account or a password change ends the session on
the server, not only in the browser. Sessions end after ``DESK_IDLE_MINUTES``
without a request and after 12 hours in any case.
"""
from __future__ import annotations

import functools
import hmac
import logging
import secrets
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from bot.flows import complaint_categories
from bot.gateway.db import db
from bot.gateway.desk import bp
from bot.records.clock import SHANGHAI, shanghai_date
from bot.records.errors import DeskNotFoundError
from bot.records.identifiers import mask_phone
from bot.records.staff_models import StaffRole, StaffUser
from bot.records.staff_sessions import end_staff_session, resolve_staff_session, start_staff_session
from bot.settings import Settings

logger = logging.getLogger(__name__)

TOKEN_KEY = "desk_sid"
CSRF_KEY = "desk_csrf"
NOTICES_KEY = "desk_notices"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The log-in steps: password, then a supervisor's code or enrolment (.second_factor).
PUBLIC_ENDPOINTS = frozenset({"desk.login", "desk.login_code", "desk.login_enrol"})
PASSWORD_CHANGE_ENDPOINTS = frozenset({"desk.password", "desk.logout"})

F = TypeVar("F", bound=Callable[..., Any])


# ----------------------------------------------------------------- plumbing


def settings() -> Settings:
    return current_app.config["HOTLINE_SETTINGS"]


def current_staff() -> StaffUser:
    staff = g.get("desk_staff")
    if staff is None:  # pragma: no cover - the guard runs first
        abort(401)
    return staff


def remote_addr() -> str | None:
    """The client's address, for the log-in throttle and the audit log.

    Behind reverse proxies it is what ``TRUSTED_PROXIES`` makes of their
    ``X-Forwarded-For`` (ProxyFix, :func:`bot.gateway.create_app`); without that
    setting every staff member behind the proxy would share one address and one
    throttle.
    """
    address = request.remote_addr
    return address[:45] if address else address


def notify(code: str, kind: str = "ok", **params: Any) -> None:
    """Queue a message for the next page (codes become Chinese in ``_labels.html``)."""
    notices = list(session.get(NOTICES_KEY, []))[-4:]
    notices.append({"code": code, "kind": kind, "params": params})
    session[NOTICES_KEY] = notices


def csrf_token() -> str:
    token = session.get(CSRF_KEY)
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        session[CSRF_KEY] = token
    return token


def _csrf_ok() -> bool:
    expected = session.get(CSRF_KEY)
    given = request.form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token") or ""
    if not isinstance(expected, str) or not expected or not given:
        return False
    if not hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
        return False
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        # Host only: behind a TLS-terminating proxy the scheme may differ.
        return urlsplit(origin).netloc == request.host
    return origin != "null"


def safe_next(target: str | None) -> str | None:
    """A local desk path to return to after log-in, or None (no open redirects)."""
    if not target or not isinstance(target, str) or len(target) > 500:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target or ".." in target:
        return None
    if not target.startswith("/desk/"):
        return None
    if target.startswith("/desk/login") or target.startswith("/desk/logout"):
        return None
    return target


# ------------------------------------------------------------------- guard


@bp.before_request
def _guard() -> Response | None:
    g.desk_staff = None
    if request.method not in SAFE_METHODS and not _csrf_ok():
        abort(400, description="csrf_failed")
    token = session.get(TOKEN_KEY)
    if token:
        check = resolve_staff_session(db(), token, idle_minutes=settings().desk_idle_minutes)
        db().commit()
        if check.staff is not None:
            g.desk_staff = check.staff
            g.desk_token_hash = check.token_hash
        else:
            session.pop(TOKEN_KEY, None)
            session[CSRF_KEY] = secrets.token_urlsafe(32)
            if check.problem == "expired":
                notify("session_expired", "error")
            elif check.problem in ("revoked", "inactive"):
                notify("session_ended", "error")
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    staff = g.desk_staff
    if staff is None:
        wanted = safe_next(request.full_path.rstrip("?")) if request.method == "GET" else None
        return redirect(url_for("desk.login", next=wanted) if wanted else url_for("desk.login"))
    if staff.must_change_password and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
        return redirect(url_for("desk.password"))
    return None


def supervisor_required(view: F) -> F:
    """Only supervisors (督查) may use this view; agents get a 403 page."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_staff().role is not StaffRole.supervisor:
            abort(403, description="supervisor_only")
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def log_in(staff: StaffUser) -> None:
    """Start a fresh server session for ``staff`` and rotate the cookie's desk keys."""
    token = start_staff_session(db(), staff, remote_addr=remote_addr())
    session[TOKEN_KEY] = token
    session[CSRF_KEY] = secrets.token_urlsafe(32)
    session.permanent = False


def log_out() -> None:
    end_staff_session(db(), session.get(TOKEN_KEY))
    session.pop(TOKEN_KEY, None)
    session[CSRF_KEY] = secrets.token_urlsafe(32)


# ------------------------------------------------------------ responses


ERROR_CODES = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "bad_request",
               409: "conflict", 413: "too_large", 429: "too_many"}


def error_page(status: int, code: str | None = None) -> tuple[str, int]:
    return render_template("desk/error.html", status=status,
                           code=code or ERROR_CODES.get(status, "bad_request")), status


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Any:
    status = exc.code or 500
    if status >= 500:
        return exc
    description = exc.description if isinstance(exc.description, str) else None
    known = description if description and description.isidentifier() else None
    return error_page(status, known)


@bp.errorhandler(DeskNotFoundError)
def _not_found(exc: DeskNotFoundError) -> Any:
    return error_page(404, exc.code)


@bp.errorhandler(SQLAlchemyError)
def _database_unavailable(_exc: SQLAlchemyError) -> Any:
    """The records database failed (e.g. restarting): a page that says so, never a traceback."""
    logger.exception("desk %s: the records database failed", request.endpoint)
    return error_page(503, "database_unavailable")


# ------------------------------------------------------------- templates


def local_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def local_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(SHANGHAI).date()
    return value.isoformat()


@bp.app_template_filter("desk_dt")
def _desk_dt(value: datetime | None) -> str:
    return local_datetime(value)


@bp.app_template_filter("desk_date")
def _desk_date(value: date | datetime | None) -> str:
    return local_date(value)


@bp.app_template_filter("desk_mask")
def _desk_mask(value: str | None) -> str:
    return mask_phone(value)


@bp.context_processor
def _context() -> dict[str, Any]:
    notices = session.pop(NOTICES_KEY, []) if NOTICES_KEY in session else []
    return {
        "staff": g.get("desk_staff"),
        "csrf_token": csrf_token,
        "notices": notices,
        "category_labels": {c.code: c.label for c in complaint_categories()},
        "today": shanghai_date(),
        "max_failures": settings().desk_max_login_failures,
        "lockout_minutes": settings().desk_lockout_minutes,
    }
