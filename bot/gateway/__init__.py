"""The gateway: one Flask application for the phone line, the web chat and the staff desk.

``create_app`` is the only way to build it (no module-level app). Every part is
a package or module with ``init_app(app)``, which registers its blueprint and
puts its services in ``app.extensions``: ``health``, ``voice`` (phone),
``chat`` (web), ``desk`` (staff). What they share is set up here, once:

- the settings, validated (:meth:`bot.settings.Settings.validate`);
- the client address, scheme and host behind ``TRUSTED_PROXIES`` reverse
  proxies (Werkzeug's ProxyFix: their ``X-Forwarded-For/-Proto/-Host``, never
  a client's);
- one records session per request (:mod:`bot.gateway.db`);
- the security headers of every response (:mod:`bot.gateway.headers`);
- logging (:mod:`bot.logs`: ``LOG_FORMAT``, ``LOG_LEVEL``, personal data
  masked) unless the host process configured it, and ``/metrics`` with the
  request id and turn measurements (:mod:`bot.gateway.metrics`).

The secure step (identity and query password) is verified here, never inside Rasa.

Run:  .venv/app/bin/gunicorn -c gunicorn.conf.py  (``make run`` and
``make run-production`` do it; workers and threads from the settings)
"""
from __future__ import annotations

import logging
from typing import Any, Mapping

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from bot.logs import configure_logging
from bot.settings import Settings, load_settings

logger = logging.getLogger(__name__)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the gateway.

    Args:
        test_config: overrides of the Flask config; ``HOTLINE_SETTINGS`` may hold
            a ready :class:`bot.settings.Settings` (tests use this instead of
            environment variables); it is validated like settings read from
            the environment.
    """
    app = Flask(__name__)
    given: Settings | None = (test_config or {}).get("HOTLINE_SETTINGS")
    settings = given.validate() if given is not None else load_settings()
    configure_logging(settings.log_style, settings.log_level, settings.secret_key)
    app.config.from_mapping(
        SECRET_KEY=settings.secret_key,
        HOTLINE_SETTINGS=settings,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.is_production,
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    if test_config:
        app.config.update(test_config)
    # Behind TRUSTED_PROXIES reverse proxies, the client address, scheme and host
    # are what they put in X-Forwarded-For/-Proto/-Host (never a client's words).
    hops = settings.trusted_proxies
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    # Imported here so that bot.gateway.rasa & co. stay importable without the parts.
    from bot.gateway import chat, db, desk, headers, health, metrics, voice

    db.init_app(app)
    headers.init_app(app)
    metrics.init_app(app)
    for part in (health, voice, chat, desk):
        part.init_app(app)
    return app
