"""A verified chat's life against the real assistant (``stack``) and records.

- verification moves the chat to a new conversation id and cookie, the pending
  question carried over, and the old id is refused with the new cookie;
- 结束对话, a restart and an idle-expired cookie revoke the auth session;
- the history replays account answers only while the auth session is valid;
- the cookie is ``__Host-`` prefixed in production.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import time
from datetime import timedelta

import itsdangerous
from sqlalchemy import select, update

from bot.gateway import create_app
from bot.gateway.chat.ratelimit import MemoryRateLimiter
from bot.gateway.chat.service import EXTENSION
from bot.gateway.chat.state import COOKIE_NAME, HOST_COOKIE_NAME
from bot.records.account_models import AuthSession
from bot.records.clock import utc_now
from bot.records.db import session_scope
from bot.records.seed import DEMO_IDENTITIES
from tests.bot.gateway.chat.conftest import start_session
from tests.bot.gateway.chat.test_api import ask_for_verification, error_of, post, tracker

DEPOSITOR = next(identity for identity in DEMO_IDENTITIES if identity.key == "pending_withdrawal")
HIDDEN = {"role": "note", "text": "账户信息已隐藏。如需再次查询，请重新验证身份。", "tone": "info"}
BALANCE = "月缴存额"  # in utter_balance_normal, the answer to 账户余额查询
BALANCE_ITEM = {"menu": "main", "key": "1"}  # 账户余额查询


def verified_chat(client):
    """A chat that asked for the balance and passed the secure step: (old id, answer)."""
    old = start_session(client)
    ask_for_verification(client, old)
    response = post(
        client,
        "verify",
        {
            "conversation_id": old,
            "identifier": DEPOSITOR.account_number,
            "password": DEPOSITOR.password,
        },
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["verified"] is True
    return old, response


def auth_sessions(stack, conversation_id):
    with session_scope(stack.database_url) as session:
        return [
            (auth.revoked, auth.expires_at)
            for auth in session.scalars(
                select(AuthSession).where(AuthSession.conversation_id == conversation_id)
            )
        ]


def history_of(client):
    resumed = post(client, "session", {}).get_json()
    assert resumed["resumed"] is True
    return resumed["history"]


def shown(items):
    return json.dumps(items, ensure_ascii=False)


# ------------------------------------------------------------------ rotation


def test_verification_moves_the_chat_to_a_new_id_and_cookie(client, stack):
    old, response = verified_chat(client)
    data = response.get_json()
    new = data["conversation_id"]
    assert new != old and len(new) == 32
    # The pending question carried over: the balance is answered in the new conversation.
    assert BALANCE in shown(data["messages"])
    assert response.headers["Set-Cookie"].startswith(f"{COOKIE_NAME}=")
    # The auth session is bound to the new id; the old id has none.
    assert [revoked for revoked, _ in auth_sessions(stack, new)] == [False]
    assert auth_sessions(stack, old) == []
    # The new cookie no longer accepts the old id, and Rasa heard nothing more there.
    old_events = len(tracker(stack, old)["events"])
    old_users = sum(e["event"] == "user" for e in tracker(stack, old)["events"])
    refused = post(client, "message", {"conversation_id": old, "text": "还有贷款呢"})
    assert refused.status_code == 403 and error_of(refused)["code"] == "wrong_conversation"
    assert len(tracker(stack, old)["events"]) == old_events
    assert BALANCE not in json.dumps(tracker(stack, old), ensure_ascii=False)
    # The visitor's copied messages say so (figures and the learning inbox count them once).
    copied = [e for e in tracker(stack, new)["events"] if e["event"] == "user"][:old_users]
    assert copied and all(e["metadata"].get("carried_over") is True for e in copied)
    # The visitor goes on in the new conversation, still verified, with the whole history.
    again = post(client, "message", {"conversation_id": new, "choice": BALANCE_ITEM})
    assert again.status_code == 200 and again.get_json()["secure_step"] is False
    assert BALANCE in shown(again.get_json()["messages"])
    items = history_of(client)
    assert items[0] == {"role": "user", "text": "账户余额查询"}
    assert {"role": "note", "text": "已验证", "tone": "ok"} in items
    assert BALANCE in shown(items) and HIDDEN not in items


def test_a_failed_verification_keeps_the_conversation(client, stack):
    old = start_session(client)
    ask_for_verification(client, old)
    wrong = "000000" if DEPOSITOR.password != "000000" else "111111"
    response = post(
        client,
        "verify",
        {"conversation_id": old, "identifier": DEPOSITOR.account_number, "password": wrong},
    )
    assert response.status_code == 200 and response.get_json()["verified"] is False
    assert response.get_json()["conversation_id"] == old
    # (the right password next, so that the lock-out count of this depositor starts again)
    right = post(
        client,
        "verify",
        {
            "conversation_id": old,
            "identifier": DEPOSITOR.account_number,
            "password": DEPOSITOR.password,
        },
    )
    assert right.get_json()["verified"] is True and right.get_json()["conversation_id"] != old


# ------------------------------------------------------------------ end, restart, expiry


def test_end_revokes_the_grant_and_hides_the_account_answers(client, stack):
    _, response = verified_chat(client)
    cid = response.get_json()["conversation_id"]
    assert BALANCE in shown(history_of(client))
    ended = post(client, "end", {"conversation_id": cid})
    assert ended.status_code == 200 and "评价" in ended.get_json()["messages"][0]["text"]
    assert [revoked for revoked, _ in auth_sessions(stack, cid)] == [True]
    items = history_of(client)
    assert BALANCE not in shown(items)
    assert HIDDEN in items
    assert {"role": "note", "text": "已验证", "tone": "ok"} in items  # what happened stays
    assert {"role": "user", "text": "结束对话"} in items
    # After the rating, asking again needs the secure step again.
    rated = post(client, "message", {"conversation_id": cid, "choice": {"button": 1}})
    assert "感谢您的评价" in rated.get_json()["messages"][0]["text"]
    again = post(client, "message", {"conversation_id": cid, "choice": BALANCE_ITEM})
    assert again.get_json()["secure_step"] is True
    assert BALANCE not in shown(again.get_json()["messages"])


def test_expired_grant_hides_the_account_answers(client, stack):
    _, response = verified_chat(client)
    cid = response.get_json()["conversation_id"]
    with session_scope(stack.database_url) as session:
        session.execute(
            update(AuthSession)
            .where(AuthSession.conversation_id == cid)
            .values(expires_at=utc_now() - timedelta(seconds=1))
        )
    items = history_of(client)
    assert BALANCE not in shown(items)
    assert items.count(HIDDEN) == 1  # one note for the run of answers
    assert [revoked for revoked, _ in auth_sessions(stack, cid)] == [False]


def test_restart_revokes_the_grant(client, stack):
    _, response = verified_chat(client)
    cid = response.get_json()["conversation_id"]
    restarted = post(client, "session", {"restart": True}).get_json()
    assert restarted["conversation_id"] != cid
    assert [revoked for revoked, _ in auth_sessions(stack, cid)] == [True]


def test_idle_expired_cookie_revokes_the_grant_when_presented(client, stack, monkeypatch):
    _, response = verified_chat(client)
    cid = response.get_json()["conversation_id"]
    idle = client.application.extensions[EXTENSION].codec.max_idle_seconds
    signed_at = int(time.time())
    monkeypatch.setattr(
        itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: signed_at + idle + 60
    )
    message = post(client, "message", {"conversation_id": cid, "text": "我的余额是多少"})
    assert message.status_code == 401 and error_of(message)["code"] == "no_session"
    assert [revoked for revoked, _ in auth_sessions(stack, cid)] == [True]
    fresh = post(client, "session", {}).get_json()
    assert fresh["resumed"] is False and fresh["conversation_id"] != cid
    assert fresh["history"] == []


# ------------------------------------------------------------------ the cookie


def test_production_cookie_is_host_prefixed(chat_settings, clock):
    settings = dataclasses.replace(
        chat_settings,
        env="production",
        database_url=chat_settings.database_url,
        # production keys must be strong, and production shares the rate limits in Redis
        secret_key=secrets.token_urlsafe(48),
        rasa_token=secrets.token_urlsafe(48),
        gateway_channel_secret=secrets.token_urlsafe(48),
        twilio_auth_token="a-production-twilio-token",
        public_base_url="https://96319.example.cn",
        redis_url="redis://127.0.0.1:6379/0",
    )
    app = create_app(
        {
            "HOTLINE_SETTINGS": settings,
            "TESTING": True,
            "CHAT_CLOCK": clock,
            "CHAT_RATE_LIMITER": MemoryRateLimiter(),
        }
    )
    client = app.test_client()
    response = post(client, "session", {}, base_url="https://96319.example.cn")
    assert response.status_code == 200, response.get_json()
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{HOST_COOKIE_NAME}=")
    attributes = [part.strip() for part in cookie.split(";")[1:]]
    assert "Secure" in attributes and "Path=/" in attributes and "HttpOnly" in attributes
    assert not any(part.lower().startswith("domain=") for part in attributes)
    cid = response.get_json()["conversation_id"]
    resumed = post(client, "session", {}, base_url="https://96319.example.cn").get_json()
    assert resumed["resumed"] is True and resumed["conversation_id"] == cid


def test_development_cookie_keeps_its_plain_name_and_path(client):
    response = post(client, "session", {})
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=") and "Path=/chat/api" in cookie
    assert "__Host-" not in cookie and "Secure" not in cookie


def test_a_chat_that_cannot_move_gets_the_apology_and_keeps_no_grant(make_app, fake_rasa, stack):
    """Rasa's tracker cannot be copied (a fake Rasa without one): nothing is granted."""
    fake_rasa.reply_with([{"text": "请先验证身份。"}, {"custom": {"secure_input": "identity"}}])
    client = make_app(rasa_url=fake_rasa.url).test_client()
    cid = start_session(client)
    asked = post(client, "message", {"conversation_id": cid, "text": "查余额"})
    assert asked.get_json()["secure_step"] is True
    response = post(
        client,
        "verify",
        {
            "conversation_id": cid,
            "identifier": DEPOSITOR.account_number,
            "password": DEPOSITOR.password,
        },
    )
    assert response.status_code == 503 and "96319" in error_of(response)["message"]
    assert "Set-Cookie" not in response.headers  # the browser stays in its conversation
    told = [r.body for r in fake_rasa.received if r.path.startswith("/webhooks/")]
    assert all(body.get("intent") != "authenticated" for body in told)
    with session_scope(stack.database_url) as session:
        latest = session.scalars(select(AuthSession).order_by(AuthSession.id.desc())).first()
        assert latest is not None and latest.conversation_id != cid and latest.revoked is True
    assert post(client, "message", {"conversation_id": cid, "text": "你好"}).status_code == 200
