"""python -m actions.serve: loopback unless a public interface is allowed explicitly."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from actions.serve import ALLOW_PUBLIC, chosen_interface, main, refusal
from tests.e2e.stack import free_port

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = ["0.0.0.0", "::", "", "10.0.0.5", "192.168.1.20", "fd00::1", "[::]", "example.org"]
LOOPBACK = ["127.0.0.1", "127.0.1.1", "::1", "[::1]", "localhost", "LOCALHOST"]


@pytest.mark.parametrize("interface", PUBLIC)
def test_a_public_interface_is_refused_without_the_setting(interface: str) -> None:
    reason = refusal(interface, {})
    assert reason is not None and ALLOW_PUBLIC in reason
    assert refusal(interface, {ALLOW_PUBLIC: "0"}) is not None
    assert refusal(interface, {ALLOW_PUBLIC: "yes"}) is not None
    assert refusal(interface, {ALLOW_PUBLIC: "1"}) is None


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


def test_the_launcher_exits_on_a_public_interface_and_serves_on_loopback() -> None:
    port = free_port()
    refused = _launch(["--port", str(port)], SANIC_HOST="0.0.0.0")
    output, _ = refused.communicate(timeout=120)
    assert refused.returncode == 2 and "refuses to listen on '0.0.0.0'" in output
    served = _launch(["--port", str(port)])
    try:
        assert _healthy(port, served)
    finally:
        _stop(served)
