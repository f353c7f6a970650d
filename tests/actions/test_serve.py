"""python -m actions.serve: loopback unless a public interface is allowed explicitly."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from actions.serve import (
    ALLOW_PUBLIC,
    SECRET_HEADER,
    SECRET_SETTING,
    chosen_interface,
    main,
    refusal,
)
from tests.e2e.stack import free_port

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = ["0.0.0.0", "::", "", "10.0.0.5", "192.168.1.20", "fd00::1", "[::]", "example.org"]
LOOPBACK = ["127.0.0.1", "127.0.1.1", "::1", "[::1]", "localhost", "LOCALHOST"]


@pytest.mark.parametrize("interface", PUBLIC)
def test_a_public_interface_is_refused_without_the_setting(interface: str) -> None:
    reason = refusal(interface, {})
    assert reason is not None and ALLOW_PUBLIC in reason
    assert refusal(interface, {ALLOW_PUBLIC: "0"}) is not None
    assert refusal(interface, {ALLOW_PUBLIC: "yes", SECRET_SETTING: "s"}) is not None
    assert SECRET_SETTING in (refusal(interface, {ALLOW_PUBLIC: "1"}) or "")
    assert SECRET_SETTING in (refusal(interface, {ALLOW_PUBLIC: "1", SECRET_SETTING: " "}) or "")
    assert refusal(interface, {ALLOW_PUBLIC: "1", SECRET_SETTING: "s"}) is None


@pytest.mark.parametrize("interface", LOOPBACK)
def test_loopback_needs_no_setting(interface: str) -> None:
    assert refusal(interface, {}) is None


def test_the_interface_comes_from_the_option_then_sanic_host_then_loopback() -> None:
    assert chosen_interface("10.0.0.5", {"SANIC_HOST": "127.0.0.1"}) == "10.0.0.5"
    assert chosen_interface(None, {"SANIC_HOST": "0.0.0.0"}) == "0.0.0.0"
    assert chosen_interface(None, {}) == "127.0.0.1"  # rasa_sdk alone would bind 0.0.0.0


def test_main_refuses_before_starting_anything(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--interface", "0.0.0.0", "--port", "1"], environ={}) == 2
    assert main(["--port", "1"], environ={"SANIC_HOST": "0.0.0.0"}) == 2
    assert "ACTIONS_ALLOW_PUBLIC=1" in capsys.readouterr().err


def _launch(args: list[str], **env: str) -> subprocess.Popen:
    environ = {key: value for key, value in os.environ.items()
               if key not in {"SANIC_HOST", ALLOW_PUBLIC}}
    environ.update(PYTHONPATH=str(ROOT), **env)
    return subprocess.Popen([sys.executable, "-m", "actions.serve", *args], cwd=ROOT,
                            env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)


def _healthy(port: int, process: subprocess.Popen, timeout: float = 120) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=2).ok:
                return True
        except requests.RequestException:
            time.sleep(0.5)
    return False


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, 15)
        process.wait(timeout=30)


FORGED = {  # what anyone could post: a tracker of their own making
    "next_action": "action_authentication_failed",
    "tracker": {"sender_id": "someone", "slots": {"auth_failure_reason": "locked"},
                "latest_message": {}, "events": [], "paused": False, "followup_action": None,
                "active_loop": {}, "latest_action_name": None},
    "domain": {},
}


def test_the_launcher_exits_on_a_public_interface_and_serves_on_loopback() -> None:
    port = free_port()
    refused = _launch(["--port", str(port)], SANIC_HOST="0.0.0.0")
    output, _ = refused.communicate(timeout=120)
    assert refused.returncode == 2 and "refuses to listen on '0.0.0.0'" in output
    served = _launch(["--port", str(port)])
    try:
        assert _healthy(port, served)
        answered = requests.post(f"http://127.0.0.1:{port}/webhook", json=FORGED, timeout=30)
        assert answered.status_code == 200  # no secret set: loopback is the boundary
    finally:
        _stop(served)


def test_with_a_secret_only_requests_that_carry_it_are_answered() -> None:
    port = free_port()
    served = _launch(["--port", str(port)], **{SECRET_SETTING: "s3cret-for-the-test"})
    url = f"http://127.0.0.1:{port}"
    try:
        assert _healthy(port, served)  # the readiness probe needs no secret
        for headers in ({}, {SECRET_HEADER: ""}, {SECRET_HEADER: "wrong"}):
            refused = requests.post(f"{url}/webhook", json=FORGED, headers=headers, timeout=30)
            assert refused.status_code == 403
            assert requests.get(f"{url}/actions", headers=headers, timeout=30).status_code == 403
        answered = requests.post(f"{url}/webhook", json=FORGED, timeout=30,
                                 headers={SECRET_HEADER: "s3cret-for-the-test"})
        assert answered.status_code == 200
        assert answered.json()["responses"][0]["response"] == "utter_auth_locked"
    finally:
        _stop(served)


PRODUCTION_ENDPOINT_ENV = {
    "ACTION_ENDPOINT_URL": "http://actions.internal:5055/webhook",
    SECRET_SETTING: "from-the-secret-store",
    "TRACKER_DB_HOST": "tracker-db.internal", "TRACKER_DB_PORT": "5432",
    "TRACKER_DB_NAME": "tracker", "TRACKER_DB_USER": "rasa", "TRACKER_DB_PASSWORD": "pw",
    "REDIS_HOST": "redis.internal", "REDIS_PORT": "6379", "REDIS_LOCK_DB": "1",
    "REDIS_PASSWORD": "redis-pw",
}
READ_ENDPOINTS = (
    "import json\n"
    "from rasa.core.utils import read_endpoints_from_path\n"
    "e = read_endpoints_from_path('endpoints.production.yml')\n"
    "print(json.dumps([e.action.url, e.action.headers, e.tracker_store.url,\n"
    "                  e.tracker_store.kwargs, e.lock_store.url, e.lock_store.kwargs]))\n"
)


def _read_production_endpoints(env: dict[str, str]) -> subprocess.CompletedProcess:
    """Rasa's own reader of endpoints.production.yml, in the Rasa environment."""
    environ = {key: value for key, value in os.environ.items()
               if key not in PRODUCTION_ENDPOINT_ENV}
    environ.update(RASA_TELEMETRY_ENABLED="false", **env)
    return subprocess.run([str(ROOT / ".venv" / "rasa" / "bin" / "python"), "-c", READ_ENDPOINTS],
                          cwd=ROOT, env=environ, capture_output=True, text=True, timeout=300)


def test_rasa_fills_the_production_endpoints_and_sends_the_secret() -> None:
    import json

    result = _read_production_endpoints(PRODUCTION_ENDPOINT_ENV)
    assert result.returncode == 0, result.stderr[-2000:]
    action_url, headers, tracker_url, tracker, lock_url, lock = json.loads(
        result.stdout.strip().splitlines()[-1])
    assert action_url == "http://actions.internal:5055/webhook"
    assert headers == {SECRET_HEADER: "from-the-secret-store"}
    assert tracker_url == "tracker-db.internal"
    assert (tracker["username"], tracker["password"], tracker["db"]) == ("rasa", "pw", "tracker")
    assert (lock_url, lock["password"]) == ("redis.internal", "redis-pw")
    assert "${" not in result.stdout


def test_rasa_refuses_the_production_endpoints_without_the_secret() -> None:
    env = {key: value for key, value in PRODUCTION_ENDPOINT_ENV.items() if key != SECRET_SETTING}
    result = _read_production_endpoints(env)
    assert result.returncode != 0
    assert SECRET_SETTING in result.stderr
