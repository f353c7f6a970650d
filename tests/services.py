"""PostgreSQL and Redis servers of a test's own, which the test stops and starts for real.

The machine's PostgreSQL (5432) and Redis (6379) serve every other test and
must never be restarted. An outage test starts its own instead:

- :class:`PostgresServer`: ``initdb`` a cluster in a temporary folder owned by
  the ``postgres`` user (the server refuses to run as root), trust
  authentication on 127.0.0.1 and a free port; ``pg_ctl`` starts and stops it.
  :meth:`PostgresServer.stop` is a real shutdown (``fast``: every connection is
  ended, as when an operator restarts the server; ``immediate``: the server
  process group is killed without a checkpoint, as in a crash); ``start``
  brings the same cluster back on the same port, data intact.
- :class:`RedisServer`: ``redis-server`` on a free port with no persistence;
  :meth:`RedisServer.stop` kills the process (SIGTERM, or SIGKILL), ``start``
  runs a new one on the same port (empty, as a restarted cache is);
  ``pause``/``resume`` freeze and thaw it (SIGSTOP/SIGCONT: a hung server).

Both are context managers that remove everything they made.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

PG_BIN = Path(os.environ.get("TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_USER = "postgres"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _as_postgres(*command: str | Path, **kwargs: Any) -> subprocess.CompletedProcess:
    """Run a PostgreSQL program as the ``postgres`` user (root when tests run as root)."""
    args = [str(part) for part in command]
    if os.geteuid() == 0:
        args = ["runuser", "-u", PG_USER, "--", *args]
    return subprocess.run(args, check=True, capture_output=True, text=True, timeout=60, **kwargs)


class PostgresServer:
    """A PostgreSQL 15 cluster of one test, on 127.0.0.1:``port``, user ``postgres``."""

    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="outage-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        if os.geteuid() == 0:
            shutil.chown(self.root, PG_USER, PG_USER)
        _as_postgres(PG_BIN / "initdb", "-D", self.data, "-U", PG_USER, "--auth=trust",
                     "--encoding=UTF8", "--locale=C.UTF-8")

    def url(self, database: str = "postgres") -> str:
        """A SQLAlchemy URL (psycopg 3) of ``database`` on this server."""
        return f"postgresql+psycopg://{PG_USER}@127.0.0.1:{self.port}/{database}"

    @property
    def running(self) -> bool:
        return port_open(self.port)

    def start(self, timeout: float = 30.0) -> None:
        """Start the server (the same cluster, the same port) and wait for connections."""
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 "
                   f"-c unix_socket_directories={self.root} -c fsync=off "
                   f"-c full_page_writes=off -c max_connections=100")
        _as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "-l", self.log, "-o", options,
                     "-w", "-t", str(int(timeout)), "start")

    def stop(self, mode: str = "fast") -> None:
        """Shut the server down for real: ``fast`` ends every connection, ``immediate``
        kills the server processes (crash recovery at the next start)."""
        _as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")
        deadline = time.monotonic() + 10
        while self.running and time.monotonic() < deadline:
            time.sleep(0.05)

    def create_database(self, name: str) -> str:
        """Create ``name`` (if missing) and return its URL."""
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user=PG_USER, dbname="postgres",
                             autocommit=True) as admin:
            exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                   (name,)).fetchone()
            if not exists:
                admin.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def close(self) -> None:
        if self.running:
            try:
                self.stop("immediate")
            except subprocess.CalledProcessError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "PostgresServer":
        self.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.close()


class RedisServer:
    """A ``redis-server`` of one test, on 127.0.0.1:``port``, no persistence."""

    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="outage-redis-"))
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None and port_open(self.port)

    def start(self, timeout: float = 10.0) -> None:
        """Run a new server on the same port and wait until it answers."""
        log = open(self.root / "server.log", "ab")  # noqa: SIM115 - kept by the process
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.root)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while not port_open(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start; see {self.root / 'server.log'}")
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Kill the server process (SIGTERM, or SIGKILL for a crash) and wait for it."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections are accepted, nothing is answered."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.resume()
        self.stop(signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "RedisServer":
        self.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.close()
