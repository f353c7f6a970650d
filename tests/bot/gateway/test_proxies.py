"""Behind reverse proxies: ProxyFix from the one TRUSTED_PROXIES setting (create_app).

With N trusted proxies the client address, scheme and host come from what the
N-th proxy from the gateway put in X-Forwarded-For/-Proto/-Host, and the URL a
Twilio signature is checked against follows them; with 0 those headers are a
client's words and ignored. The parts' own uses (chat rate limits, desk log-in
throttle, voice webhooks) are tested with each part.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask, jsonify, request

from bot.gateway import create_app
from bot.gateway.voice.security import SIGNATURE_HEADER, public_url, sign, signature_ok
from bot.settings import Settings

PUBLIC = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "hotline.example.cn"}


def make_app(tmp_path: Path, hops: int) -> Flask:
    settings = Settings(env="test", database_url=f"sqlite:///{tmp_path / 'records.db'}",
                        trusted_proxies=hops)
    app = create_app({"HOTLINE_SETTINGS": settings, "TESTING": True})

    def probe():  # type: ignore[no-untyped-def]
        return jsonify(address=request.remote_addr, url=public_url(request, settings),
                       signed=signature_ok(request, settings))

    app.add_url_rule("/probe", "probe", probe, methods=["POST"])
    return app


def post(app: Flask, forwarded_for: str | None, signed_url: str, **headers: str):  # type: ignore[no-untyped-def]
    token = app.config["HOTLINE_SETTINGS"].twilio_auth_token
    params = {"CallSid": "CA" + "0" * 32}
    sent = {SIGNATURE_HEADER: sign(signed_url, params, token), **headers}
    if forwarded_for is not None:
        sent["X-Forwarded-For"] = forwarded_for
    response = app.test_client().post("/probe?t=1", data=params, headers=sent,
                                      environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert response.status_code == 200
    return response.get_json()


@pytest.mark.parametrize(
    ("hops", "forwarded_for", "address"),
    [
        (0, "203.0.113.7", "10.0.0.2"),
        (1, "203.0.113.7", "203.0.113.7"),
        (1, "6.6.6.6, 203.0.113.7", "203.0.113.7"),  # what the client wrote itself is ignored
        (2, "198.51.100.1, 203.0.113.7", "198.51.100.1"),
        (2, "203.0.113.7", "10.0.0.2"),  # fewer hops than trusted: not believed
        (1, None, "10.0.0.2"),
    ],
)
def test_client_address(tmp_path: Path, hops: int, forwarded_for: str | None, address: str) -> None:
    app = make_app(tmp_path, hops)
    assert post(app, forwarded_for, "http://localhost/probe?t=1")["address"] == address


def test_trusted_proxy_headers_make_the_signature_url(tmp_path: Path) -> None:
    app = make_app(tmp_path, 1)
    seen = post(app, "203.0.113.7", "https://hotline.example.cn/probe?t=1", **PUBLIC)
    assert seen == {"address": "203.0.113.7", "url": "https://hotline.example.cn/probe?t=1",
                    "signed": True}
    # Signed for the gateway's own address, but the request came through the proxy.
    assert post(app, "203.0.113.7", "http://localhost/probe?t=1", **PUBLIC)["signed"] is False


def test_without_trusted_proxies_forwarded_headers_are_ignored(tmp_path: Path) -> None:
    app = make_app(tmp_path, 0)
    seen = post(app, "203.0.113.7", "https://hotline.example.cn/probe?t=1", **PUBLIC)
    assert seen == {"address": "10.0.0.2", "url": "http://localhost/probe?t=1", "signed": False}
    assert post(app, None, "http://localhost/probe?t=1", **PUBLIC)["signed"] is True


def test_public_base_url_wins_over_any_header(tmp_path: Path) -> None:
    app = make_app(tmp_path, 1)
    settings = replace(app.config["HOTLINE_SETTINGS"], public_base_url="https://gw.example.cn/hotline")
    with app.test_request_context("/probe?t=1", method="POST", headers=PUBLIC):
        assert public_url(request, settings) == "https://gw.example.cn/hotline/probe?t=1"
