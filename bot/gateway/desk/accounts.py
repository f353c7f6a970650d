"""Log-in, log-out, one's own password, and staff administration (supervisors)."""
from __future__ import annotations

from typing import Any

from flask import abort, g, redirect, render_template, request, url_for

from bot.gateway.db import db
from bot.gateway.desk import bp, second_factor
from bot.gateway.desk.auth import (
    current_staff,
    log_in,
    log_out,
    notify,
    remote_addr,
    safe_next,
    settings,
    supervisor_required,
)
from bot.records.audit import list_audit
from bot.records.clock import utc_now
from bot.records.errors import DeskError, DeskNotFoundError
from bot.records.staff import (
    MAX_PASSWORD_LENGTH,
    change_own_password,
    create_staff,
    list_staff,
    reset_second_factor,
    reset_staff_password,
    set_staff_active,
    set_staff_role,
    staff_names,
    temporary_password,
    unlock_staff,
)
from bot.records.staff_models import StaffRole
from bot.records.staff_sessions import authenticate_staff

MAX_FIELD = 200
# What the log-in page says for each refused outcome: one message and status for
# every refusal about the name or password (wrong password, unknown name, locked
# or disabled account), so the page never tells which user names exist; only the
# address throttle, which is about the visitor's address, says so.
LOGIN_REFUSALS = {
    "invalid": ("login_failed", 401),
    "locked": ("login_failed", 401),
    "throttled": ("throttled", 429),
}


def _field(name: str) -> str:
    value = request.form.get(name, "")
    return value[: MAX_PASSWORD_LENGTH + 1] if "password" in name else value[:MAX_FIELD]


@bp.get("/")
def index() -> Any:
    return redirect(url_for("desk.complaint_list"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "GET":
        if g.get("desk_staff") is not None:
            return redirect(url_for("desk.complaint_list"))
        return render_template("desk/login.html", next=safe_next(request.args.get("next")))
    config = settings()
    second_factor.forget()
    username = request.form.get("username", "")[:MAX_FIELD]
    result = authenticate_staff(
        db(),
        username=username,
        password=_field("password"),
        remote_addr=remote_addr(),
        secret_key=config.secret_key,
        max_failures=config.desk_max_login_failures,
        lockout_minutes=config.desk_lockout_minutes,
    )
    if result.outcome == "second_factor" and result.staff is not None:
        db().commit()
        return second_factor.begin(result.staff, safe_next(request.form.get("next")))
    if not result.ok or result.staff is None:
        db().commit()
        code, status = LOGIN_REFUSALS[result.outcome]
        return render_template(
            "desk/login.html",
            error=code,
            username=username.strip()[:50],
            next=safe_next(request.form.get("next")),
        ), status
    log_in(result.staff)
    db().commit()
    if result.staff.must_change_password:
        return redirect(url_for("desk.password"), code=303)
    return redirect(safe_next(request.form.get("next")) or url_for("desk.complaint_list"), code=303)


@bp.post("/logout")
def logout() -> Any:
    log_out()
    db().commit()
    notify("logged_out")
    return redirect(url_for("desk.login"), code=303)


@bp.route("/password", methods=["GET", "POST"])
def password() -> Any:
    staff = current_staff()
    if request.method == "GET":
        return render_template("desk/password.html")
    try:
        change_own_password(
            db(),
            staff,
            current=_field("current_password"),
            new=_field("new_password"),
            repeat=_field("repeat_password"),
            keep_token_hash=g.get("desk_token_hash"),
        )
    except DeskError as exc:
        db().rollback()
        return render_template("desk/password.html", error=exc.code,
                               problems=exc.params.get("problems", [exc.code])), exc.status
    db().commit()
    notify("password_changed")
    return redirect(url_for("desk.complaint_list"), code=303)


# ---------------------------------------------------- staff administration


def _staff_page(status: int = 200, **extra: Any) -> Any:
    return render_template(
        "desk/staff.html",
        people=list_staff(db()),
        roles=[role.value for role in StaffRole],
        now=utc_now(),
        **extra,
    ), status


@bp.get("/staff")
@supervisor_required
def staff_list() -> Any:
    return _staff_page()


@bp.post("/staff")
@supervisor_required
def staff_create() -> Any:
    form = {name: request.form.get(name, "")[:MAX_FIELD]
            for name in ("username", "display_name", "role")}
    password = temporary_password()
    try:
        created = create_staff(
            db(), current_staff(),
            username=form["username"], display_name=form["display_name"], role=form["role"],
            password=password, must_change_password=True,
        )
    except DeskError as exc:
        db().rollback()
        return _staff_page(exc.status, error=exc.code, error_params=exc.params, form=form)
    db().commit()
    # The temporary password is shown once, on this response only (no-store).
    return _staff_page(201, issued={"username": created.username, "password": password})


def _staff_action(username: str, action: str) -> Any:
    actor = current_staff()
    try:
        if action == "unlock":
            unlock_staff(db(), actor, username)
            issued = None
        elif action == "disable":
            set_staff_active(db(), actor, username, False)
            issued = None
        elif action == "enable":
            set_staff_active(db(), actor, username, True)
            issued = None
        elif action == "role":
            set_staff_role(db(), actor, username, request.form.get("role", "")[:20])
            issued = None
        elif action == "reset":
            target, password = reset_staff_password(db(), actor, username)
            issued = {"username": target.username, "password": password}
        elif action == "totp":
            reset_second_factor(db(), actor, username)
            issued = None
        else:  # pragma: no cover - routes name the actions
            abort(404)
    except DeskNotFoundError:
        db().rollback()
        raise
    except DeskError as exc:
        db().rollback()
        return _staff_page(exc.status, error=exc.code, error_params=exc.params)
    db().commit()
    if issued is not None:
        return _staff_page(200, issued=issued)
    notify(f"staff_{action}_done")
    return redirect(url_for("desk.staff_list"), code=303)


@bp.post("/staff/<username>/<any(unlock, disable, enable, role, reset, totp):action>")
@supervisor_required
def staff_action(username: str, action: str) -> Any:
    return _staff_action(username, action)


@bp.get("/audit")
@supervisor_required
def audit_log() -> Any:
    return render_template("desk/audit.html", events=list_audit(db(), limit=300),
                           names=staff_names(db()))
