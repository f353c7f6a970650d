"""The supervisor's second log-in step: enrol an authenticator app, then give its code.

After the right password of a supervisor (:func:`begin`, called by the log-in
view), the signed session cookie holds who is half-way through for
:data:`PENDING_SECONDS` — no desk session exists yet. A supervisor without a
key gets a fresh one, sealed in that cookie, and the enrolment page shows it as
text (the ``otpauth://`` URI and the base32 key) until a right code confirms
it; one with a key gets the code page. Codes are checked by
:func:`bot.records.second_factor.check_code`; wrong codes count towards the
lock-out, and a locked account gets the log-in page's one message.
"""
from __future__ import annotations

import time
from typing import Any

from flask import redirect, render_template, request, session, url_for

from bot.gateway.db import db
from bot.gateway.desk import bp
from bot.gateway.desk.auth import log_in, notify, remote_addr, safe_next, settings
from bot.records.second_factor import (
    ISSUER,
    check_code,
    new_secret,
    normalize_code,
    open_secret,
    provisioning_uri,
    seal_secret,
)
from bot.records.staff_models import StaffUser

PENDING_KEY = "desk_pending"
PENDING_SECONDS = 300


def begin(staff: StaffUser, next_url: str | None) -> Any:
    """The password was right and ``staff`` needs a second factor: on to the code or enrolment."""
    pending: dict[str, Any] = {
        "staff": staff.id,
        "at": int(time.time()),
        "password": staff.password_changed_at.isoformat(),
        "next": next_url,
    }
    if not staff.has_second_factor:
        pending["key"] = seal_secret(new_secret(), staff.id, settings().secret_key, pending=True)
    session[PENDING_KEY] = pending
    return redirect(url_for("desk.login_enrol" if "key" in pending else "desk.login_code"),
                    code=303)


def forget() -> None:
    session.pop(PENDING_KEY, None)


def _pending() -> tuple[StaffUser, dict[str, Any]] | None:
    """The supervisor half-way through logging in, if still valid."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or not isinstance(pending.get("at"), int):
        return None
    if not 0 <= time.time() - pending["at"] <= PENDING_SECONDS:
        return None
    staff = db().get(StaffUser, pending.get("staff"))
    if (staff is None or not staff.active or not staff.needs_second_factor
            or staff.password_changed_at.isoformat() != pending.get("password")):
        return None
    return staff, pending


def _start_again() -> Any:
    had_one = PENDING_KEY in session
    forget()
    if had_one:
        notify("second_factor_expired", "error")
    return redirect(url_for("desk.login"), code=303)


def _check(staff: StaffUser, pending: dict[str, Any], enrolling: str | None,
           page: Any) -> Any:
    code = normalize_code(request.form.get("code", ""))
    if code is None:
        return page(error="code_format"), 400
    config = settings()
    result = check_code(
        db(), staff_id=staff.id, code=code, enrolling=enrolling, secret_key=config.secret_key,
        remote_addr=remote_addr(), max_failures=config.desk_max_login_failures,
        lockout_minutes=config.desk_lockout_minutes,
    )
    db().commit()
    if result.outcome == "locked":
        forget()
        return render_template("desk/login.html", error="login_failed"), 401
    if not result.ok or result.staff is None:
        return page(error="code_wrong"), 401
    forget()
    log_in(result.staff)
    db().commit()
    if result.staff.must_change_password:
        return redirect(url_for("desk.password"), code=303)
    return redirect(safe_next(pending.get("next")) or url_for("desk.complaint_list"), code=303)


@bp.route("/login/code", methods=["GET", "POST"])
def login_code() -> Any:
    found = _pending()
    if found is None:
        return _start_again()
    staff, pending = found
    if "key" in pending:
        return redirect(url_for("desk.login_enrol"), code=303)

    def page(**extra: Any) -> str:
        return render_template("desk/login_code.html", username=staff.username, **extra)

    if request.method == "GET":
        return page()
    return _check(staff, pending, None, page)


@bp.route("/login/enrol", methods=["GET", "POST"])
def login_enrol() -> Any:
    found = _pending()
    if found is None:
        return _start_again()
    staff, pending = found
    if "key" not in pending:
        return redirect(url_for("desk.login_code"), code=303)
    secret = open_secret(pending["key"], staff.id, settings().secret_key, pending=True)
    if secret is None:
        return _start_again()

    def page(**extra: Any) -> str:
        grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
        return render_template("desk/login_enrol.html", username=staff.username, issuer=ISSUER,
                               secret=grouped, uri=provisioning_uri(secret, staff.username),
                               pending_minutes=PENDING_SECONDS // 60, **extra)

    if request.method == "GET":
        return page()
    return _check(staff, pending, secret, page)
