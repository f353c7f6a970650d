"""The production stores under the real assistant, on servers the test may stop.

:class:`OutageStack` is :class:`tests.e2e.stack.Stack` (the trained model, the
action server) laid out as ``endpoints.production.yml`` lays out production:
the records and Rasa's tracker store in two databases of one PostgreSQL
server, Rasa's lock store and the gateway's rate limits on one Redis server;
both servers are the test's own (:mod:`tests.services`), so the test can
stop and start them. :meth:`OutageStack.gateway` serves the gateway app on a
free port with those settings, in production error mode (no ``TESTING``: an
unhandled error is a 500 page, as under gunicorn).
"""
from __future__ import annotations

import subprocess
import sys
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from bot.gateway import create_app
from bot.settings import Settings, load_settings
from tests.e2e.stack import ROOT, Stack, free_port
from tests.services import PostgresServer, RedisServer

SHANGHAI = timezone(timedelta(hours=8))
IN_HOURS = datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)  # a Wednesday, agents at work


class Clock:
    def __init__(self, now: datetime = IN_HOURS) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def production_endpoints(action_port: int, postgres: PostgresServer, redis: RedisServer) -> str:
    """``endpoints.production.yml`` with this test's servers in place of the variables."""
    return (
        f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n'
        "tracker_store:\n"
        "  type: bot.rasa_tracker_store.ParameterHidingSQLTrackerStore\n"
        '  dialect: "postgresql"\n'
        f'  url: "127.0.0.1"\n  port: {postgres.port}\n  db: "tracker"\n'
        '  username: "postgres"\n'
        "lock_store:\n  type: redis\n"
        f'  url: "127.0.0.1"\n  port: {redis.port}\n  db: 1\n  key_prefix: hotline96319\n'
        "nlg:\n  type: bot.channels.nlg.SlotCheckingGenerator\n"
    )


@dataclass
class Gateway:
    """The gateway app served on a free port (threaded, like gunicorn's gthread workers)."""

    settings: Settings
    app: Any
    server: BaseWSGIServer
    clock: Clock
    thread: threading.Thread = field(init=False)

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def close(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)


@dataclass
class OutageStack(Stack):
    postgres: PostgresServer = field(default_factory=PostgresServer)
    redis: RedisServer = field(default_factory=RedisServer)

    @property
    def env(self) -> dict[str, str]:
        env = super().env
        env["REDIS_URL"] = self.redis.url
        return env

    def start(self, seed_count: int = 20, timeout: float = 180.0) -> "OutageStack":
        self.postgres.start()
        self.redis.start()
        self.database_url = self.postgres.create_database("records")
        self.postgres.create_database("tracker")
        self.rasa_port, self.action_port = free_port(), free_port()
        as_of = date.today().replace(day=1).isoformat()
        for command in (["bot.records.seed", "--count", str(seed_count), "--reference-date", as_of],
                        ["bot.knowledge", "seed"]):
            subprocess.run([sys.executable, "-m", *command, "--url", self.database_url],
                           check=True, cwd=ROOT, env=self.env, stdout=self._log("seed"),
                           stderr=subprocess.STDOUT)
        endpoints = self.workdir / "endpoints.yml"
        endpoints.write_text(production_endpoints(self.action_port, self.postgres, self.redis),
                             encoding="utf-8")
        self.processes["actions"] = subprocess.Popen(
            [sys.executable, "-m", "actions.serve", "--port", str(self.action_port)],
            cwd=ROOT, env=self.env, stdout=self._log("actions"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.start_rasa(endpoints)
        self.wait_healthy(timeout)
        return self

    def gateway(self, **config: Any) -> Gateway:
        settings = load_settings({**self.env, "VOICE_TURN_DEADLINE_MS": "6000",
                                  "CHAT_RASA_TIMEOUT_SECONDS": "6"})
        clock = Clock()
        app = create_app({"HOTLINE_SETTINGS": settings, "VOICE_CLOCK": clock,
                          "CHAT_CLOCK": clock, **config})
        server = make_server("127.0.0.1", free_port(), app, threaded=True)
        return Gateway(settings, app, server, clock)

    def stop(self) -> None:
        super().stop()
        self.redis.close()
        self.postgres.close()
