"""scripts/production.py: the settings of `make run-production` pass every production
check (gateway and Rasa), stay private, survive honcho, and the databases are made once."""
from __future__ import annotations

import importlib.util
import os
import re
import stat
import uuid

import psycopg
import pytest
from honcho.environ import parse

from bot.channels.preflight import unsafe_start_problems
from bot.settings import load_settings
from tests.e2e.stack import ROOT

spec = importlib.util.spec_from_file_location("production", ROOT / "scripts" / "production.py")
production = importlib.util.module_from_spec(spec)
spec.loader.exec_module(production)  # type: ignore[union-attr]

DSN = os.environ.get("TEST_POSTGRES_DSN", production.DEFAULT_PG_DSN)


def test_the_trial_settings_pass_the_gateways_production_checks() -> None:
    values = production.production_env({}, DSN)
    settings = load_settings(values)
    assert settings.is_production
    assert settings.replica_urls == ("http://127.0.0.1:5005", "http://127.0.0.1:5006")
    assert settings.gateway_workers == 2 and settings.redis_url
    assert settings.database_url.endswith("/hotline_records")
    assert settings.tracker_db_url.endswith("/hotline_tracker")
    other = production.production_env({}, DSN)
    assert all(values[key] != other[key] for key in
               ("SECRET_KEY", "RASA_TOKEN", "GATEWAY_CHANNEL_SECRET", "ACTION_SERVER_SECRET"))


def test_the_trial_settings_pass_production_rasas_refusals() -> None:
    values = production.production_env({}, DSN)
    argv = ["run", "--enable-api", f"--auth-token={values['RASA_TOKEN']}",
            "--credentials", str(ROOT / values["RASA_CREDENTIALS"])]
    assert unsafe_start_problems(values, argv) == []


def test_the_env_file_is_private_and_reads_back_through_honcho(tmp_path) -> None:  # type: ignore[no-untyped-def]
    values = production.production_env({"GATEWAY_PORT": "18000", "RASA1_PORT": "15005"}, DSN)
    path = tmp_path / "var" / "production.env"
    production.write_env_file(path, values)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert parse(path.read_text(encoding="utf-8")) == values  # empty values too (Rasa needs them)
    assert production.read_env_file(path) == values
    assert values["GATEWAY_BIND"] == "127.0.0.1:18000"
    with pytest.raises(FileExistsError):  # written once: keys never change under a running trial
        production.write_env_file(path, values)


def test_databases_are_created_only_when_missing() -> None:
    name = f"production_test_{uuid.uuid4().hex[:12]}"
    try:
        assert production.create_databases(DSN, (name,)) == [name]
        assert production.create_databases(DSN, (name,)) == []
    finally:
        with psycopg.connect(DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


def test_every_rasa_command_passes_the_token_as_one_argument() -> None:
    """``--auth-token TOKEN`` breaks when the token starts with "-" (token_urlsafe makes
    such tokens: argparse takes it for an option and Rasa does not start)."""
    texts = {name: (ROOT / name).read_text(encoding="utf-8")
             for name in ("Procfile", "Procfile.production", "deploy/k8s/rasa.yaml")}
    for name, text in texts.items():
        assert "--auth-token=" in text, name
        assert not re.search(r"--auth-token(\s|\"?\s*$)", text, re.M), name
