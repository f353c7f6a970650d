"""The action server's metrics (actions/metrics.py) on a real ``python -m actions.serve``:
per-action latency after real action runs, errors by reason, who may read
``/metrics``, and two Sanic workers counted together (multiprocess mode)."""
from __future__ import annotations

from pathlib import Path

import pytest
import requests

from actions.metrics import action_name, scrape_refusal
from tests.actions.test_serve import FORGED, _healthy, _launch, _stop
from tests.e2e.stack import free_port

SECRET = "s3cret-for-the-metrics-test"
TOKEN = "metrics-token-for-the-test"


def _sample(exposition: str, line_start: str) -> float:
    for line in exposition.splitlines():
        if line.startswith(line_start + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_two_workers_count_every_action_run_and_metrics_need_the_secret(tmp_path: Path) -> None:
    port = free_port()
    directory = tmp_path / "metrics"
    directory.mkdir()
    served = _launch(["--port", str(port)], ACTION_SERVER_SECRET=SECRET,
                     ACTION_SERVER_SANIC_WORKERS="2", PROMETHEUS_MULTIPROC_DIR=str(directory))
    url = f"http://127.0.0.1:{port}"
    allowed = {"X-Action-Secret": SECRET}
    try:
        assert _healthy(port, served)
        runs = 6
        for _ in range(runs):
            answer = requests.post(f"{url}/webhook", json=FORGED, headers=allowed, timeout=30)
            assert answer.status_code == 200
        assert requests.post(f"{url}/webhook", json=FORGED, timeout=30).status_code == 403
        unknown = dict(FORGED, next_action="action_that_does_not_exist")
        assert requests.post(f"{url}/webhook", json=unknown, headers=allowed,
                             timeout=30).status_code == 404
        broken = {"next_action": "action_authentication_failed"}  # no tracker: it raises
        assert requests.post(f"{url}/webhook", json=broken, headers=allowed,
                             timeout=30).status_code == 500

        for headers in ({}, {"X-Action-Secret": "wrong"}):
            refused = requests.get(f"{url}/metrics", headers=headers, timeout=30)
            assert refused.status_code == 401 and "hotline_" not in refused.text
        exposition = requests.get(f"{url}/metrics", headers=allowed, timeout=30).text
    finally:
        _stop(served)
    failed = 'hotline_action_duration_seconds_count{action="action_authentication_failed"}'
    assert _sample(exposition, failed) == runs + 1  # the refused one ran no action
    assert _sample(exposition, 'hotline_action_errors_total{action="unknown",reason="not_found"}') == 1
    assert _sample(exposition, 'hotline_action_errors_total{action="action_authentication_failed",'
                               'reason="error"}') == 1
    assert "action_that_does_not_exist" not in exposition


@pytest.mark.parametrize(("environ", "headers", "refused"), [
    ({}, {}, False),
    ({"ACTION_SERVER_SECRET": SECRET}, {}, True),
    ({"ACTION_SERVER_SECRET": SECRET}, {"X-Action-Secret": SECRET}, False),
    ({"METRICS_TOKEN": TOKEN, "ACTION_SERVER_SECRET": SECRET}, {"X-Action-Secret": SECRET}, True),
    ({"METRICS_TOKEN": TOKEN}, {"Authorization": TOKEN}, True),
    ({"METRICS_TOKEN": TOKEN}, {"Authorization": f"Bearer {TOKEN}"}, False),
])
def test_who_may_read_the_action_servers_metrics(environ: dict, headers: dict, refused: bool) -> None:
    assert (scrape_refusal(headers, environ) is not None) is refused


class _Request:
    def __init__(self, body: bytes, headers: dict | None = None) -> None:
        self.body, self.headers = body, headers or {}


@pytest.mark.parametrize(("body", "name"), [
    (b'{"next_action": "action_query_balance"}', "action_query_balance"),
    (b'{"next_action": "13812345678"}', "unknown"),
    (b'{"next_action": "Action With Spaces"}', "unknown"),
    (b"not json", "unknown"),
    (b"[]", "unknown"),
])
def test_the_action_label_is_a_registered_looking_name_or_unknown(body: bytes, name: str) -> None:
    assert action_name(_Request(body)) == name


def test_a_compressed_action_call_is_named_too() -> None:
    import zlib

    body = zlib.compress(b'{"next_action": "action_answer_faq"}')
    assert action_name(_Request(body, {"Content-Encoding": "deflate"})) == "action_answer_faq"


def test_the_action_servers_log_is_json_and_masked(tmp_path: Path) -> None:
    import json

    port = free_port()
    served = _launch(["--port", str(port)], LOG_FORMAT="json")
    try:
        assert _healthy(port, served)
        # rasa_sdk logs the name of an unknown action, then the error of a run that raised.
        unknown = dict(FORGED, next_action="action_13812345678_510104198503150017")
        requests.post(f"http://127.0.0.1:{port}/webhook", json=unknown, timeout=30)
        broken = {"next_action": "action_authentication_failed"}
        requests.post(f"http://127.0.0.1:{port}/webhook", json=broken, timeout=30)
    finally:
        _stop(served)
    output = served.stdout.read() if served.stdout else ""
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert any("No registered action" in entry["message"] for entry in lines)
    assert any(entry["level"] == "ERROR" and "exception" in entry for entry in lines)
    assert "13812345678" not in output and "510104198503150017" not in output
