"""Fixtures shared by the gateway's tests: a fake Rasa server.

``fake_rasa`` is a small HTTP server on a free loopback port that plays Rasa for
tests of the Rasa client and of what a channel tells Rasa: it records every
request (path, headers, JSON body, query) and answers with what the test set
(status, body, delay). The real assistant is exercised by the ``stack`` tests.
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional
from urllib.parse import parse_qs, urlsplit

import pytest


@dataclass
class Received:
    """One request the fake Rasa received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


class FakeRasa(ThreadingHTTPServer):
    """Answers every request with ``status``/``body`` after ``delay`` seconds.

    ``answer``, when set, builds the JSON answer from the request body instead
    (e.g. echo the sender). ``tracker``, when set, is a tracker of its own:
    ``GET …/tracker`` answers it and ``PUT …/tracker/events`` replaces its
    events (a verified chat moving to a new id). ``received`` lists the
    requests in order.
    """

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.status = 200
        self.body: bytes = b'[{"text": "ok"}]'
        self.delay = 0.0
        self.answer: Optional[Callable[[Any], Any]] = None
        self.tracker: Optional[dict[str, Any]] = None
        self.received: list[Received] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def reply_with(self, payload: Any, status: int = 200) -> None:
        self.status, self.body = status, json.dumps(payload, ensure_ascii=False).encode("utf-8")


class _Handler(BaseHTTPRequestHandler):
    server: FakeRasa

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        parts = urlsplit(self.path)
        self.server.received.append(
            Received(self.command, parts.path, parse_qs(parts.query), dict(self.headers), body)
        )
        time.sleep(self.server.delay)
        data = self.server.body
        tracker = self.server.tracker
        if tracker is not None and parts.path.endswith(("/tracker", "/tracker/events")):
            if self.command == "PUT":
                tracker["events"] = body
            data = json.dumps(tracker, ensure_ascii=False).encode("utf-8")
        elif self.server.answer is not None:
            data = json.dumps(self.server.answer(body), ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(self.server.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeouts)
            pass

    do_GET = do_POST = do_PUT = _serve  # noqa: N815 - http.server's names

    def log_message(self, *args: Any) -> None:  # keep the test output clean
        pass


def serving_fake_rasa() -> Iterator[FakeRasa]:
    """A :class:`FakeRasa` answering on its own thread until the generator is closed."""
    server = FakeRasa()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def fake_rasa() -> Iterator[FakeRasa]:
    yield from serving_fake_rasa()
