"""Health of the gateway: liveness and readiness for orchestrators, a full report for people.

- ``/livez``: the process answers (no dependency is checked). A failing
  liveness probe restarts the gateway, so nothing outside it may make it fail.
- ``/readyz``: the gateway's own database answers. Rasa is deliberately left
  out: with every Rasa replica down the gateway must stay in service, so that
  callers and visitors hear the apology (callback offer, 86279298) instead of
  a dropped call or a proxy's error page.
- ``/healthz``: every part (database and each Rasa replica), 200 only when all
  answer; for people, ``make run``'s ready message (:mod:`bot.ready`) and the
  benchmark, never for a load balancer's probe.
"""
from __future__ import annotations

import requests
from flask import Blueprint, Flask, current_app, jsonify
from sqlalchemy import text

from bot.gateway.db import db

bp = Blueprint("health", __name__)

RASA_STATUS_TIMEOUT_SECONDS = 2


def init_app(app: Flask) -> None:
    """Register ``/livez``, ``/readyz`` and ``/healthz`` (called by :func:`bot.gateway.create_app`)."""
    app.register_blueprint(bp)


def _database_answers() -> bool:
    try:
        db().execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        return False


@bp.get("/livez")
def livez():
    """200 while the process answers requests."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """200 when the records database answers; 503 otherwise. Rasa is not checked."""
    ready = _database_answers()
    return jsonify(status="ok" if ready else "unready", parts={"database": ready}), (
        200 if ready else 503
    )


@bp.get("/healthz")
def healthz():
    """200 when the database and every Rasa replica answer; 503 with the failing parts otherwise."""
    settings = current_app.config["HOTLINE_SETTINGS"]
    parts = {"gateway": True, "database": _database_answers()}
    replicas = settings.replica_urls
    for number, url in enumerate(replicas, start=1):
        try:
            response = requests.get(f"{url}/status", params={"token": settings.rasa_token},
                                    timeout=RASA_STATUS_TIMEOUT_SECONDS)
            up = response.ok
        except requests.RequestException:
            up = False
        parts["rasa" if len(replicas) == 1 else f"rasa{number}"] = up
    healthy = all(parts.values())
    return jsonify(status="ok" if healthy else "degraded", parts=parts), 200 if healthy else 503
