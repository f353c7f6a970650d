"""Security headers: every blueprint's responses, set in one place (bot.gateway.headers).

The baseline (no framing, no sniffing, nothing loaded, no referrer) is on every
response, errors included; the chat demo page and the desk get the policies
their pages need, and nothing weaker than that.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bot.gateway import create_app
from bot.gateway.headers import CHAT_PAGE_CSP, DESK_CSP, NOTHING_CSP
from bot.settings import Settings
from tests.e2e.stack import free_port


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    settings = Settings(
        env="test",
        database_url=f"sqlite:///{tmp_path / 'records.db'}",
        rasa_url=f"http://127.0.0.1:{free_port()}",  # nobody listens: nothing here needs Rasa
    )
    return create_app({"HOTLINE_SETTINGS": settings, "TESTING": True})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _request(client: FlaskClient, method: str, path: str):  # type: ignore[no-untyped-def]
    if method == "POST":  # a wrong content type: refused before any work is done
        return client.post(path, data="x", content_type="text/plain")
    return client.get(path)


# (blueprint, method, path, expected status, headers that must be exactly these)
CASES = [
    ("voice", "POST", "/voice/incoming", 403,  # no Twilio signature
     {"Content-Security-Policy": NOTHING_CSP, "Referrer-Policy": "no-referrer"}),
    ("health", "GET", "/healthz", 503,  # Rasa is down
     {"Content-Security-Policy": NOTHING_CSP, "Referrer-Policy": "no-referrer"}),
    ("chat", "GET", "/", 200,
     {"Content-Security-Policy": CHAT_PAGE_CSP, "Referrer-Policy": "strict-origin-when-cross-origin"}),
    ("chat", "POST", "/chat/api/session", 415,
     {"Content-Security-Policy": NOTHING_CSP, "Referrer-Policy": "no-referrer",
      "Cache-Control": "no-store"}),
    ("chat", "GET", "/chat/widget.js", 200,
     {"Content-Security-Policy": NOTHING_CSP, "Cross-Origin-Resource-Policy": "cross-origin"}),
    ("desk", "GET", "/desk/login", 200,
     {"Content-Security-Policy": DESK_CSP, "Referrer-Policy": "same-origin",
      "Cache-Control": "no-store", "Pragma": "no-cache"}),
    ("desk", "GET", "/desk/complaints", 302,  # not logged in
     {"Content-Security-Policy": DESK_CSP, "Cache-Control": "no-store"}),
    (None, "GET", "/no-such-page", 404,
     {"Content-Security-Policy": NOTHING_CSP, "Referrer-Policy": "no-referrer"}),
]


@pytest.mark.parametrize(
    ("blueprint", "method", "path", "status", "expected"),
    CASES,
    ids=[f"{case[0]}:{case[1]} {case[2]}" for case in CASES],
)
def test_each_blueprint_gets_its_headers_over_the_baseline(client, blueprint, method, path, status,
                                                          expected) -> None:  # type: ignore[no-untyped-def]
    response = _request(client, method, path)
    assert response.status_code == status
    headers = response.headers
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    for name, value in expected.items():
        assert headers[name] == value, name


def test_the_chat_widget_stays_cacheable(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/chat/widget.css")
    assert "max-age=300" in response.headers["Cache-Control"]
    assert "Pragma" not in response.headers
