"""The gateway pod of deploy/k8s/gateway.yaml, run here as a real gunicorn from its manifest.

As for Rasa (test_rasa_pod.py), the container's command runs on this machine
as written, with the environment the pod would get: the ConfigMap, the
container's own values, the example Secrets' shapes with new random keys, and
this machine's services for the managed ones (a PostgreSQL database of its own,
migrated; the local Redis). Every Rasa replica of ``RASA_URLS`` is down. It
shows what the probes rely on: ``/livez`` and ``/readyz`` answer with Rasa down
(callers must still reach the apology), ``/readyz`` turns unready when the
database goes while ``/livez`` stays up (no restart loop), and gunicorn stops
on SIGTERM within the pod's grace period.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from sqlalchemy.engine import make_url

from tests.deploy import rules, wiring
from tests.deploy.rules import PROJECT_ROOT
from tests.conftest import DEFAULT_PG_DSN
from tests.deploy.test_rasa_pod import localise
from tests.e2e.stack import free_port

REDIS_DB = 14  # rate-limit keys of this test, apart from the other tests' Redis use


@pytest.fixture
def gateway(empty_db_url: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    from bot.records.migrate import upgrade

    if not (PROJECT_ROOT / "gunicorn.conf.py").exists():
        pytest.xfail("gunicorn.conf.py: built in parallel in issue 10, must exist at merge")
    upgrade(empty_db_url)
    docs = rules.load(rules.manifest_files())
    spec = rules.find(docs, "Deployment", "gateway")["spec"]["template"]["spec"]
    container = spec["containers"][0]
    environment = wiring.pod_settings_environment(docs, container)
    port, home = free_port(), tmp_path / "home"
    for folder in (home, tmp_path / "models", tmp_path / "prometheus"):
        folder.mkdir()
    down = ",".join(f"http://127.0.0.1:{free_port()}" for _ in environment["RASA_URLS"].split(","))
    environment.update(
        PATH=os.environ["PATH"], HOME=str(home), RASA_CACHE_DIRECTORY=str(home / "rasa-cache"),
        DATABASE_URL=empty_db_url, REDIS_URL=f"redis://127.0.0.1:6379/{REDIS_DB}",
        TRACKER_DB_URL=f"sqlite:///{tmp_path / 'tracker.db'}", RASA_URLS=down,
        RASA_URL=down.split(",")[0], GATEWAY_BIND=f"127.0.0.1:{port}",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"),
        RELEASE_MODELS_DIR=str(tmp_path / "models"), RASA_MODEL_DIR=str(tmp_path / "models"))
    argv = [localise(arg, tmp_path / "models") for arg in container["command"] + container["args"]]
    log = (tmp_path / "gateway.log").open("w")
    process = subprocess.Popen(argv, cwd=PROJECT_ROOT, env=environment, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield {"process": process, "url": f"http://127.0.0.1:{port}", "container": container,
               "log": tmp_path / "gateway.log", "database": make_url(empty_db_url).database,
               "grace": spec["terminationGracePeriodSeconds"]}
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        log.close()


def probe(gateway: dict[str, Any], name: str) -> int:
    """The status code of the container's probe ``name`` (readinessProbe, livenessProbe…)."""
    path = gateway["container"][name]["httpGet"]["path"]
    try:
        return requests.get(gateway["url"] + path, timeout=5).status_code
    except requests.RequestException:
        return 0


def wait_until(gateway: dict[str, Any], name: str, status: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert gateway["process"].poll() is None, gateway["log"].read_text()[-3000:]
        if probe(gateway, name) == status:
            return
        time.sleep(0.5)
    pytest.fail(f"{name} never answered {status}:\n" + gateway["log"].read_text()[-3000:])


def drop_database(name: str) -> None:
    with psycopg.connect(os.environ.get("TEST_POSTGRES_DSN", DEFAULT_PG_DSN),
                         autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("db_backend", ["postgresql"])
def test_the_gateway_pod_probes_follow_its_database_not_rasa(gateway, db_backend: str) -> None:
    wait_until(gateway, "startupProbe", 200)
    assert probe(gateway, "livenessProbe") == 200
    assert probe(gateway, "readinessProbe") == 200  # every Rasa replica is down
    drop_database(gateway["database"])  # the managed PostgreSQL is gone
    wait_until(gateway, "readinessProbe", 503)
    assert probe(gateway, "livenessProbe") == 200  # out of the Service, not restarted
    gateway["process"].send_signal(signal.SIGTERM)
    assert gateway["process"].wait(timeout=gateway["grace"]) is not None
