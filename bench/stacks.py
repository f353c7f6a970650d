"""The two systems ``bench/load.py`` drives, started on free loopback ports.

- :class:`WholeStack`: the production topology of ``make run-production``
  (``scripts/production.py``, ``Procfile.production``) on its own ports and
  databases (made for the run, dropped after it): records and Rasa's tracker
  store on PostgreSQL, the Redis lock store, two Rasa replicas, the action
  server (two workers), the gateway under gunicorn (``gunicorn.conf.py``)
  routing each conversation to a replica, trusting one proxy
  (``TRUSTED_PROXIES=1``, as behind the load balancer).
- :class:`BareRasa`: one stock ``rasa run`` process, same model, Rasa's REST
  channel only (so none of :mod:`bot.channels` and its speed-ups is loaded),
  its default in-memory tracker and lock stores, with the action
  server on the same kind of records database, so that the same messages do
  the same database work.

Both record every process they start (:attr:`processes`), for CPU seconds and
resident memory. Nothing here is used outside the benchmark.
"""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import psutil
import requests
from sqlalchemy import create_engine, select, text

from tests.e2e.stack import GATEWAY_SECRET, RASA, RASA_TOKEN, ROOT, free_port, latest_model

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SECRET_KEY = secrets.token_urlsafe(48)


def pg_url(name: str, driver: str = "psycopg") -> str:
    return f"postgresql+{driver}://postgres@127.0.0.1:5432/{name}"


def create_database(name: str) -> None:
    engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def drop_database(name: str) -> None:
    engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@dataclass
class System:
    """Processes on loopback; subclasses say what they are."""

    workdir: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    databases: list[str] = field(default_factory=list)
    base_url: str = ""

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="3",
                   SANIC_HOST="127.0.0.1", HOTLINE_ENV="test", RASA_TOKEN=RASA_TOKEN,
                   GATEWAY_CHANNEL_SECRET=GATEWAY_SECRET, SECRET_KEY=SECRET_KEY)
        env.update(extra)
        return env

    def spawn(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        log = open(self.workdir / f"{name}.log", "ab")
        self.processes[name] = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log,
                                                stderr=subprocess.STDOUT, start_new_session=True)

    def records(self, name: str) -> str:
        """A fresh PostgreSQL records database, migrated and seeded like ``make run``."""
        create_database(name)
        self.databases.append(name)
        url = pg_url(name)
        as_of = date.today().replace(day=1).isoformat()
        log = open(self.workdir / "seed.log", "ab")
        for argv in ([sys.executable, "-m", "bot.records.seed", "--count", "600", "--url", url,
                      "--reference-date", as_of],
                     [sys.executable, "-m", "bot.knowledge", "seed", "--url", url]):
            subprocess.run(argv, cwd=ROOT, env=self.env(DATABASE_URL=url), check=True,
                           stdout=log, stderr=subprocess.STDOUT)
        return url

    def rasa(self, name: str, port: int, endpoints: Path, env: dict[str, str],
             credentials: Path = ROOT / "credentials.yml") -> None:
        self.spawn(name, [str(RASA), "run", "--enable-api", f"--auth-token={RASA_TOKEN}",
                          "--interface", "127.0.0.1", "--port", str(port),
                          "--model", str(latest_model()), "--endpoints", str(endpoints),
                          "--credentials", str(credentials)], env)

    def actions(self, name: str, port: int, env: dict[str, str]) -> None:
        self.spawn(name, [sys.executable, "-m", "actions.serve", "--interface", "127.0.0.1",
                          "--port", str(port)], env)

    def wait(self, urls: list[str], timeout: float = 240.0) -> None:
        deadline = time.monotonic() + timeout
        pending = list(urls)
        while pending and time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited; see {self.workdir / (name + '.log')}")
            try:
                if requests.get(pending[0], timeout=2).ok:
                    pending.pop(0)
                    continue
            except requests.RequestException:
                pass
            time.sleep(0.5)
        if pending:
            raise RuntimeError(f"not healthy after {timeout} s: {pending} (logs in {self.workdir})")

    def ps(self) -> dict[str, list[psutil.Process]]:
        """Every live process of each part (gunicorn's and Rasa's children included)."""
        found: dict[str, list[psutil.Process]] = {}
        for name, popen in self.processes.items():
            try:
                parent = psutil.Process(popen.pid)
                found[name] = [parent, *parent.children(recursive=True)]
            except psutil.NoSuchProcess:
                found[name] = []
        # PostgreSQL's backends serving this system's databases (the server is shared).
        found["postgresql"] = [process for process in psutil.process_iter(["cmdline"])
                               if any(f" {db} " in " ".join(process.info["cmdline"] or []) + " "
                                      for db in self.databases)]
        return found

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()
        for name in self.databases:
            drop_database(name)
        self.databases.clear()


@dataclass
class WholeStack(System):
    """``make run-production`` on other ports and databases: its own settings file
    written by ``scripts/production.py`` (production mode, strong keys), then the
    processes of ``Procfile.production`` (without the respawner)."""

    public_url: str = ""
    twilio_token: str = ""
    values: dict[str, str] = field(default_factory=dict)

    def start(self) -> "WholeStack":
        tag = f"bench_{os.getpid()}"
        ports = {name: str(free_port()) for name in
                 ("GATEWAY_PORT", "RASA1_PORT", "RASA2_PORT", "ACTION_SERVER_PORT")}
        env_file = self.workdir / "production.env"
        self.databases += [f"{tag}_records", f"{tag}_tracker"]
        subprocess.run([sys.executable, "scripts/production.py", "--env-file", str(env_file)],
                       cwd=ROOT, check=True, stdout=open(self.workdir / "seed.log", "ab"),
                       stderr=subprocess.STDOUT,
                       env=dict(os.environ, **ports, PRODUCTION_RECORDS_DB=f"{tag}_records",
                                PRODUCTION_TRACKER_DB=f"{tag}_tracker"))
        values = {}
        for line in env_file.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#") and "=" in line:
                name, value = line.split("=", 1)
                values[name.strip()] = value.strip().strip('"')
        # One proxy in front, as behind the load balancer: each simulated
        # visitor's address comes from X-Forwarded-For, the scheme is https.
        self.public_url = f"https://bench.{tag}.invalid"
        values.update(TRUSTED_PROXIES="1", PUBLIC_BASE_URL=self.public_url)
        self.values, self.twilio_token = values, values["TWILIO_AUTH_TOKEN"]
        env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="3", **values)
        rasa = [str(RASA), "run", "--enable-api", f"--auth-token={values['RASA_TOKEN']}",
                "--interface", "127.0.0.1", "--model", str(latest_model()),
                "--endpoints", values["RASA_ENDPOINTS"], "--credentials", values["RASA_CREDENTIALS"]]
        self.spawn("actions", [sys.executable, "-m", "actions.serve", "--interface", "127.0.0.1",
                               "--port", values["ACTION_SERVER_PORT"]], env)
        self.spawn("rasa1", [*rasa, "--port", values["RASA1_PORT"]], env)
        self.spawn("rasa2", [*rasa, "--port", values["RASA2_PORT"]], env)
        self.spawn("gateway", [str(ROOT / ".venv/app/bin/gunicorn"), "-c", "gunicorn.conf.py"], env)
        self.base_url = f"http://127.0.0.1:{values['GATEWAY_PORT']}"
        token = values["RASA_TOKEN"]
        self.wait([f"http://127.0.0.1:{values['ACTION_SERVER_PORT']}/health",
                   f"http://127.0.0.1:{values['RASA1_PORT']}/status?token={token}",
                   f"http://127.0.0.1:{values['RASA2_PORT']}/status?token={token}",
                   f"{self.base_url}/livez"])
        return self


@dataclass
class BareRasa(System):
    records_url: str = ""

    def start(self) -> "BareRasa":
        self.records_url = self.records(f"bench_{os.getpid()}_bare")
        action_port, rasa_port = free_port(), free_port()
        endpoints = self.workdir / "endpoints-bare.yml"
        endpoints.write_text(f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n',
                             encoding="utf-8")
        credentials = self.workdir / "credentials-bare.yml"
        credentials.write_text("rest:\n", encoding="utf-8")  # stock Rasa: none of bot.channels
        env = self.env(DATABASE_URL=self.records_url)
        self.actions("actions", action_port, env)
        self.rasa("rasa", rasa_port, endpoints, env, credentials)
        self.base_url = f"http://127.0.0.1:{rasa_port}"
        self.wait([f"http://127.0.0.1:{action_port}/health",
                   f"{self.base_url}/status?token={RASA_TOKEN}"])
        return self

    def issue_auth_sessions(self, count: int, path: Path) -> None:
        """Open ``count`` auth sessions on the REST channel, one per new sender, and
        write ``sender<TAB>outcome message`` lines: the secure step done ahead (the
        REST channel has no verify form; the gateway's verification is not what
        bare Rasa is measured on)."""
        from bot.contract import AUTHENTICATED, intent_message
        from bot.records.account_models import AuthSession, FundAccount
        from bot.records.base import Channel
        from bot.records.db import session_scope
        from bot.records.verification import token_hash

        numbers = ["102030405060", "102030405082", "102030405093", "102030405104"]
        now = datetime.now(timezone.utc)
        lines = []
        with session_scope(self.records_url) as session:
            ids = list(session.scalars(select(FundAccount.id).where(
                FundAccount.account_number.in_(numbers))))
            for index in range(count):
                sender, token = secrets.token_hex(16), secrets.token_urlsafe(32)
                session.add(AuthSession(token_hash=token_hash(token), account_id=ids[index % len(ids)],
                                        channel=Channel.rest, conversation_id=sender, created_at=now,
                                        expires_at=now + timedelta(hours=2), revoked=False))
                lines.append(f"{sender}\t{intent_message(AUTHENTICATED, {'auth_token': token})}\n")
        path.write_text("".join(lines), encoding="utf-8")
