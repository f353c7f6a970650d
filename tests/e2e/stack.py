"""Starts the real assistant for end-to-end tests: action server + Rasa with the trained model.

Used by the ``stack`` fixture (tests/e2e/conftest.py). Each run gets its own
SQLite records database and tracker store in a temporary folder, free loopback
ports, and is stopped at the end of the test session.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable

import requests

ROOT = Path(__file__).resolve().parents[2]
RASA = ROOT / ".venv" / "rasa" / "bin" / "rasa"
RASA_TOKEN = "e2e-rasa-token"
GATEWAY_SECRET = "e2e-gateway-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def latest_model() -> Path:
    models = sorted((ROOT / "var" / "models").glob("hotline-*.tar.gz"), key=os.path.getmtime)
    if not models:
        raise RuntimeError("no trained model in var/models: run `make train` first")
    return models[-1]


def wait_until_healthy(processes: dict[str, subprocess.Popen], healthy: Callable[[], dict[str, bool]],
                       workdir: Path, timeout: float, poll: float = 1.0) -> None:
    """Wait until every part in ``healthy()`` answers; fail at once if a process exited
    (its log is ``workdir/<name>.log``), or after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, process in processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited early; see {workdir / (name + '.log')}")
        if all(healthy().values()):
            return
        time.sleep(poll)
    raise RuntimeError(f"not healthy after {timeout} s: {healthy()} (logs in {workdir})")


@dataclass
class Stack:
    workdir: Path
    database_url: str = ""
    rasa_port: int = 0
    action_port: int = 0
    tracker_db: Path = Path()
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def env(self) -> dict[str, str]:
        """Environment for processes (and code) that belong to this stack."""
        env = dict(os.environ)
        env.update(
            DATABASE_URL=self.database_url,
            RASA_URL=self.rasa_url,
            RASA_TOKEN=RASA_TOKEN,
            GATEWAY_CHANNEL_SECRET=GATEWAY_SECRET,
            ACTION_SERVER_PORT=str(self.action_port),
            HOTLINE_ENV="test",
            RASA_TELEMETRY_ENABLED="false",
            TF_CPP_MIN_LOG_LEVEL="3",
            SANIC_HOST="127.0.0.1",
        )
        return env

    def _log(self, name: str):
        return open(self.workdir / f"{name}.log", "ab")

    def start(self, seed_count: int = 60, timeout: float = 180.0) -> "Stack":
        self.database_url = f"sqlite:///{self.workdir / 'records.db'}"
        self.tracker_db = self.workdir / "tracker.db"
        self.rasa_port, self.action_port = free_port(), free_port()
        # Demo data "as of" the first of this month, so that it looks current
        # whenever the tests run (no month of arrears appears as time passes).
        as_of = date.today().replace(day=1).isoformat()
        subprocess.run(
            [sys.executable, "-m", "bot.records.seed", "--count", str(seed_count),
             "--url", self.database_url, "--reference-date", as_of],
            check=True, cwd=ROOT, env=self.env, stdout=self._log("seed"), stderr=subprocess.STDOUT,
        )
        subprocess.run(
            [sys.executable, "-m", "bot.knowledge", "seed", "--url", self.database_url],
            check=True, cwd=ROOT, env=self.env, stdout=self._log("seed"), stderr=subprocess.STDOUT,
        )
        endpoints = self.workdir / "endpoints.yml"
        endpoints.write_text(
            f'action_endpoint:\n  url: "http://127.0.0.1:{self.action_port}/webhook"\n'
            f'tracker_store:\n  type: SQL\n  dialect: "sqlite"\n  db: "{self.tracker_db}"\n'
            # as both endpoint files: no reply renders an empty slot
            "nlg:\n  type: bot.channels.nlg.SlotCheckingGenerator\n",
            encoding="utf-8",
        )
        self.processes["actions"] = subprocess.Popen(
            [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(self.action_port)],
            cwd=ROOT, env=self.env, stdout=self._log("actions"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.start_rasa(endpoints)
        self.wait_healthy(timeout)
        return self

    def start_rasa(self, endpoints: Path | None = None) -> None:
        endpoints = endpoints or self.workdir / "endpoints.yml"
        self.processes["rasa"] = subprocess.Popen(
            [str(RASA), "run", "--enable-api", "--auth-token", RASA_TOKEN,
             "--interface", "127.0.0.1", "--port", str(self.rasa_port),
             "--model", str(latest_model()), "--endpoints", str(endpoints),
             "--credentials", str(ROOT / "credentials.yml")],
            cwd=ROOT, env=self.env, stdout=self._log("rasa"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def healthy(self) -> dict[str, bool]:
        parts = {}
        try:
            status = requests.get(f"{self.rasa_url}/status", params={"token": RASA_TOKEN}, timeout=2)
            parts["rasa"] = status.ok and bool(status.json().get("model_id"))
        except (requests.RequestException, ValueError):
            parts["rasa"] = False
        try:
            parts["actions"] = requests.get(f"http://127.0.0.1:{self.action_port}/health", timeout=2).ok
        except requests.RequestException:
            parts["actions"] = False
        return parts

    def wait_healthy(self, timeout: float = 180.0) -> None:
        wait_until_healthy(self.processes, self.healthy, self.workdir, timeout, poll=0.5)

    def clear_auth_failures(self, account_number: str) -> None:
        """Forget failed verifications of one account, so a lock-out test can
        start from zero whichever test used the shared stack before it."""
        from sqlalchemy import delete, select

        from bot.records.db import session_scope
        from bot.records.account_models import AuthFailure, FundAccount

        with session_scope(self.database_url) as session:
            account_id = session.scalar(
                select(FundAccount.id).where(FundAccount.account_number == account_number)
            )
            session.execute(delete(AuthFailure).where(AuthFailure.account_id == account_id))

    def stop_part(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def stop(self) -> None:
        for name in list(self.processes):
            self.stop_part(name)
