"""``python -m bot.sms`` as a real process against the fake Twilio: ``--once`` sends
what is due and exits; the loop sends what is queued while it runs and stops
cleanly on SIGTERM; without Twilio credentials it sends nothing and still
stops on SIGTERM."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.records.db import session_scope
from bot.records.voice_models import SmsMessage, SmsStatus
from tests.bot.sms.fake_twilio import FakeTwilio, fake_twilio
from tests.bot.sms.test_sender import ACCOUNT_SID, TOKEN, queue

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with fake_twilio(ACCOUNT_SID, TOKEN) as fake:
        yield fake


def _env(db_url: str, twilio: FakeTwilio | None) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT),
           "HOTLINE_ENV": "test", "DATABASE_URL": db_url, "SMS_POLL_SECONDS": "1"}
    if twilio is not None:
        env.update({"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": TOKEN,
                    "TWILIO_FROM_NUMBER": "+12025550123", "SMS_TWILIO_API_BASE": twilio.url})
    return env


def _statuses(db_url: str) -> list[SmsStatus]:
    with session_scope(db_url) as session:
        return [row.status for row in session.query(SmsMessage).order_by(SmsMessage.id)]


def _start(db_url: str, twilio: FakeTwilio | None, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "bot.sms", *args], cwd=ROOT,
                            env=_env(db_url, twilio), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def test_once_sends_what_is_due_and_exits(db_url: str, twilio: FakeTwilio) -> None:
    queue(db_url, 3)
    process = _start(db_url, twilio, "--once")
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert _statuses(db_url) == [SmsStatus.sent] * 3 and len(twilio.created) == 3
    assert "3 sent" in output and "138****" in output and "13800000001" not in output


def test_the_loop_sends_while_running_and_stops_on_sigterm(
        db_url: str, twilio: FakeTwilio) -> None:
    process = _start(db_url, twilio)
    try:
        time.sleep(1.5)
        queue(db_url, 2)
        deadline = time.monotonic() + 30
        while _statuses(db_url) != [SmsStatus.sent] * 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _statuses(db_url) == [SmsStatus.sent] * 2
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
    assert process.returncode == 0, output
    assert "SIGTERM" in output and "SMS sender stopped" in output


def test_without_twilio_it_keeps_the_outbox_and_stops_on_sigterm(db_url: str) -> None:
    queue(db_url)
    process = _start(db_url, None)
    try:
        time.sleep(2)
        assert process.poll() is None  # a Procfile line must not end: it waits
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
    assert process.returncode == 0 and "nothing is sent" in output
    assert _statuses(db_url) == [SmsStatus.pending]
