"""Which Twilio errors are retried, which are final, which leave the fate unknown;
the back-off; what the outbox keeps of an error."""
from __future__ import annotations

import random

import pytest
from requests import exceptions as http_errors
from twilio.base.exceptions import TwilioRestException
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from bot.sms.policy import classify, describe, next_delay

URI = "/2010-04-01/Accounts/AC1/Messages.json"


def twilio_error(status: int, code: int | None = None) -> TwilioRestException:
    return TwilioRestException(status, URI, msg="The 'To' number +8613812345678 is invalid",
                               code=code)


def never_connected() -> http_errors.ConnectionError:
    reason = NewConnectionError(None, "Connection refused")  # type: ignore[arg-type]
    return http_errors.ConnectionError(MaxRetryError(None, URI, reason))  # type: ignore[arg-type]


@pytest.mark.parametrize(("exc", "verdict"), [
    (twilio_error(429, 20429), "retry"),
    (twilio_error(500), "retry"),
    (twilio_error(503), "retry"),
    (twilio_error(401, 20003), "retry"),  # our credentials: fixed by a person, then sent
    (twilio_error(400, 21211), "permanent"),  # invalid To
    (twilio_error(400, 21610), "permanent"),  # the recipient unsubscribed (STOP)
    (twilio_error(400, 21614), "permanent"),  # not a mobile number
    (twilio_error(403, 21408), "permanent"),  # region not enabled
    (http_errors.ConnectTimeout(), "retry"),
    (never_connected(), "retry"),
    (http_errors.SSLError(), "retry"),
    (http_errors.ReadTimeout(), "unknown"),
    (http_errors.ConnectionError(ProtocolError("Connection aborted")), "unknown"),
    (RuntimeError("?"), "unknown"),
])
def test_classify(exc: BaseException, verdict: str) -> None:
    assert classify(exc) == verdict


def test_describe_keeps_no_personal_data() -> None:
    assert describe(twilio_error(400, 21211)) == "Twilio 21211 (HTTP 400)"
    assert describe(twilio_error(503)) == "Twilio (HTTP 503)"
    assert describe(http_errors.ReadTimeout("read timed out for +8613812345678")) == "ReadTimeout"


def test_the_back_off_doubles_with_jitter_up_to_the_cap() -> None:
    rng = random.Random(7)
    for attempt, ceiling in [(1, 30), (2, 60), (3, 120), (4, 240), (8, 3600), (30, 3600)]:
        delays = [next_delay(attempt, base=30, cap=3600, rng=rng) for _ in range(200)]
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays), attempt
        assert max(delays) - min(delays) > ceiling / 4  # jittered, not all the same
