"""scripts/respawn.sh: a killed process is started again; a refusal to start is not;
TERM stops the command and the loop."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from tests.e2e.stack import ROOT

RESPAWN = ROOT / "scripts" / "respawn.sh"


def children(pid: int) -> list[int]:
    return [int(child) for child in
            Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def command_of(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().split("\0")[:-1]
    except FileNotFoundError:
        return []


def wait_for_child(pid: int, not_this: int | None = None, timeout: float = 10) -> int:
    """The loop's child running the command (not the pause between two runs)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [child for child in children(pid)
                 if child != not_this and command_of(child) == ["sleep", "300"]]
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError("no child process")


def test_a_killed_process_is_started_again_and_term_stops_both() -> None:
    loop = subprocess.Popen(["bash", str(RESPAWN), "sleep", "300"],
                            env=dict(os.environ, RESPAWN_STARTUP_SECONDS="0"),
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        first = wait_for_child(loop.pid)
        os.kill(first, signal.SIGKILL)
        second = wait_for_child(loop.pid, not_this=first)
        assert second != first
        loop.send_signal(signal.SIGTERM)
        assert loop.wait(timeout=10) == 0
        time.sleep(0.2)
        assert command_of(second) == []  # stopped with the loop, not left behind
        assert b"starting it again" in loop.stderr.read()  # type: ignore[union-attr]
    finally:
        if loop.poll() is None:
            os.killpg(loop.pid, signal.SIGKILL)
            loop.wait()


def test_a_process_killed_during_start_up_is_started_again() -> None:
    """SIGKILL soon after the start (a replica killed while loading its model) is no
    refusal: the loop must not give up, or honcho stops the whole topology."""
    loop = subprocess.Popen(["bash", str(RESPAWN), "sleep", "300"],
                            env=dict(os.environ, RESPAWN_STARTUP_SECONDS="60"),
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        first = wait_for_child(loop.pid)
        os.kill(first, signal.SIGKILL)
        second = wait_for_child(loop.pid, not_this=first)
        assert second != first and loop.poll() is None
    finally:
        os.killpg(loop.pid, signal.SIGKILL)
        loop.wait()


def test_a_refusal_to_start_is_not_retried() -> None:
    started = time.monotonic()
    done = subprocess.run(["bash", str(RESPAWN), "bash", "-c", "exit 3"],
                          capture_output=True, timeout=10)
    assert done.returncode == 3 and time.monotonic() - started < 5
    assert b"not starting it again" in done.stderr
