"""Prepares the local trial of the production topology (``make run-production``).

    .venv/app/bin/python scripts/production.py [--env-file var/production.env]

1. Writes the production settings once into ``var/production.env`` (mode 600,
   never committed: ``var/`` is ignored): strong random keys, the two Rasa
   replicas, PostgreSQL and Redis on this machine. An existing file is kept
   as it is (keys must not change under running conversations); delete it to
   make new keys.
2. Creates the two PostgreSQL databases if missing: the records
   (``hotline_records``) and Rasa's tracker store (``hotline_tracker``).
3. Applies the records migrations, then loads the synthetic demo data and the
   policy knowledge base. The demo seed refuses ``HOTLINE_ENV=production``, so
   it runs here in development mode, against this trial's own database only:
   a local trial with made-up depositors, never a real deployment. A real
   deployment migrates (``python -m bot.records.migrate``) and never seeds.

The ports of a new file can be chosen with ``GATEWAY_PORT``, ``RASA1_PORT``,
``RASA2_PORT`` and ``ACTION_SERVER_PORT`` in the environment (defaults 8000,
5005, 5006, 5055), the databases' names with ``PRODUCTION_RECORDS_DB`` and
``PRODUCTION_TRACKER_DB``; PostgreSQL with ``PRODUCTION_PG_DSN`` (a libpq
string whose user may create databases, default the local ``postgres`` user).
"""
from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ENV_FILE = ROOT / "var" / "production.env"
DEFAULT_PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"
RECORDS_DB = "hotline_records"
TRACKER_DB = "hotline_tracker"
# Redis database numbers of this trial: the gateway's shared counters, Rasa's lock store.
REDIS_GATEWAY_DB = 0
REDIS_LOCK_DB = 1

HEADER = """\
# LOCAL TRIAL of the production topology (make run-production), written once by
# scripts/production.py. Secrets: mode 600, never commit, never copy into logs.
# The records database holds synthetic demo data: this is not a real deployment.
"""


def new_key() -> str:
    return secrets.token_urlsafe(48)


def pg_parts(dsn: str) -> dict[str, str]:
    import psycopg

    info = psycopg.conninfo.conninfo_to_dict(dsn)
    return {"host": str(info.get("host") or "127.0.0.1"), "port": str(info.get("port") or 5432),
            "user": str(info.get("user") or "postgres"), "password": str(info.get("password") or "")}


def production_env(environ: dict[str, str], dsn: str) -> dict[str, str]:
    """Every variable of the trial: fresh keys, this machine's PostgreSQL and Redis."""
    pg = pg_parts(dsn)
    gateway_port = environ.get("GATEWAY_PORT") or "8000"
    rasa_ports = (environ.get("RASA1_PORT") or "5005", environ.get("RASA2_PORT") or "5006")
    action_port = environ.get("ACTION_SERVER_PORT") or "5055"
    auth = f"{pg['user']}:{pg['password']}@" if pg["password"] else f"{pg['user']}@"
    base = f"postgresql+psycopg://{auth}{pg['host']}:{pg['port']}"
    records_db = environ.get("PRODUCTION_RECORDS_DB") or RECORDS_DB
    tracker_db = environ.get("PRODUCTION_TRACKER_DB") or TRACKER_DB
    return {
        "HOTLINE_ENV": "production",
        "SECRET_KEY": new_key(),
        "RASA_TOKEN": new_key(),
        "GATEWAY_CHANNEL_SECRET": new_key(),
        "ACTION_SERVER_SECRET": new_key(),
        # Stands in for the Twilio account's auth token: replace it with the real
        # one (Twilio console) before pointing a phone number here.
        "TWILIO_AUTH_TOKEN": new_key(),
        "DATABASE_URL": f"{base}/{records_db}",
        "TRACKER_DB_URL": f"{base}/{tracker_db}",
        "TRACKER_DB_HOST": pg["host"],
        "TRACKER_DB_PORT": pg["port"],
        "TRACKER_DB_NAME": tracker_db,
        "TRACKER_DB_USER": pg["user"],
        "TRACKER_DB_PASSWORD": pg["password"],
        "REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_GATEWAY_DB}",
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": "6379",
        "REDIS_LOCK_DB": str(REDIS_LOCK_DB),
        "REDIS_PASSWORD": "",
        "RASA1_PORT": rasa_ports[0],
        "RASA2_PORT": rasa_ports[1],
        "RASA_URL": f"http://127.0.0.1:{rasa_ports[0]}",
        "RASA_URLS": ",".join(f"http://127.0.0.1:{port}" for port in rasa_ports),
        "RASA_ENDPOINTS": "endpoints.production.yml",
        "RASA_CREDENTIALS": "credentials.production.yml",
        "ACTION_SERVER_PORT": action_port,
        "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{action_port}/webhook",
        # rasa_sdk forks this many workers on one port (Rasa itself reads SANIC_WORKERS: unset, 1)
        "ACTION_SERVER_SANIC_WORKERS": "2",
        "GATEWAY_PORT": gateway_port,
        "GATEWAY_BIND": f"127.0.0.1:{gateway_port}",
        "GATEWAY_WORKERS": "2",
        "GATEWAY_THREADS": "8",
    }


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            values[name.strip()] = value.strip().strip('"')
    return values


def write_env_file(path: Path, values: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # An empty value is written "" (honcho drops NAME= lines; Rasa wants the name set).
    body = HEADER + "".join(f"{name}={value or chr(34) * 2}\n" for name, value in values.items())
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(body)


def create_databases(dsn: str, names: tuple[str, ...]) -> list[str]:
    """Create each database that does not exist yet; return those created."""
    import psycopg

    created = []
    with psycopg.connect(dsn, autocommit=True) as admin:
        for name in names:
            if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                continue
            admin.execute(f'CREATE DATABASE "{name}"')
            created.append(name)
    return created


def seed_demo_data(database_url: str) -> None:
    """Migrations, synthetic depositors and the knowledge base, as a development run would."""
    env = dict(os.environ, HOTLINE_ENV="development", DATABASE_URL=database_url)
    as_of = date.today().replace(day=1).isoformat()
    for command in (["-m", "bot.records.migrate"],
                    ["-m", "bot.records.seed", "--reference-date", as_of],
                    ["-m", "bot.knowledge", "seed"]):
        subprocess.run([sys.executable, *command], cwd=ROOT, env=env, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/production.py", description=__doc__.split("\n")[0])
    parser.add_argument("--env-file", type=Path, default=DEFAULT_ENV_FILE)
    parser.add_argument("--no-seed", action="store_true", help="migrate only, no demo data")
    args = parser.parse_args(argv)
    dsn = os.environ.get("PRODUCTION_PG_DSN") or DEFAULT_PG_DSN
    if args.env_file.exists():
        print(f"==> Using the production settings in {args.env_file} (delete it for new keys)")
    else:
        write_env_file(args.env_file, production_env(dict(os.environ), dsn))
        print(f"==> Wrote new production settings and keys to {args.env_file} (mode 600)")
    values = read_env_file(args.env_file)
    created = create_databases(dsn, (values["DATABASE_URL"].rsplit("/", 1)[1],
                                     values["TRACKER_DB_NAME"]))
    print(f"==> PostgreSQL databases ready (created: {', '.join(created) or 'none'})")
    if args.no_seed:
        env = dict(os.environ, **values)
        subprocess.run([sys.executable, "-m", "bot.records.migrate"], cwd=ROOT, env=env, check=True)
    else:
        print("==> LOCAL TRIAL: loading synthetic demo data into this trial's records database")
        seed_demo_data(values["DATABASE_URL"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
