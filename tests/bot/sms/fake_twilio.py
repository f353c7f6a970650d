"""A local HTTP server that answers like Twilio's Messages API, for the SMS tests.

Twilio's own REST client talks to it over real HTTP
(:func:`bot.sms.sender.twilio_client` with ``api_base``): ``POST
/2010-04-01/Accounts/<AccountSid>/Messages.json`` with basic auth and the
form fields ``To``, ``From``, ``Body`` and ``StatusCallback``. Each request
takes the next scripted answer (default: accepted):

- :func:`accepted`: 201 and the message resource (``sid`` ``SM…``, ``status``
  ``queued``);
- :func:`refused`: Twilio's error body (``code``, ``message`` quoting the
  number as Twilio does, ``more_info``, ``status``) with that HTTP status;
- :func:`slow`: accepted (the message exists), but the answer comes only after
  ``seconds`` (the client's read time-out fires first);
- :func:`during`: runs a function while the request is being handled, then
  accepts (what else happens while an SMS is in flight).
"""
from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

Answer = tuple[str, Any]


def accepted() -> Answer:
    return ("accepted", None)


def refused(status: int, code: int) -> Answer:
    return ("refused", (status, code))


def slow(seconds: float) -> Answer:
    return ("slow", seconds)


def during(action: Callable[[], None]) -> Answer:
    return ("during", action)


@dataclass
class FakeTwilio:
    account_sid: str
    auth_token: str
    url: str = ""
    script: list[Answer] = field(default_factory=list)
    created: list[dict[str, str]] = field(default_factory=list)  # messages Twilio "has"
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_answer(self) -> Answer:
        with self.lock:
            self.requests += 1
            return self.script.pop(0) if self.script else accepted()

    def create(self, form: dict[str, str]) -> dict[str, Any]:
        sid = "SM" + uuid.uuid4().hex
        with self.lock:
            self.created.append({**form, "Sid": sid})
        return {"sid": sid, "account_sid": self.account_sid, "to": form.get("To"),
                "from": form.get("From"), "body": form.get("Body"), "status": "queued",
                "num_segments": "1", "direction": "outbound-api", "api_version": "2010-04-01",
                "error_code": None, "error_message": None,
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json"}


def _handler(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    expected = "Basic " + base64.b64encode(
        f"{fake.account_sid}:{fake.auth_token}".encode()).decode()
    path = f"/2010-04-01/Accounts/{fake.account_sid}/Messages.json"

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:  # quiet
            pass

        def _json(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if self.headers.get("Authorization") != expected:
                self._json(401, {"code": 20003, "message": "Authenticate", "status": 401})
                return
            if self.path != path:
                self._json(404, {"code": 20404, "message": "Not found", "status": 404})
                return
            kind, value = fake.next_answer()
            if kind == "refused":
                status, code = value
                self._json(status, {
                    "code": code, "status": status,
                    "message": f"The 'To' number {form.get('To')} is not reachable",
                    "more_info": f"https://www.twilio.com/docs/errors/{code}"})
                return
            resource = fake.create(form)
            if kind == "slow":
                time.sleep(value)
            elif kind == "during":
                value()
            try:
                self._json(201, resource)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up
                pass

    return Handler


@contextmanager
def fake_twilio(account_sid: str, auth_token: str) -> Iterator[FakeTwilio]:
    """Run a fake Twilio on a free port for the duration of the block."""
    fake = FakeTwilio(account_sid, auth_token)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
