"""Liveness, readiness and the full health report (bot.gateway.health).

Rasa down must never make the gateway unready (callers keep hearing the
apology); the records database down must, and liveness checks nothing at all.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from bot.gateway import create_app
from bot.settings import Settings
from tests.bot.gateway.conftest import FakeRasa
from tests.e2e.stack import free_port


def gateway(database_url: str, *rasa_urls: str) -> FlaskClient:
    settings = Settings(env="test", database_url=database_url, rasa_url=rasa_urls[0],
                        rasa_urls=tuple(rasa_urls))
    return create_app({"HOTLINE_SETTINGS": settings, "TESTING": True}).test_client()


def nobody() -> str:
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'records.db'}"


def unreachable_database() -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/hotline?connect_timeout=1"


def test_rasa_down_keeps_the_gateway_live_and_ready(sqlite_url: str) -> None:
    client = gateway(sqlite_url, nobody(), nobody())
    assert client.get("/livez").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json == {"status": "ok", "parts": {"database": True}}
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.json["parts"] == {"gateway": True, "database": True, "rasa1": False,
                                    "rasa2": False}


def test_database_down_makes_the_gateway_unready_but_still_live(fake_rasa: FakeRasa) -> None:
    client = gateway(unreachable_database(), fake_rasa.url)
    assert client.get("/livez").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json["parts"] == {"database": False}
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.json["parts"] == {"gateway": True, "database": False, "rasa": True}


def test_everything_up_is_healthy(sqlite_url: str, fake_rasa: FakeRasa) -> None:
    client = gateway(sqlite_url, fake_rasa.url)
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json["status"] == "ok"
    assert [r.path for r in fake_rasa.received] == ["/status"]


def test_every_replica_is_reported(sqlite_url: str, fake_rasa: FakeRasa) -> None:
    client = gateway(sqlite_url, fake_rasa.url, nobody())
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.json["parts"] == {"gateway": True, "database": True, "rasa1": True,
                                    "rasa2": False}
