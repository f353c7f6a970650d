"""bot/metrics.py: labels from fixed lists, Rasa failure reasons, and multiprocess mode
(several processes' values added up; the gateway under a real gunicorn with two
workers, its access log in JSON without query strings)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from prometheus_client import REGISTRY

from bot import metrics
from bot.gateway.rasa import AssistantUnavailable
from tests.e2e.stack import free_port

ROOT = Path(__file__).resolve().parents[2]
PHONE = "13812345678"


def test_a_label_outside_its_list_becomes_other() -> None:
    before = REGISTRY.get_sample_value(
        "hotline_rate_limit_refusals_total", {"channel": "other", "limit": "other"}) or 0
    metrics.rate_limited(PHONE, "a:203.0.113.9")  # a wrong call site cannot leak a value
    after = REGISTRY.get_sample_value(
        "hotline_rate_limit_refusals_total", {"channel": "other", "limit": "other"})
    assert after == before + 1
    exposition = metrics.render()[0].decode()
    assert PHONE not in exposition and "203.0.113.9" not in exposition


def _failure(cause: BaseException | None, reason: str | None = None) -> AssistantUnavailable:
    try:
        try:
            if cause is not None:
                raise cause
            raise AssistantUnavailable("x", reason)
        except AssistantUnavailable:
            raise
        except BaseException as exc:
            raise AssistantUnavailable("x") from exc
    except AssistantUnavailable as error:
        return error


@pytest.mark.parametrize(("error", "reason"), [
    (_failure(requests.ReadTimeout()), "timeout"),
    (_failure(requests.ConnectTimeout()), "timeout"),
    (_failure(requests.ConnectionError()), "unreachable"),
    (_failure(ValueError("not json")), "bad_reply"),
    (_failure(None, "no_reply"), "no_reply"),
    (_failure(None, "no_time"), "no_time"),
    (_failure(None, "made_up"), "error"),
    (_failure(None), "error"),
])
def test_rasa_failure_reasons(error: AssistantUnavailable, reason: str) -> None:
    assert metrics.rasa_failure_reason(error) == reason


def _child(code: str, directory: Path) -> str:
    environ = dict(os.environ, PYTHONPATH=str(ROOT), PROMETHEUS_MULTIPROC_DIR=str(directory))
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environ,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_multiprocess_mode_adds_up_every_process(tmp_path: Path) -> None:
    turn = "from bot import metrics; metrics.turn_done('voice', 'answered', 0.05)"
    _child(turn, tmp_path)
    _child(turn + "; metrics.turn_done('voice', 'answered', 0.2)", tmp_path)
    exposition = _child("from bot import metrics; print(metrics.render()[0].decode())", tmp_path)
    assert 'hotline_turns_total{channel="voice",outcome="answered"} 3.0' in exposition
    assert 'hotline_turn_duration_seconds_count{channel="voice"} 3.0' in exposition
    assert "python_gc" not in exposition  # this process's own collectors are not the sum
    _child("from bot import metrics; metrics.on_starting(None)", tmp_path)  # a new start
    assert not list(tmp_path.glob("*.db"))


GUNICORN_CONFIG = """
from bot.logs import gunicorn_logconfig_dict
from bot.metrics import child_exit, on_starting
bind = "127.0.0.1:{port}"
workers = 2
worker_class = "gthread"
threads = 2
logconfig_dict = gunicorn_logconfig_dict("json", "INFO")
"""


def test_under_gunicorn_two_workers_count_together_and_log_json(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "gunicorn.conf.py").write_text(GUNICORN_CONFIG.format(port=port))
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_1.db").write_bytes(b"left over from an earlier run")
    environ = dict(os.environ, PYTHONPATH=str(ROOT), PROMETHEUS_MULTIPROC_DIR=str(directory),
                   HOTLINE_ENV="test", DATABASE_URL=f"sqlite:///{tmp_path / 'records.db'}")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", str(tmp_path / "gunicorn.conf.py"),
         "bot.gateway:create_app()"], cwd=ROOT, env=environ, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                requests.get(f"{url}/metrics", timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.3)
        # Unsigned webhooks: refused (403), each a voice turn counted as refused.
        sent = 12
        for _ in range(sent):
            answer = requests.post(f"{url}/voice/incoming?phone={PHONE}", timeout=10,
                                   data={"From": PHONE})
            assert answer.status_code == 403
        exposition = requests.get(f"{url}/metrics", timeout=10).text
        assert f'hotline_turns_total{{channel="voice",outcome="refused"}} {sent}.0' in exposition
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        stdout, stderr = server.communicate(timeout=60)
    access = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    webhooks = [entry for entry in access if entry["path"] == "/voice/incoming"]
    assert len(webhooks) == sent and all(entry["status"] == 403 for entry in webhooks)
    assert all(entry["request_id"] for entry in webhooks)
    errors = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert any(entry["logger"] == "gunicorn.error" for entry in errors)
    assert any("Twilio signature" in entry["message"] for entry in errors)  # the app's own lines
    assert PHONE not in stdout + stderr


def test_an_empty_multiprocess_variable_means_one_process(tmp_path: Path) -> None:
    environ = dict(os.environ, PYTHONPATH=str(ROOT), PROMETHEUS_MULTIPROC_DIR="")
    code = ("from bot import metrics; metrics.turn_done('voice', 'answered', 0.05); "
            "print(metrics.render()[0].decode())")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=environ,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert 'hotline_turns_total{channel="voice",outcome="answered"} 1.0' in done.stdout
    assert not list(tmp_path.glob("*.db"))  # no value files in the working directory
