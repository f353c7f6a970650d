"""Fixtures of the phone-line tests.

Unit-level tests drive the gateway with Flask's test client, every request
signed like Twilio signs it, on SQLite and PostgreSQL (``db_url``), with Rasa
deliberately unreachable: what they test never needs the assistant, or tests
that its absence is handled; or with the ``rasa`` fixture, a stand-in for
Rasa's voice channel answering with the messages a test queues. The phone
simulator can call that gateway too (``phone``: no server, no network). End-to-end tests (``test_calls.py``) run the real
assistant (the ``stack`` fixture) behind a gateway served on a free port and
call it with the phone simulator.
"""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any, Callable
from urllib.parse import urlsplit

import pytest
import requests
from lxml import etree

from bot.gateway import create_app
from bot.gateway.rasa import RasaClient
from bot.gateway.voice.simulator import PhoneSimulator
from bot.gateway.voice.security import SIGNATURE_HEADER, sign
from bot.settings import Settings, load_settings

SHANGHAI = timezone(timedelta(hours=8))
# Wednesday 25 November 2026 (a working day), 10:00 and 21:00 in Chengdu.
IN_HOURS = datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)
AFTER_HOURS = datetime(2026, 11, 25, 21, 0, tzinfo=SHANGHAI)
CALLER = "+8613800000009"
MAIN_MENU_WORDS = "查询公积金账户余额请按一"


class Clock:
    """The gateway's clock in tests (agent hours depend on it)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call_sid(n: int = 1) -> str:
    return "CA" + f"{n:032x}"


def parse(xml: bytes | str) -> etree._Element:
    """A TwiML answer as an element tree (assert on it with XPath)."""
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    return etree.fromstring(data)


def spoken(doc: etree._Element) -> str:
    """Everything the caller hears in a TwiML document, in order."""
    return "".join("".join(say.itertext()) for say in doc.xpath("//Say"))


def start(twilio: "Twilio", n: int = 1, caller: str = CALLER) -> etree._Element:
    """Call in: the incoming webhook of call ``n``, as TwiML."""
    return twilio.twiml("/voice/incoming", CallSid=call_sid(n), From=caller, To="+862896319")


@pytest.fixture
def clock() -> Clock:
    return Clock(IN_HOURS)


@pytest.fixture
def voice_settings(db_url: str) -> Settings:
    return load_settings({
        "HOTLINE_ENV": "test",
        "DATABASE_URL": db_url,
        "RASA_URL": f"http://127.0.0.1:{closed_port()}",
        "VOICE_TURN_DEADLINE_MS": "1500",
    })


@pytest.fixture
def app(voice_settings: Settings, clock: Clock):  # type: ignore[no-untyped-def]
    return create_app({"HOTLINE_SETTINGS": voice_settings, "TESTING": True, "VOICE_CLOCK": clock})


@dataclass
class Twilio:
    """Posts webhooks to the test client the way Twilio does."""

    client: Any
    settings: Settings
    base: str = "http://localhost"

    def post(self, path: str, *, signature: str | None = None, headers: dict[str, str] | None = None,
             **params: str):  # type: ignore[no-untyped-def]
        url = self.base + path
        sent = {SIGNATURE_HEADER: signature if signature is not None
                else sign(url, params, self.settings.twilio_auth_token)}
        sent.update(headers or {})
        return self.client.post(path, data=params, headers=sent)

    def twiml(self, path: str, **params: str) -> etree._Element:
        response = self.post(path, **params)
        assert response.status_code == 200, response.data
        assert response.mimetype == "text/xml"
        return parse(response.data)


@pytest.fixture
def twilio(app, voice_settings: Settings) -> Twilio:  # type: ignore[no-untyped-def]
    return Twilio(app.test_client(), voice_settings)


class StandInRasa:
    """Rasa's ``voice`` channel as the RasaClient's ``http`` session."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.replies: list[list[dict[str, Any]]] = []

    def answer(self, *messages: dict[str, Any]) -> None:
        self.replies.append(list(messages))

    def post(self, url: str, *, json: dict[str, Any], headers: dict[str, str],
             timeout: tuple[float, float]) -> SimpleNamespace:
        assert url.endswith("/webhooks/voice/webhook") and headers["X-Gateway-Secret"]
        assert 0 < timeout[1] < 1.5  # within the turn deadline of the test settings
        self.bodies.append(json)
        messages = self.replies.pop(0) if self.replies else [{"text": "好的。"}]
        return SimpleNamespace(status_code=200, json=lambda: messages)

    @property
    def last(self) -> dict[str, Any]:
        return self.bodies[-1]


@pytest.fixture
def rasa(app) -> StandInRasa:  # type: ignore[no-untyped-def]
    stand_in = StandInRasa()
    app.extensions["voice"].dialogue.rasa = RasaClient(
        "http://rasa.invalid", channel="voice", channel_secret="test-secret", http=stand_in)
    return stand_in


class TestClientHttp:
    """The Flask test client as the phone simulator's HTTP session."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def post(self, url: str, *, data: dict[str, str], headers: dict[str, str],
             timeout: float) -> SimpleNamespace:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        response = self.client.post(path, data=data, headers=headers)
        return SimpleNamespace(status_code=response.status_code, content=response.data,
                               text=response.get_data(as_text=True))


@pytest.fixture
def phone(app, voice_settings: Settings) -> Callable[..., PhoneSimulator]:  # type: ignore[no-untyped-def]
    """Calls to the test gateway: ``phone(caller)`` dials call 1 from ``caller``."""
    def dial(caller: str = CALLER, n: int = 1) -> PhoneSimulator:
        simulator = PhoneSimulator("http://localhost", voice_settings.twilio_auth_token,
                                   from_number=caller, call_sid=call_sid(n),
                                   session=TestClientHttp(app.test_client()))  # type: ignore[arg-type]
        assert "欢迎致电成都住房公积金管理中心" in simulator.dial().text
        return simulator
    return dial


# ----------------------------------------------------------------- live gateway


class RecordingSession(requests.Session):
    """A real HTTP session that also keeps every JSON body sent to Rasa."""

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[Any] = []

    def request(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def]
        if kwargs.get("json") is not None:
            self.bodies.append(kwargs["json"])
        return super().request(method, url, *args, **kwargs)


@dataclass
class LiveGateway:
    base_url: str
    app: Any
    settings: Settings
    clock: Clock
    rasa_requests: RecordingSession


@pytest.fixture(scope="session")
def live_gateway(stack) -> Iterator[LiveGateway]:  # type: ignore[no-untyped-def]  # noqa: F811
    """The gateway on a free port in front of the real assistant."""
    from werkzeug.serving import make_server

    from bot.gateway.rasa import RasaClient
    from tests.e2e.stack import free_port

    settings = load_settings(stack.env)
    clock = Clock(IN_HOURS)
    application = create_app({"HOTLINE_SETTINGS": settings, "VOICE_CLOCK": clock})
    recorder = RecordingSession()
    service = application.extensions["voice"]
    service.dialogue.rasa = RasaClient(settings.rasa_url, channel="voice",
                                       channel_secret=settings.gateway_channel_secret, http=recorder)
    port = free_port()
    server = make_server("127.0.0.1", port, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="voice-gateway", daemon=True)
    thread.start()
    try:
        yield LiveGateway(f"http://127.0.0.1:{port}", application, settings, clock, recorder)
    finally:
        server.shutdown()
        thread.join(timeout=10)
