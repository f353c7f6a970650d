"""The voice blueprint's own checks: Twilio signatures (fail closed), the public
URL behind proxies, and request bodies too large to read."""
from __future__ import annotations

from dataclasses import replace

import pytest

from bot.gateway import create_app
from bot.settings import load_settings
from tests.bot.gateway.voice.conftest import CALLER, Twilio, call_sid, parse, spoken, start


# ------------------------------------------------------------------ signatures


@pytest.mark.parametrize(
    "case",
    ["missing", "forged", "other_url", "tampered_params", "other_token"],
)
def test_unsigned_or_forged_requests_are_refused(twilio: Twilio, case: str) -> None:
    params = {"CallSid": call_sid(), "From": CALLER}
    url = twilio.base + "/voice/incoming"
    signature = {
        "missing": "",
        "forged": "bm90IGEgc2lnbmF0dXJl",
        "other_url": twilio_sign(twilio.base + "/voice/turn", params, twilio),
        "tampered_params": twilio_sign(url, {**params, "From": "+8613900000000"}, twilio),
        "other_token": twilio_sign(url, params, twilio, token="someone-elses-token"),
    }[case]
    response = twilio.post("/voice/incoming", signature=signature, **params)
    assert response.status_code == 403


def twilio_sign(url, params, twilio, token=None):  # type: ignore[no-untyped-def]
    from bot.gateway.voice.security import sign

    return sign(url, params, token or twilio.settings.twilio_auth_token)


def test_production_without_a_real_auth_token_fails_closed(app, twilio: Twilio) -> None:  # type: ignore[no-untyped-def]
    settings = twilio.settings
    object.__setattr__(settings, "env", "production")
    try:
        response = twilio.post("/voice/incoming", CallSid=call_sid(), From=CALLER)
    finally:
        object.__setattr__(settings, "env", "test")
    assert response.status_code == 403


def test_production_refuses_to_start_without_twilio_auth_token() -> None:
    from bot.settings import SettingsError

    with pytest.raises(SettingsError, match="TWILIO_AUTH_TOKEN"):
        load_settings({"HOTLINE_ENV": "production", "DATABASE_URL": "postgresql://h/db",
                       "RASA_TOKEN": "t", "SECRET_KEY": "s", "GATEWAY_CHANNEL_SECRET": "g"})


def test_public_base_url_is_what_twilio_signed(twilio: Twilio) -> None:
    object.__setattr__(twilio.settings, "public_base_url", "https://hotline.example.cn/gw")
    try:
        public = Twilio(twilio.client, twilio.settings, base="https://hotline.example.cn/gw")
        assert public.post("/voice/incoming", CallSid=call_sid(), From=CALLER).status_code == 200
        # Signed for the internal address the proxy forwarded to: refused.
        assert twilio.post("/voice/incoming", CallSid=call_sid(2), From=CALLER).status_code == 403
    finally:
        object.__setattr__(twilio.settings, "public_base_url", "")


@pytest.mark.parametrize(("trusted", "status"), [(1, 200), (0, 403)])
def test_forwarded_headers_count_only_from_trusted_proxies(voice_settings, clock, trusted: int,  # type: ignore[no-untyped-def]
                                                           status: int) -> None:
    settings = replace(voice_settings, trusted_proxies=trusted)
    app = create_app({"HOTLINE_SETTINGS": settings, "TESTING": True, "VOICE_CLOCK": clock})
    public = Twilio(app.test_client(), settings, base="https://voice.example.cn")
    response = public.post(
        "/voice/incoming", CallSid=call_sid(), From=CALLER,
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "voice.example.cn"},
    )
    assert response.status_code == status


# ------------------------------------------------------------------ body size


def test_a_body_too_large_to_read_is_answered_with_a_reprompt(twilio: Twilio) -> None:
    start(twilio)
    response = twilio.post("/voice/turn?t=1", CallSid=call_sid(), SpeechResult="x" * 300_000)
    assert response.status_code == 200
    doc = parse(response.data)
    assert "您说的内容有点长" in spoken(doc)
    assert doc.xpath("string(/Response/Redirect)") == "turn?t=1"
