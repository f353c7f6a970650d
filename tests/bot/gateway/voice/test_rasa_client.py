"""The HTTP wrapper of Rasa's voice channel, against a small fake Rasa server.

Only this wrapper is tested with a fake: the end-to-end calls use the real
assistant (test_calls.py).
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.gateway.voice.rasa_client import WEBHOOK_PATH, RasaUnavailable, RasaVoiceClient

SECRET = "test-channel-secret"


class FakeRasa(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.status = 200
        self.body: bytes = b"[]"
        self.delay = 0.0
        self.received: list[tuple[str, dict[str, str], dict]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: FakeRasa

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length") or 0)
        payload = json.loads(self.rfile.read(length) or b"{}")
        self.server.received.append((self.path, dict(self.headers), payload))
        time.sleep(self.server.delay)
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.server.body)

    def log_message(self, *args) -> None:  # noqa: ANN002 - silence the test output
        pass


@pytest.fixture
def fake_rasa() -> Iterator[FakeRasa]:
    server = FakeRasa()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_text_turn_goes_to_the_voice_channel_with_the_secret(fake_rasa: FakeRasa) -> None:
    fake_rasa.body = json.dumps([{"recipient_id": "CA1", "text": "您好", "response": "utter_greet"}]).encode()
    client = RasaVoiceClient(fake_rasa.url, SECRET)
    messages = client.send_text("CA1", "你好", metadata={"caller_number": "+8613800000001"}, timeout=2)
    assert messages == [{"recipient_id": "CA1", "text": "您好", "response": "utter_greet"}]
    path, headers, payload = fake_rasa.received[0]
    assert path == WEBHOOK_PATH
    assert headers["X-Gateway-Secret"] == SECRET
    assert payload == {"sender": "CA1", "kind": "text", "text": "你好",
                       "metadata": {"caller_number": "+8613800000001"}}


def test_intent_turn_carries_only_the_entities_given(fake_rasa: FakeRasa) -> None:
    fake_rasa.body = b'[{"text": "ok"}]'
    client = RasaVoiceClient(fake_rasa.url, SECRET)
    client.send_intent("CA1", "authentication_failed", {"reason": "mismatch", "remaining": "3"},
                       metadata={}, timeout=2)
    payload = fake_rasa.received[0][2]
    assert payload == {"sender": "CA1", "kind": "intent", "intent": "authentication_failed",
                       "entities": {"reason": "mismatch", "remaining": "3"}, "metadata": {}}


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (403, b'{"error": "forbidden"}', "GATEWAY_CHANNEL_SECRET"),
        (500, b"oops", "HTTP 500"),
        (400, b'{"error": "x"}', "HTTP 400"),
        (200, b"not json", "not JSON"),
        (200, b'{"text": "a dict"}', "not a list"),
        (200, b'["a string"]', "not a list"),
        (200, b"[]", "action server"),
    ],
)
def test_unusable_answers_become_rasa_unavailable(fake_rasa: FakeRasa, status: int, body: bytes,
                                                  message: str) -> None:
    fake_rasa.status, fake_rasa.body = status, body
    client = RasaVoiceClient(fake_rasa.url, SECRET)
    with pytest.raises(RasaUnavailable, match=message):
        client.send_text("CA1", "你好", metadata={}, timeout=2)


def test_a_slow_rasa_is_given_up_within_the_deadline(fake_rasa: FakeRasa) -> None:
    fake_rasa.delay, fake_rasa.body = 2.0, b'[{"text": "late"}]'
    client = RasaVoiceClient(fake_rasa.url, SECRET)
    started = time.monotonic()
    with pytest.raises(RasaUnavailable, match="did not answer"):
        client.send_text("CA1", "你好", metadata={}, timeout=0.4)
    assert time.monotonic() - started < 1.5


def test_no_time_left_does_not_even_try(fake_rasa: FakeRasa) -> None:
    client = RasaVoiceClient(fake_rasa.url, SECRET)
    with pytest.raises(RasaUnavailable, match="no time left"):
        client.send_text("CA1", "你好", metadata={}, timeout=0)
    assert fake_rasa.received == []


def test_unreachable_rasa_is_rasa_unavailable() -> None:
    from tests.bot.gateway.voice.conftest import closed_port

    client = RasaVoiceClient(f"http://127.0.0.1:{closed_port()}", SECRET)
    with pytest.raises(RasaUnavailable, match="cannot be reached"):
        client.send_text("CA1", "你好", metadata={}, timeout=1)
