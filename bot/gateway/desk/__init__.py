"""The complaint desk (投诉工单台): where staff work complaints, hand-overs and callbacks.

Blueprint ``desk`` under ``/desk``, Chinese interface, server-rendered HTML (no
script needed; one small script adds a character counter). Every page needs a
logged-in staff member (:mod:`.auth`); every form carries a CSRF token; every
response forbids framing and allows resources only from the gateway itself.

Modules: :mod:`.auth` (log-in, sessions, CSRF, roles), :mod:`.complaints`,
:mod:`.queues` (hand-overs and callbacks), :mod:`.overview` (service figures,
charts, CSV export), :mod:`.accounts` (log-in pages, password, staff
administration), :mod:`.tracker` (read-only figures from the Rasa tracker
store), :mod:`.charts` (SVG geometry). ``python -m bot.gateway.desk.create_supervisor``
creates the first supervisor.
"""
from __future__ import annotations

from flask import Blueprint, Flask

from bot.settings import Settings, SettingsError

bp = Blueprint("desk", __name__, url_prefix="/desk")


def _check_settings(settings: Settings) -> None:
    for name, value in (
        ("DESK_IDLE_MINUTES", settings.desk_idle_minutes),
        ("DESK_MAX_LOGIN_FAILURES", settings.desk_max_login_failures),
        ("DESK_LOCKOUT_MINUTES", settings.desk_lockout_minutes),
    ):
        if value < 1:
            raise SettingsError(f"{name} must be a positive integer, got {value}")
    if not settings.tracker_db_url:
        raise SettingsError("TRACKER_DB_URL must not be empty")


def init_app(app: Flask) -> None:
    """Register the desk on the gateway (called by :func:`bot.gateway.create_app`)."""
    _check_settings(app.config["HOTLINE_SETTINGS"])
    app.register_blueprint(bp)


# The views register themselves on ``bp``.
from bot.gateway.desk import accounts, auth, complaints, overview, queues  # noqa: E402,F401
