"""The chat API against the real assistant (``stack``): every limit and bad input of the issue.

Bad input: empty, over-long, wrong content type, broken JSON, missing or forged
session, another session's conversation id, unknown choices, secrets typed into
the chat, floods past each rate limit, disallowed origins. Plus the secure step,
hand-over by agent hours, callback, rating, history and Rasa being unreachable.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
import requests
from sqlalchemy import select

from bot.gateway.chat.ratelimit import RedisRateLimiter
from bot.gateway.chat.state import COOKIE_NAME
from bot.records.base import Channel
from bot.records.db import session_scope
from bot.records.seed import DEMO_IDENTITIES
from bot.records.service_models import CallbackRequest, Handover
from tests.e2e.stack import RASA_TOKEN, free_port
from tests.bot.gateway.chat.conftest import AFTER_HOURS, IN_HOURS, frozen_time, start_session

IDENTITY = {identity.key: identity for identity in DEMO_IDENTITIES}
# The browser tests verify "normal_loan"; failures here use another identity.
VERIFY_OK = IDENTITY["pending_withdrawal"]
VERIFY_WRONG = IDENTITY["sealed"]


def post(client, path, body=None, **kwargs):
    return client.post(f"/chat/api/{path}", json=body, **kwargs)


def error_of(response):
    data = response.get_json()
    assert "error" in data, data
    return data["error"]


def tracker(stack, conversation_id):
    response = requests.get(
        f"{stack.rasa_url}/conversations/{conversation_id}/tracker",
        params={"token": RASA_TOKEN},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()


def ask_for_verification(client, cid):
    response = post(
        client, "message", {"conversation_id": cid, "choice": {"menu": "main", "key": "1"}}
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["secure_step"] is True
    return response.get_json()


# ------------------------------------------------------------------ sessions


def test_new_session_sets_a_private_signed_cookie(client):
    response = post(client, "session", {})
    assert response.status_code == 200
    data = response.get_json()
    assert len(data["conversation_id"]) == 32
    assert data["resumed"] is False and data["history"] == []
    assert [item["label"] for item in data["main_menu"]["items"]][0] == "账户余额查询"
    assert "96319" in data["welcome"]
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/chat/api" in cookie
    assert (
        data["conversation_id"] not in cookie.split(";")[0]
    )  # signed, base64, not the raw id only
    assert response.headers["Cache-Control"] == "no-store"


def test_sessions_are_random_and_resume_in_the_same_browser(app):
    first, second = app.test_client(), app.test_client()
    cid_one, cid_two = start_session(first), start_session(second)
    assert cid_one != cid_two
    again = post(first, "session", {}).get_json()
    assert again["conversation_id"] == cid_one and again["resumed"] is True
    restarted = post(first, "session", {"restart": True}).get_json()
    assert restarted["conversation_id"] not in (cid_one, cid_two)


def test_a_real_turn(client):
    cid = start_session(client)
    response = post(client, "message", {"conversation_id": cid, "text": "你好"})
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert "96319" in data["messages"][0]["text"]
    assert data["secure_step"] is False and data["handover"] is None


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("text", "status", "code"),
    [
        ("", 422, "empty"),
        ("   \n\t ", 422, "empty"),
        ("\u200b\u202e", 422, "empty"),
        ("很" * 201, 422, "too_long"),
        ("我想查询" * 60, 422, "too_long"),
        (12345, 400, "bad_request"),
        (None, 400, "bad_request"),
        (["你好"], 400, "bad_request"),
    ],
    ids=[
        "empty",
        "whitespace",
        "invisible-only",
        "201-chars",
        "240-chars",
        "number",
        "null",
        "list",
    ],
)
def test_bad_messages_get_a_clear_chinese_error(client, text, status, code):
    cid = start_session(client)
    response = post(client, "message", {"conversation_id": cid, "text": text})
    assert response.status_code == status
    error = error_of(response)
    assert error["code"] == code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"])
    if code == "too_long":
        assert "200" in error["message"]


def test_message_at_the_limit_passes(client):
    cid = start_session(client)
    response = post(
        client,
        "message",
        {"conversation_id": cid, "text": "请问公积金提取需要什么材料" + "啊" * 187},
    )
    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"data": "text=你好", "content_type": "application/x-www-form-urlencoded"}, 415),
        ({"data": '{"text": "你好"}', "content_type": "text/plain"}, 415),
        ({"data": "<xml/>", "content_type": "application/xml"}, 415),
        ({"data": "{not json", "content_type": "application/json"}, 400),
        ({"data": '["list"]', "content_type": "application/json"}, 400),
        ({"data": "", "content_type": "application/json"}, 400),
    ],
    ids=["form", "text-plain", "xml", "broken-json", "json-list", "empty-body"],
)
def test_wrong_content_type_or_body(client, kwargs, status):
    start_session(client)
    response = client.post("/chat/api/message", **kwargs)
    assert response.status_code == status
    assert error_of(response)["code"] == "bad_request"


def test_oversized_body_is_refused(client):
    cid = start_session(client)
    response = post(client, "message", {"conversation_id": cid, "text": "字" * 70_000})
    assert response.status_code == 413
    assert error_of(response)["code"] == "too_long"


@pytest.mark.parametrize("path", ["message", "verify", "end", "callback"])
def test_missing_session(client, path):
    response = post(
        client,
        path,
        {
            "conversation_id": "a" * 32,
            "text": "你好",
            "identifier": "x",
            "password": "123456",
            "phone": "13800000000",
        },
    )
    assert response.status_code == 401
    assert error_of(response)["code"] == "no_session"


@pytest.mark.parametrize(
    "cookie",
    ["forged", "eyJjIjoiYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWEifQ.Zz.xx", ""],
    ids=["garbage", "unsigned-lookalike", "empty"],
)
def test_forged_session_cookie_is_no_session(client, cookie):
    client.set_cookie(COOKIE_NAME, cookie, path="/chat/api")
    response = post(client, "message", {"conversation_id": "a" * 32, "text": "你好"})
    assert response.status_code == 401


def test_another_sessions_conversation_is_refused_and_untouched(app, stack):
    victim, intruder = app.test_client(), app.test_client()
    victim_cid = start_session(victim)
    assert (
        post(victim, "message", {"conversation_id": victim_cid, "text": "你好"}).status_code == 200
    )
    start_session(intruder)
    before = len(tracker(stack, victim_cid)["events"])
    for path, extra in (
        ("message", {"text": "我要查余额"}),
        ("verify", {"identifier": VERIFY_OK.id_number, "password": VERIFY_OK.password}),
        ("end", {}),
        ("callback", {"phone": "13800000000"}),
    ):
        response = post(intruder, path, {"conversation_id": victim_cid, **extra})
        assert response.status_code == 403, path
        assert error_of(response)["code"] == "wrong_conversation"
    # The intruder's session never shows the victim's history either.
    resumed = post(intruder, "session", {}).get_json()
    assert resumed["conversation_id"] != victim_cid
    assert all("96319智能客服" not in item["text"] for item in resumed["history"])
    assert len(tracker(stack, victim_cid)["events"]) == before


def test_missing_conversation_id_is_refused(client):
    start_session(client)
    response = post(client, "message", {"text": "你好"})
    assert response.status_code == 403


@pytest.mark.parametrize(
    "choice",
    [
        {"menu": "nope", "key": "1"},
        {"menu": "main", "key": "8"},
        {"menu": "main", "key": 1},
        {"menu": ["main"], "key": "1"},
        {"button": 0},
        {"button": -1},
        {"button": "0"},
        {"button": True},
        {"button": 99},
    ],
)
def test_unknown_choices(client, choice):
    cid = start_session(client)
    response = post(client, "message", {"conversation_id": cid, "choice": choice})
    assert response.status_code == 422
    assert error_of(response)["code"] == "unknown_choice"


@pytest.mark.parametrize(
    "body",
    [{"text": "你好", "choice": {"button": 0}}, {}, {"choice": "main"}],
    ids=["both", "neither", "choice-not-object"],
)
def test_text_or_choice_exactly(client, body):
    cid = start_session(client)
    response = post(client, "message", {"conversation_id": cid, **body})
    assert response.status_code == 400


# ------------------------------------------------------------------ rate limits


def test_flood_from_one_session(client):
    cid = start_session(client)
    statuses = [
        post(client, "message", {"conversation_id": cid, "text": ""}).status_code for _ in range(10)
    ]
    assert statuses[:8] == [422] * 8 and statuses[8:] == [429, 429]
    response = post(client, "message", {"conversation_id": cid, "text": "你好"})
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) == 40  # the rest of the minute
    assert "秒后再试" in error_of(response)["message"]


def test_flood_from_one_address_across_sessions(make_app):
    app = make_app(chat_rate_per_address=5)
    statuses = [post(app.test_client(), "session", {}).status_code for _ in range(7)]
    assert statuses == [200] * 5 + [429] * 2


def test_flood_from_a_proxied_address_counts_the_visitor_not_the_proxy(make_app):
    app = make_app(chat_rate_per_address=3, trusted_proxies=1)
    client = app.test_client()
    for visitor in ("203.0.113.7", "203.0.113.8"):
        statuses = [
            post(
                client, "session", {}, headers={"X-Forwarded-For": f"198.51.100.1, {visitor}"}
            ).status_code
            for _ in range(4)
        ]
        assert statuses == [200, 200, 200, 429], visitor


def test_new_sessions_per_address(make_app):
    app = make_app(chat_new_sessions_per_address=2)
    client = app.test_client()
    assert post(client, "session", {}).status_code == 200
    assert post(client, "session", {"restart": True}).status_code == 200
    third = post(client, "session", {"restart": True})
    assert third.status_code == 429 and error_of(third)["code"] == "rate_limited"
    assert post(client, "session", {}).status_code == 200  # resuming is not a new session


def test_rate_limits_shared_through_redis(make_app):
    from tests.bot.gateway.chat.test_ratelimit import REDIS_URL

    prefix = f"test:chat:{uuid.uuid4().hex}:"
    apps = [make_app(chat_rate_per_address=4) for _ in range(2)]
    for app in apps:  # two gateway processes behind one load balancer
        app.extensions["hotline_chat"].limiter = RedisRateLimiter(
            REDIS_URL, clock=frozen_time, prefix=prefix
        )
    statuses = [post(apps[i % 2].test_client(), "session", {}).status_code for i in range(6)]
    assert statuses == [200] * 4 + [429] * 2


def test_verification_attempts_are_limited(client):
    cid = start_session(client)
    ask_for_verification(client, cid)
    statuses = [
        post(
            client, "verify", {"conversation_id": cid, "identifier": "12345", "password": "000000"}
        ).status_code
        for _ in range(5)
    ]
    assert statuses == [422] * 4 + [429]


# ------------------------------------------------------------------ CORS, origin, headers


def test_cors_only_for_configured_origins(make_app):
    app = make_app(chat_allowed_origins=("https://www.cdzfgjj.gov.cn",))
    client = app.test_client()
    preflight = client.options(
        "/chat/api/session",
        headers={"Origin": "https://www.cdzfgjj.gov.cn", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://www.cdzfgjj.gov.cn"
    assert preflight.headers["Access-Control-Allow-Credentials"] == "true"
    allowed = post(client, "session", {}, headers={"Origin": "https://www.cdzfgjj.gov.cn"})
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://www.cdzfgjj.gov.cn"
    assert "Origin" in allowed.headers["Vary"]

    for origin in ("https://evil.example", "https://www.cdzfgjj.gov.cn.evil.example", "null"):
        refused = post(client, "session", {}, headers={"Origin": origin})
        assert refused.status_code == 403, origin
        assert error_of(refused)["code"] == "origin_not_allowed"
        assert "Access-Control-Allow-Origin" not in refused.headers
        preflight = client.options("/chat/api/message", headers={"Origin": origin})
        assert preflight.status_code == 403
        assert "Access-Control-Allow-Origin" not in preflight.headers


def test_same_origin_pages_need_no_configuration(client):
    response = post(client, "session", {}, headers={"Origin": "http://localhost"})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers


def test_pages_carry_a_strict_csp_and_no_inline_code(client):
    page = client.get("/")
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    for directive in (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "connect-src 'self'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert page.headers["X-Frame-Options"] == "DENY"
    html = page.get_data(as_text=True)
    assert "演示" in html
    import re

    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts and all(" src=" in tag for tag in scripts)
    assert len(scripts) == 1  # one tag embeds the widget
    assert not re.search(r"\son[a-z]+=", html) and " style=" not in html and "<style" not in html


def test_widget_assets(client):
    js = client.get("/chat/widget.js")
    assert js.status_code == 200 and js.mimetype == "text/javascript"
    assert js.headers["X-Content-Type-Options"] == "nosniff"
    assert js.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    source = js.get_data(as_text=True)
    for dangerous in (
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
    ):
        assert dangerous not in source, dangerous
    css = client.get("/chat/widget.css")
    assert css.status_code == 200 and css.mimetype == "text/css"


# ------------------------------------------------------------------ secure step


def test_verification_only_when_asked(client):
    cid = start_session(client)
    response = post(
        client,
        "verify",
        {"conversation_id": cid, "identifier": VERIFY_OK.id_number, "password": VERIFY_OK.password},
    )
    assert response.status_code == 409
    assert error_of(response)["code"] == "verify_not_requested"


@pytest.mark.parametrize(
    ("identifier", "password", "field"),
    [
        ("12345", "135790", "identifier"),
        ("510104198503150018", "135790", "identifier"),  # wrong check digit
        ("1" * 41, "135790", "identifier"),
        (VERIFY_OK.account_number, "12345", "password"),
        (VERIFY_OK.account_number, "abcdef", "password"),
        (VERIFY_OK.account_number, "1234567", "password"),
    ],
    ids=["short", "bad-check-digit", "too-long", "5-digits", "letters", "7-digits"],
)
def test_format_errors_stay_in_the_form(client, stack, identifier, password, field):
    cid = start_session(client)
    ask_for_verification(client, cid)
    events_before = len(tracker(stack, cid)["events"])
    response = post(
        client, "verify", {"conversation_id": cid, "identifier": identifier, "password": password}
    )
    assert response.status_code == 422
    assert error_of(response)["field"] == field
    assert len(tracker(stack, cid)["events"]) == events_before  # Rasa heard nothing


@pytest.mark.parametrize(
    "body",
    [
        {"identifier": 510104198503150017, "password": "135790"},
        {"identifier": "x"},
        {"password": "135790"},
    ],
    ids=["number", "no-password", "no-identifier"],
)
def test_verify_bad_body(client, body):
    cid = start_session(client)
    ask_for_verification(client, cid)
    assert post(client, "verify", {"conversation_id": cid, **body}).status_code == 400


def test_secret_typed_into_the_chat_never_reaches_rasa(client, stack):
    cid = start_session(client)
    ask_for_verification(client, cid)
    for text in (VERIFY_OK.password, VERIFY_OK.id_number, f"账号{VERIFY_OK.account_number}"):
        response = post(client, "message", {"conversation_id": cid, "text": text})
        assert response.status_code == 422
        assert error_of(response)["code"] == "secret_in_chat"
    events = json.dumps(tracker(stack, cid), ensure_ascii=False)
    assert VERIFY_OK.password not in events and VERIFY_OK.id_number not in events


def _chinese(digits):
    return "".join("零一二三四五六七八九"[int(d)] if d.isdigit() else d for d in digits)


def _full_width(digits):
    return "".join(chr(ord(d) + 0xFEE0) if d.isdigit() else d for d in digits)


def test_grouped_secrets_typed_into_the_chat_never_reach_rasa(make_app, stack):
    """Grouped, spaced, Chinese or full-width: the NLU would join them into the secret."""
    client = make_app(chat_rate_per_session=30).test_client()
    cid = start_session(client)
    ask_for_verification(client, cid)
    password, id_number = VERIFY_OK.password, VERIFY_OK.id_number
    texts = [
        f"{password[:3]} {password[3:]}",
        " ".join(password),
        f"{password[:3]}-{password[3:]}",
        _chinese(password),
        _full_width(password),
        f"密码是 {' '.join(_chinese(password))}",
        f"{id_number[:6]} {id_number[6:14]} {id_number[14:]}",
        f"{id_number[:6]}-{id_number[6:14]}-{id_number[14:]}",
        _chinese(f"{id_number[:6]} {id_number[6:14]} {id_number[14:]}"),
    ]
    events_before = len(tracker(stack, cid)["events"])
    for text in texts:
        response = post(client, "message", {"conversation_id": cid, "text": text})
        assert response.status_code == 422, text
        assert error_of(response)["code"] == "secret_in_chat"
    events = tracker(stack, cid)["events"]
    assert len(events) == events_before  # Rasa heard none of them
    seen = json.dumps(events, ensure_ascii=False)
    assert password not in seen and id_number not in seen


def test_wrong_password_then_right_one(client, stack):
    cid = start_session(client)
    ask_for_verification(client, cid)
    wrong = post(
        client,
        "verify",
        {
            "conversation_id": cid,
            "identifier": VERIFY_WRONG.account_number,
            "password": "000000" if VERIFY_WRONG.password != "000000" else "111111",
        },
    )
    assert wrong.status_code == 200, wrong.get_json()
    data = wrong.get_json()
    assert data["verified"] is False
    assert data["messages"][0] == {"role": "note", "text": "身份验证未通过", "tone": "warn"}
    assert "不正确" in data["messages"][1]["text"]
    assert data["secure_step"] is True  # asked again
    right = post(
        client,
        "verify",
        {
            "conversation_id": cid,
            "identifier": VERIFY_WRONG.account_number,
            "password": VERIFY_WRONG.password,
        },
    )
    assert right.get_json()["verified"] is True
    assert "封存" in json.dumps(right.get_json(), ensure_ascii=False)


def test_verified_balance_and_the_password_goes_nowhere_near_rasa(client, stack):
    cid = start_session(client)
    ask_for_verification(client, cid)
    response = post(
        client,
        "verify",
        {
            "conversation_id": cid,
            "identifier": VERIFY_OK.card_number,
            "password": VERIFY_OK.password,
        },
    )
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert data["verified"] is True and data["secure_step"] is False
    assert data["messages"][0] == {"role": "note", "text": "已验证", "tone": "ok"}
    assert any("余额" in m["text"] or "提取" in m["text"] for m in data["messages"][1:])
    body = response.get_data(as_text=True)
    assert VERIFY_OK.password not in body and "auth_token" not in body
    events = json.dumps(tracker(stack, cid), ensure_ascii=False)
    assert VERIFY_OK.password not in events
    assert VERIFY_OK.card_number not in events and VERIFY_OK.id_number not in events
    for log in stack.workdir.glob("*.log"):
        assert VERIFY_OK.password not in log.read_text(encoding="utf-8", errors="replace"), log.name
    # The resumed history shows only "已验证", never the token.
    history = post(client, "session", {}).get_json()["history"]
    assert {"role": "note", "text": "已验证", "tone": "ok"} in history
    assert "auth_token" not in json.dumps(history) and "/authenticated" not in json.dumps(history)


# ------------------------------------------------------------------ hand-over, callback, rating


def handover_records(stack, cid):
    with session_scope(stack.database_url) as session:
        return session.scalars(select(Handover).where(Handover.conversation_id == cid)).all()


def test_handover_in_agent_hours(client, clock, stack):
    clock.now = IN_HOURS
    cid = start_session(client)
    response = post(
        client, "message", {"conversation_id": cid, "choice": {"menu": "main", "key": "0"}}
    )
    data = response.get_json()
    assert data["handover"]["mode"] == "in_hours" and data["handover"]["callback_done"] is False
    assert "转接" in data["messages"][0]["text"]  # the assistant's own words stand
    assert data["messages"][-1]["role"] == "note" and "回电" in data["messages"][-1]["text"]
    [record] = handover_records(stack, cid)
    assert record.channel == Channel.webchat


def test_handover_after_hours_offers_a_callback(client, clock, stack):
    clock.now = AFTER_HOURS
    cid = start_session(client)
    response = post(client, "message", {"conversation_id": cid, "text": "转人工"})
    data = response.get_json()
    assert data["handover"]["mode"] == "after_hours"
    assert data["handover"]["hours"] == "工作日9:00—12:00、13:30—17:30"
    assert (
        "不是人工服务时间" in data["messages"][0]["text"] and "96319" in data["messages"][0]["text"]
    )
    history = post(client, "session", {}).get_json()["history"]
    assert "不是人工服务时间" in history[-1]["text"]
    assert len(handover_records(stack, cid)) == 1


@pytest.mark.parametrize("phone", ["12345", "1380000000", "02812345678901", "电话号码", "1" * 40])
def test_callback_phone_must_be_valid(client, phone):
    cid = start_session(client)
    post(client, "message", {"conversation_id": cid, "text": "转人工"})
    response = post(client, "callback", {"conversation_id": cid, "phone": phone})
    assert response.status_code == 422
    assert error_of(response)["field"] == "phone"


def test_callback_is_recorded_once(client, stack, clock):
    clock.now = AFTER_HOURS
    cid = start_session(client)
    post(client, "message", {"conversation_id": cid, "text": "转人工"})
    response = post(client, "callback", {"conversation_id": cid, "phone": "028-8627 9298"})
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert data["handover"]["callback_done"] is True
    assert "9298" in data["messages"][0]["text"]
    again = post(client, "callback", {"conversation_id": cid, "phone": "13800000000"})
    assert again.status_code == 409 and error_of(again)["code"] == "callback_already"
    with session_scope(stack.database_url) as session:
        [callback] = session.scalars(
            select(CallbackRequest).where(CallbackRequest.conversation_id == cid)
        ).all()
        assert (callback.phone, callback.channel, callback.reason) == (
            "02886279298",
            Channel.webchat,
            "after_hours",
        )


def test_callback_without_handover(client):
    cid = start_session(client)
    response = post(client, "callback", {"conversation_id": cid, "phone": "13800000000"})
    assert response.status_code == 409 and error_of(response)["code"] == "callback_not_available"


def test_end_asks_for_a_rating(client):
    cid = start_session(client)
    post(client, "message", {"conversation_id": cid, "text": "你好"})
    ended = post(client, "end", {"conversation_id": cid}).get_json()
    assert "评价" in ended["messages"][0]["text"]
    assert [b["title"] for b in ended["buttons"]][0] == "1 非常满意"
    rated = post(client, "message", {"conversation_id": cid, "choice": {"button": 1}}).get_json()
    assert "感谢您的评价" in rated["messages"][0]["text"]
    history = post(client, "session", {}).get_json()["history"]
    assert {"role": "user", "text": "结束对话"} in history
    assert {"role": "user", "text": "2 满意"} in history


def test_submenu_comes_from_flows_and_its_items_reach_the_assistant(client):
    cid = start_session(client)
    opened = post(
        client, "message", {"conversation_id": cid, "choice": {"menu": "main", "key": "3"}}
    ).get_json()
    assert opened["menu"]["name"] == "policy"
    assert "提取条件" in [item["label"] for item in opened["menu"]["items"]]
    answer = post(
        client, "message", {"conversation_id": cid, "choice": {"menu": "policy", "key": "2"}}
    )
    assert answer.status_code == 200
    assert "提取" in answer.get_json()["messages"][0]["text"]
    history = post(client, "session", {}).get_json()["history"]
    assert history[0] == {"role": "user", "text": "提取条件"}


# ------------------------------------------------------------------ assistant unreachable


def test_unreachable_assistant_gives_the_hotline_quickly(make_app):
    app = make_app(rasa_url=f"http://127.0.0.1:{free_port()}")
    client = app.test_client()
    cid = start_session(client)
    started = time.monotonic()
    response = post(client, "message", {"conversation_id": cid, "text": "你好"})
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    assert "96319" in error_of(response)["message"]
    resumed = post(client, "session", {}).get_json()
    assert resumed["conversation_id"] == cid and "96319" in resumed["notice"]


def test_callback_is_stored_on_both_database_backends(make_app, db_url, clock):
    """The gateway's own write (the callback request) on SQLite and PostgreSQL."""
    clock.now = IN_HOURS
    client = make_app(database_url=db_url).test_client()
    cid = start_session(client)
    assert post(client, "message", {"conversation_id": cid, "text": "转人工"}).status_code == 200
    response = post(client, "callback", {"conversation_id": cid, "phone": "+86 139-1234-5678"})
    assert response.status_code == 200, response.get_json()
    with session_scope(db_url) as session:
        callback = session.scalar(
            select(CallbackRequest).where(CallbackRequest.conversation_id == cid)
        )
        assert callback is not None
        assert (callback.phone, callback.reason) == ("13912345678", "in_hours")


def test_action_server_down_gives_the_hotline_not_silence(client, stack):
    """Rasa answers nothing when a custom action cannot run; the visitor gets 96319."""
    import subprocess

    from tests.e2e.stack import ROOT

    cid = start_session(client)
    actions = stack.processes["actions"]
    command = actions.args
    stack.stop_part("actions")
    try:
        response = post(
            client, "message", {"conversation_id": cid, "choice": {"menu": "main", "key": "1"}}
        )
        assert response.status_code == 503
        assert "96319" in error_of(response)["message"]
        # Replies that need no custom action still work meanwhile.
        assert post(client, "message", {"conversation_id": cid, "text": "你好"}).status_code == 200
    finally:
        with open(stack.workdir / "actions.log", "ab") as log:
            stack.processes["actions"] = subprocess.Popen(
                command,
                cwd=ROOT,
                env=stack.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        stack.wait_healthy()
    assert post(
        client, "message", {"conversation_id": cid, "choice": {"menu": "main", "key": "1"}}
    ).get_json()["secure_step"]
