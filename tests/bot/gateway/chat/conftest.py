"""Fixtures of the web chat tests: gateway apps against the real assistant (``stack``).

- ``chat_settings``: the settings of the running stack (its Rasa, records DB and
  channel secret), with test-sized limits.
- ``make_app``: builds a gateway with those settings, a clock the test sets
  (agent hours) and its own in-memory rate limiter.
- ``live_gateway``: the gateway served on a free port in a thread, for the browser.
- ``browser``: Debian's Chromium driven by Playwright. Without it the browser
  tests fail under CI (``CI`` set) and are skipped on a developer's machine.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from bot.gateway import create_app
from bot.gateway.chat.ratelimit import MemoryRateLimiter
from bot.records.workdays import is_working_day
from bot.settings import Settings, load_settings
from tests.e2e.stack import Stack, free_port

ROOT = Path(__file__).resolve().parents[4]
ARTIFACTS = ROOT / "test-artifacts" / "chat"
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
SHANGHAI = ZoneInfo("Asia/Shanghai")

# A Friday morning (agents at work) and a Saturday (nobody), both in 2026.
IN_HOURS = datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI)
AFTER_HOURS = datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI)
assert is_working_day(IN_HOURS.date()) and not is_working_day(AFTER_HOURS.date())


class Clock:
    """The gateway's notion of now; tests move it between agent hours and after hours."""

    def __init__(self, now: datetime = AFTER_HOURS):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
def stack_settings(stack: Stack) -> Settings:  # noqa: F811
    return load_settings(stack.env)


@pytest.fixture
def chat_settings(stack_settings: Settings) -> Settings:
    return dataclasses.replace(
        stack_settings,
        chat_rate_per_session=8,
        chat_rate_per_address=60,
        chat_new_sessions_per_address=10,
        chat_verify_attempts_per_session=4,
        chat_max_message_chars=200,
        chat_rasa_timeout_seconds=10,
    )


AppFactory = Callable[..., Flask]

# Rate-limit windows in API tests do not move (a test never straddles a window).
FROZEN_EPOCH = 1_800_000_000.0 + 20  # 20 s into a minute, 20 s into an hour


def frozen_time() -> float:
    return FROZEN_EPOCH


@pytest.fixture
def make_app(chat_settings: Settings, clock: Clock) -> AppFactory:
    def build(**overrides: Any) -> Flask:
        settings = dataclasses.replace(chat_settings, **overrides)
        return create_app(
            {
                "HOTLINE_SETTINGS": settings,
                "TESTING": True,
                "CHAT_CLOCK": clock,
                "CHAT_RATE_LIMITER": MemoryRateLimiter(frozen_time),
            }
        )

    return build


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def start_session(client: FlaskClient, **body: Any) -> str:
    """Open a chat session in ``client`` (its cookie jar) and return the conversation id."""
    response = client.post("/chat/api/session", json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["conversation_id"]


@pytest.fixture(scope="session")
def live_clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
def embed_origin() -> str:
    """Origin of a third-party page that embeds the widget (allowed by CORS)."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="session")
def live_gateway(stack_settings: Settings, live_clock: Clock, embed_origin: str) -> Iterator[str]:
    """Base URL of a gateway served in a thread (threaded, like a real server)."""
    app = create_app(
        {
            "HOTLINE_SETTINGS": dataclasses.replace(
                stack_settings, chat_allowed_origins=(embed_origin,)
            ),
            "CHAT_CLOCK": live_clock,
            "CHAT_RATE_LIMITER": MemoryRateLimiter(),
        }
    )
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="chat-gateway", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        message = (
            f"Chromium not found at {CHROMIUM}: install it with "
            "`apt-get update && apt-get install -y chromium` (or set CHROMIUM_PATH)"
        )
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
