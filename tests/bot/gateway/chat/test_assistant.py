"""The gateway's HTTP client for Rasa's webchat channel.

Unit tests of the wrapper only, against a tiny local HTTP server that plays a
misbehaving Rasa (slow, silent, broken). The real assistant is exercised in
test_api.py and test_widget_browser.py.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

import pytest

from bot.gateway.chat.assistant import AssistantUnavailable, WebchatAssistant
from tests.e2e.stack import free_port


class _Server:
    def __init__(self, behave: Callable[[BaseHTTPRequestHandler, dict[str, Any]], None]):
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                behave(self, body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _reply(status: int, payload: Any):
    def behave(handler, _body):
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    return behave


@pytest.fixture
def server_factory():
    servers = []

    def make(behave):
        server = _Server(behave)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


def _client(url: str, timeout: float = 1.0) -> WebchatAssistant:
    return WebchatAssistant(url, channel_secret="s3cret", api_token="tok", timeout=timeout)


def test_sends_the_channel_wire_format_with_the_secret(server_factory):
    server = server_factory(_reply(200, [{"recipient_id": "c", "text": "您好"}]))
    client = _client(server.url)
    assert client.send_text("c1", "你好") == [{"recipient_id": "c", "text": "您好"}]
    client.send_intent("c1", "authenticated", {"auth_token": "t"}, metadata={"display": ""})
    first, second = server.requests
    assert first["path"] == "/webhooks/webchat/webhook"
    assert first["headers"]["X-Gateway-Secret"] == "s3cret"
    assert first["body"] == {"sender": "c1", "kind": "text", "text": "你好", "metadata": {}}
    assert second["body"]["kind"] == "intent" and second["body"]["entities"] == {"auth_token": "t"}


def test_slow_assistant_gives_up_within_the_timeout(server_factory):
    def slow(handler, _body):
        time.sleep(3)
        _reply(200, [{"text": "太晚了"}])(handler, _body)

    server = server_factory(slow)
    started = time.monotonic()
    with pytest.raises(AssistantUnavailable):
        _client(server.url, timeout=0.5).send_text("c1", "你好")
    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize(
    "behave",
    [
        _reply(500, {"error": "boom"}),
        _reply(403, {"error": "forbidden"}),
        _reply(200, []),
        _reply(200, {"not": "a list"}),
        _reply(200, ["text"]),
    ],
    ids=["server-error", "forbidden", "no-reply-actions-down", "not-a-list", "not-messages"],
)
def test_unusable_answers_are_unavailable(server_factory, behave):
    server = server_factory(behave)
    with pytest.raises(AssistantUnavailable):
        _client(server.url).send_text("c1", "你好")


def test_nothing_listening_is_unavailable():
    with pytest.raises(AssistantUnavailable):
        _client(f"http://127.0.0.1:{free_port()}").send_text("c1", "你好")
