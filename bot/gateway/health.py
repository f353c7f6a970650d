"""Health of the gateway and of the parts behind it (for load balancers and `make bench`)."""
from __future__ import annotations

import requests
from flask import Blueprint, Flask, current_app, jsonify
from sqlalchemy import text

from bot.gateway.db import db

bp = Blueprint("health", __name__)


def init_app(app: Flask) -> None:
    """Register ``/healthz`` (called by :func:`bot.gateway.create_app`)."""
    app.register_blueprint(bp)


@bp.get("/healthz")
def healthz():
    """200 when the gateway, its database and Rasa answer; 503 with the failing part otherwise."""
    settings = current_app.config["HOTLINE_SETTINGS"]
    parts = {"gateway": True}
    try:
        db().execute(text("SELECT 1"))
        parts["database"] = True
    except Exception:  # noqa: BLE001 - any failure means "not healthy"
        parts["database"] = False
    try:
        response = requests.get(
            f"{settings.rasa_url}/status", params={"token": settings.rasa_token}, timeout=2
        )
        parts["rasa"] = response.ok
    except requests.RequestException:
        parts["rasa"] = False
    healthy = all(parts.values())
    return jsonify(status="ok" if healthy else "degraded", parts=parts), 200 if healthy else 503
