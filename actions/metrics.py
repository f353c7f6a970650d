"""The action server's Prometheus metrics: latency and errors per action, at ``GET /metrics``.

:func:`install` (called by :func:`actions.serve.build_app`, before the secret
check is registered) adds to rasa_sdk's Sanic app:

- a request and a response middleware around ``POST /webhook`` (one action
  run): ``hotline_action_duration_seconds{action}`` for every run Rasa's call
  reached, ``hotline_action_errors_total{action, reason}`` when the run was
  rejected (400), the action is unknown (404, counted as ``action="unknown"``:
  a label never takes a name nobody registered) or it raised (500). A request
  the secret check refused (403) is no action run and is not counted.
- ``GET /metrics``, checked here, deliberately not by ``X-Action-Secret``
  alone, so that Prometheus can scrape every part with one credential: with
  ``METRICS_TOKEN`` set it needs ``Authorization: Bearer <token>``; else, with
  ``ACTION_SERVER_SECRET`` set, that secret in ``X-Action-Secret``; else
  (loopback, development) nothing.

The action server's log lines go through :class:`bot.logs.RedactFilter` too
(personal data masked), as JSON with ``LOG_FORMAT=json``.

Several Sanic workers (``ACTION_SERVER_SANIC_WORKERS``): with
``PROMETHEUS_MULTIPROC_DIR`` set (a directory of its own, not the gateway's)
the workers' values are added up (:mod:`bot.metrics`); :func:`install` empties
the directory, in the main process, before the workers start.
"""
from __future__ import annotations

import hmac
import json
import os
import re
import time
import zlib
from typing import Any

from prometheus_client import Counter, Histogram

from bot import metrics
from bot.logs import adopt_root_handlers

ACTION_SECONDS = Histogram(
    "hotline_action_duration_seconds", "Time one custom action run took on the action server.",
    ["action"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0))
ACTION_ERRORS = Counter(
    "hotline_action_errors", "Custom action runs that failed, by action and reason "
    "(rejected, not_found, error).", ["action", "reason"])

ACTION_NAME = re.compile(r"^[a-z][a-z0-9_]{0,79}$")
ERRORS_BY_STATUS = {400: "rejected", 404: "not_found"}
WEBHOOK = "/webhook"
METRICS_PATH = "/metrics"


def action_name(request: Any) -> str:
    """The ``next_action`` of an action call (compressed or not), or ``unknown``."""
    try:
        body = request.body
        if request.headers.get("Content-Encoding") == "deflate":
            body = zlib.decompress(body)
        name = json.loads(body).get("next_action")
    except (ValueError, AttributeError, zlib.error):
        return "unknown"
    return name if isinstance(name, str) and ACTION_NAME.fullmatch(name) else "unknown"


def observe(action: str, status: int, seconds: float) -> None:
    """One action run answered with ``status`` after ``seconds``."""
    if status == 403:  # refused by the secret check: no action ran
        return
    if status == 404:
        action = "unknown"
    ACTION_SECONDS.labels(action).observe(seconds)
    if status != 200:
        ACTION_ERRORS.labels(action, ERRORS_BY_STATUS.get(status, "error")).inc()


def scrape_refusal(headers: Any, environ: Any = None) -> str | None:
    """Why a ``/metrics`` request must be refused, or None when it may read them."""
    environ = os.environ if environ is None else environ
    token = (environ.get("METRICS_TOKEN") or "").strip()
    if token:
        given, expected = headers.get("Authorization", ""), f"Bearer {token}"
        ok = hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
        return None if ok else "metrics need the bearer token (METRICS_TOKEN)"
    secret = (environ.get("ACTION_SERVER_SECRET") or "").strip()
    if secret:
        given = headers.get("X-Action-Secret", "")
        ok = hmac.compare_digest(given.encode("utf-8"), secret.encode("utf-8"))
        return None if ok else "metrics need X-Action-Secret (or set METRICS_TOKEN)"
    return None


def install(app: Any) -> None:
    """Measure every action run of ``app`` and serve ``GET /metrics`` on it."""
    from sanic import response

    metrics.clear_multiprocess_dir()
    adopt_root_handlers(os.environ.get("LOG_FORMAT"))  # masked, and JSON when asked

    async def exposition(request: Any) -> Any:
        refused = scrape_refusal(request.headers)
        if refused is not None:
            return response.text(refused + "\n", status=401)
        body, content_type = metrics.render()
        return response.raw(body, content_type=content_type, headers={"Cache-Control": "no-store"})

    async def started(request: Any) -> Any:
        if request.path == METRICS_PATH and request.method == "GET":
            return await exposition(request)  # answered here, before the secret check
        if request.path == WEBHOOK and request.method == "POST":
            request.ctx.action = action_name(request)
            request.ctx.started = time.perf_counter()
        return None

    async def finished(request: Any, answer: Any) -> None:
        began = getattr(request.ctx, "started", None)
        if began is not None:
            observe(request.ctx.action, answer.status, time.perf_counter() - began)

    app.add_route(exposition, METRICS_PATH, methods=["GET"], name="hotline_metrics")
    app.register_middleware(started, "request")
    app.register_middleware(finished, "response")
