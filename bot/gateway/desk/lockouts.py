"""Locked depositor accounts (账户锁定): who is locked and why, and the unlock.

Every staff member sees the accounts whose query password is locked now
(masked account, failures, since when, until when, from which kinds of
source, on which channels: never an address or number), and the count of
failed verifications across all accounts in the spike window. Supervisors
unlock an account (a POST with the CSRF token, audited in the same
transaction): its failures stop counting and the depositor may verify again.
"""
from __future__ import annotations

from typing import Any

from flask import redirect, render_template, url_for

from bot.gateway.db import db
from bot.gateway.desk import bp
from bot.gateway.desk.auth import current_staff, notify, settings, supervisor_required
from bot.records.clock import utc_now
from bot.records.lockouts import failure_spike, locked_accounts, unlock_account


@bp.get("/locks")
def lock_list() -> Any:
    now = utc_now()
    return render_template(
        "desk/locks.html",
        locks=locked_accounts(db(), settings(), now),
        spike=failure_spike(db(), settings(), now),
        max_failures=settings().auth_max_failures,
        window_hours=settings().auth_failure_window_hours,
    )


@bp.post("/locks/<int:account_id>/unlock")
@supervisor_required
def lock_unlock(account_id: int) -> Any:
    unlock_account(db(), current_staff(), account_id)  # DeskNotFoundError: the desk's 404
    db().commit()
    notify("account_unlock_done")
    return redirect(url_for("desk.lock_list"), code=303)
