"""Starts the production topology for the fault tests, as ``make run-production`` does.

Two Rasa replicas with ``endpoints.production.yml`` (PostgreSQL tracker store,
Redis lock store, the action server's secret), one action server with two
Sanic workers, and the gateway under gunicorn (``gunicorn.conf.py``, two
threaded workers) routing by ``RASA_URLS``. Everything gets free loopback
ports; the records and the tracker store are two PostgreSQL databases made for
the run and dropped after it; the lock store and the gateway's counters use
Redis database :data:`REDIS_DB`.
"""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import requests

from tests.e2e.stack import RASA, ROOT, free_port, latest_model, wait_until_healthy

PG_ADMIN_DSN = os.environ.get(
    "TEST_POSTGRES_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"
)
REDIS_DB = 6  # the gateway's counters and Rasa's locks (keys per conversation and address)


def _pg_admin():  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(PG_ADMIN_DSN, autocommit=True)


@dataclass
class Topology:
    workdir: Path
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    rasa_ports: list[int] = field(default_factory=list)
    action_port: int = 0
    gateway_port: int = 0
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    rasa_token: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    channel_secret: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    action_secret: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    twilio_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    @property
    def records_db(self) -> str:
        return f"topology_records_{self.run}"

    @property
    def tracker_db(self) -> str:
        return f"topology_tracker_{self.run}"

    @property
    def database_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.records_db}"

    @property
    def rasa_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.rasa_ports]

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            HOTLINE_ENV="test",
            DATABASE_URL=self.database_url,
            TRACKER_DB_URL=f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.tracker_db}",
            RASA_URL=self.rasa_urls[0],
            RASA_URLS=",".join(self.rasa_urls),
            RASA_TOKEN=self.rasa_token,
            GATEWAY_CHANNEL_SECRET=self.channel_secret,
            ACTION_SERVER_SECRET=self.action_secret,
            ACTION_SERVER_PORT=str(self.action_port),
            ACTION_ENDPOINT_URL=f"http://127.0.0.1:{self.action_port}/webhook",
            ACTION_SERVER_SANIC_WORKERS="2",
            TRACKER_DB_HOST="127.0.0.1", TRACKER_DB_PORT="5432", TRACKER_DB_NAME=self.tracker_db,
            TRACKER_DB_USER="postgres", TRACKER_DB_PASSWORD="",
            REDIS_HOST="127.0.0.1", REDIS_PORT="6379", REDIS_LOCK_DB=str(REDIS_DB),
            REDIS_PASSWORD="",
            REDIS_URL=f"redis://127.0.0.1:6379/{REDIS_DB}",
            TWILIO_AUTH_TOKEN=self.twilio_token,
            # the test is about fail-over, not speed: a busy 2-core machine gets time
            VOICE_TURN_DEADLINE_MS="10000",
            GATEWAY_BIND=f"127.0.0.1:{self.gateway_port}",
            GATEWAY_WORKERS="2",
            GATEWAY_THREADS="4",
            RASA_TELEMETRY_ENABLED="false",
            TF_CPP_MIN_LOG_LEVEL="3",
        )
        env.pop("SANIC_WORKERS", None)
        return env

    def _log(self, name: str):  # type: ignore[no-untyped-def]
        return open(self.workdir / f"{name}.log", "ab")

    def _spawn(self, name: str, command: list[str]) -> None:
        self.processes[name] = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=self._log(name), stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start(self, timeout: float = 300.0) -> "Topology":
        self.rasa_ports = [free_port(), free_port()]
        self.action_port, self.gateway_port = free_port(), free_port()
        with _pg_admin() as admin:
            for name in (self.records_db, self.tracker_db):
                admin.execute(f'CREATE DATABASE "{name}"')
        as_of = date.today().replace(day=1).isoformat()
        for command in (["-m", "bot.records.seed", "--count", "60", "--reference-date", as_of],
                        ["-m", "bot.knowledge", "seed"]):
            subprocess.run([sys.executable, *command], check=True, cwd=ROOT, env=self.env,
                           stdout=self._log("seed"), stderr=subprocess.STDOUT)
        self._spawn("actions", [sys.executable, "-m", "actions.serve", "--interface", "127.0.0.1",
                                "--port", str(self.action_port)])
        for number in (1, 2):
            self.start_rasa(number)
        self._spawn("gateway", [str(ROOT / ".venv" / "app" / "bin" / "gunicorn"),
                                "-c", str(ROOT / "gunicorn.conf.py")])
        self.wait_healthy(timeout)
        return self

    def start_rasa(self, number: int) -> None:
        self._spawn(f"rasa{number}", [
            str(RASA), "run", "--enable-api", f"--auth-token={self.rasa_token}",
            "--interface", "127.0.0.1", "--port", str(self.rasa_ports[number - 1]),
            "--model", str(latest_model()), "--endpoints", str(ROOT / "endpoints.production.yml"),
            "--credentials", str(ROOT / "credentials.yml"),
        ])

    def healthy(self) -> dict[str, bool]:
        parts = {}
        for number, url in enumerate(self.rasa_urls, start=1):
            try:
                status = requests.get(f"{url}/status", params={"token": self.rasa_token}, timeout=2)
                parts[f"rasa{number}"] = status.ok and bool(status.json().get("model_id"))
            except (requests.RequestException, ValueError):
                parts[f"rasa{number}"] = False
        for name, url in (("actions", f"http://127.0.0.1:{self.action_port}/health"),
                          ("gateway", f"{self.gateway_url}/readyz")):
            try:
                parts[name] = requests.get(url, timeout=2).ok
            except requests.RequestException:
                parts[name] = False
        return parts

    def wait_healthy(self, timeout: float = 300.0) -> None:
        wait_until_healthy(self.processes, self.healthy, self.workdir, timeout)

    def replica_number(self, url: str) -> int:
        return self.rasa_urls.index(url) + 1

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Kill a part's whole process group with ``sig`` and reap it."""
        process = self.processes.pop(name)
        os.killpg(process.pid, sig)
        process.wait(timeout=30)

    def action_workers(self) -> list[int]:
        """The pids of the action server's Sanic worker processes (its children)."""
        parent = self.processes["actions"].pid
        children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        return [int(pid) for pid in children]

    def tracker(self, sender: str, replica: str) -> dict:
        response = requests.get(f"{replica}/conversations/{sender}/tracker",
                                params={"token": self.rasa_token}, timeout=10)
        response.raise_for_status()
        return response.json()

    def stop(self) -> None:
        for name in list(self.processes):
            process = self.processes.pop(name)
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        self._forget()

    def _forget(self) -> None:
        # Rasa's locks are deleted after each turn and the gateway's counters expire.
        with _pg_admin() as admin:
            for name in (self.records_db, self.tracker_db):
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
