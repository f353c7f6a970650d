"""gunicorn.conf.py: threaded workers sized from the settings, no preload, graceful stop."""
from __future__ import annotations

import runpy

import pytest

from tests.e2e.stack import ROOT

CONF = ROOT / "gunicorn.conf.py"


def test_the_gateway_runs_threaded_workers_from_the_settings(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"HOTLINE_ENV": "test", "GATEWAY_BIND": "127.0.0.1:8123",
                        "GATEWAY_WORKERS": "3", "GATEWAY_THREADS": "6",
                        "REDIS_URL": "redis://127.0.0.1:6379/6"}.items():
        monkeypatch.setenv(name, value)
    conf = runpy.run_path(str(CONF))
    assert conf["wsgi_app"] == "bot.gateway:create_app()"
    assert (conf["bind"], conf["worker_class"], conf["workers"], conf["threads"]) == (
        "127.0.0.1:8123", "gthread", 3, 6)
    # create_app opens engines and Redis clients: they must not be shared across a fork
    assert conf["preload_app"] is False
    # a stopping worker finishes its turns within Twilio's 15 s
    assert conf["graceful_timeout"] <= 15 and conf["timeout"] >= conf["graceful_timeout"]
    assert conf["control_socket_disable"] is True


def test_a_production_gateway_without_its_secrets_stops_before_forking(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_ENV", "production")
    for name in ("SECRET_KEY", "RASA_TOKEN", "REDIS_URL", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(Exception, match="production needs"):
        runpy.run_path(str(CONF))
