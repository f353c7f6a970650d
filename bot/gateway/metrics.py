"""``GET /metrics`` (Prometheus) and what the gateway measures around every request.

The gateway faces the internet, so ``/metrics`` is protected: with
``METRICS_TOKEN`` set, a request must carry ``Authorization: Bearer <token>``
(401 otherwise; Prometheus sends it with ``authorization: {credentials: …}``
in its scrape config); without it, production refuses every request (403) and
development answers anyone (``make run`` listens on loopback). The metrics
themselves are :mod:`bot.metrics` (no personal data in any label).

Around every request (:func:`init_app` registers the hooks):

- a request id: the ``X-Request-ID`` the load balancer set (8-64 characters
  of ``A-Za-z0-9._-``), else a new one; in every log line of the request and
  in the response's ``X-Request-ID`` (gunicorn's access log reads it there);
- for a POST to a turn endpoint (:data:`TURN_ENDPOINTS`), the turn's outcome and
  duration per channel: ``apology`` when the request marked it
  (:func:`note_apology`: the phone line's apology path) or answered 5xx,
  ``refused`` for 4xx, else ``answered``.
"""
from __future__ import annotations

import hmac
import time
import uuid

from flask import Blueprint, Flask, Response, current_app, g, has_request_context, request

from bot import metrics
from bot.logs import REQUEST_ID

bp = Blueprint("metrics", __name__)

TURN_ENDPOINTS = {
    "voice.incoming": "voice", "voice.turn": "voice", "voice.secure": "voice",
    "voice.noinput": "voice", "voice.dial": "voice",
    "chat.send_message": "webchat", "chat.end_conversation": "webchat", "chat.verify": "webchat",
}


def init_app(app: Flask) -> None:
    """Register ``/metrics`` and the per-request hooks (called by ``create_app``)."""
    app.register_blueprint(bp)
    app.before_request(_start)
    app.after_request(_finish)


def note_apology() -> None:
    """The turn being handled ends in the apology path (Rasa, actions or database failed)."""
    if has_request_context():
        g.turn_apology = True


def _start() -> None:
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex[:16]
    g.request_started = time.perf_counter()


def _finish(response: Response) -> Response:
    request_id = g.get("request_id")
    if request_id:
        response.headers["X-Request-ID"] = request_id
    channel = TURN_ENDPOINTS.get(request.endpoint or "")
    started = g.get("request_started")
    if channel is not None and started is not None and request.method == "POST":
        if g.get("turn_apology") or response.status_code >= 500:
            outcome = "apology"
        elif response.status_code >= 400:
            outcome = "refused"
        else:
            outcome = "answered"
        metrics.turn_done(channel, outcome, time.perf_counter() - started)
    return response


@bp.get("/metrics")
def exposition() -> Response:
    """The metrics in Prometheus's text format, for a caller with the token."""
    settings = current_app.config["HOTLINE_SETTINGS"]
    token = settings.metrics_token
    if token:
        given = request.headers.get("Authorization", "")
        expected = f"Bearer {token}"
        if not hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
            return Response("metrics need the bearer token (METRICS_TOKEN)\n", 401,
                            {"WWW-Authenticate": 'Bearer realm="metrics"'},
                            mimetype="text/plain")
    elif settings.is_production:
        return Response("metrics are off: set METRICS_TOKEN\n", 403, mimetype="text/plain")
    body, content_type = metrics.render()
    return Response(body, 200, {"Cache-Control": "no-store"}, content_type=content_type)
