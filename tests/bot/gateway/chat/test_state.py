"""The signed chat cookie: random ids, tamper-proof, idle expiry."""

from __future__ import annotations

import time

import itsdangerous
import pytest

from bot.gateway.chat.state import (
    COOKIE_NAME,
    HOST_COOKIE_NAME,
    ChatState,
    StateCodec,
    cookie_policy,
    is_conversation_id,
    new_conversation_id,
)

KEY = "test-secret-key"


def test_conversation_ids_are_random_and_url_safe():
    ids = {new_conversation_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(is_conversation_id(cid) and len(cid) == 32 for cid in ids)


def test_round_trip_keeps_everything():
    codec = StateCodec(KEY, 3600)
    state = ChatState(
        conversation_id=new_conversation_id(),
        secure_step=True,
        handover="after_hours",
        callback=True,
        buttons=[("确认", "确认"), ("修改", "修改")],
    )
    loaded = codec.loads(codec.dumps(state))
    assert loaded == state


def test_forged_or_foreign_cookies_are_no_session():
    state = ChatState(conversation_id=new_conversation_id())
    value = StateCodec(KEY, 3600).dumps(state)
    assert StateCodec("another-key", 3600).loads(value) is None
    tampered = value[:-2] + ("AA" if not value.endswith("AA") else "BB")
    assert StateCodec(KEY, 3600).loads(tampered) is None
    assert StateCodec(KEY, 3600).loads("") is None
    assert StateCodec(KEY, 3600).loads("x" * 10_000) is None


def test_idle_cookie_expires(monkeypatch):
    codec = StateCodec(KEY, 3600)
    monkeypatch.setattr(
        itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 3601
    )
    old = codec.dumps(ChatState(conversation_id=new_conversation_id()))
    monkeypatch.undo()
    assert codec.loads(old) is None


def test_an_idle_expired_cookie_still_names_its_conversation(monkeypatch):
    codec = StateCodec(KEY, 3600)
    state = ChatState(conversation_id=new_conversation_id())
    monkeypatch.setattr(
        itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 3601
    )
    old = codec.dumps(state)
    monkeypatch.undo()
    expired = codec.expired(old)
    assert expired is not None and expired.conversation_id == state.conversation_id
    # Only a genuine cookie, and only once it has expired.
    assert StateCodec("another-key", 3600).expired(old) is None
    assert codec.expired(old[:-2] + ("AA" if not old.endswith("AA") else "BB")) is None
    assert codec.expired(codec.dumps(state)) is None
    assert codec.expired(None) is None and codec.expired("") is None


def test_cookie_is_host_prefixed_in_production():
    production = cookie_policy(production=True, samesite="Lax")
    assert (production.name, production.path, production.secure) == (HOST_COOKIE_NAME, "/", True)
    assert HOST_COOKIE_NAME.startswith("__Host-")
    development = cookie_policy(production=False, samesite="Lax")
    assert (development.name, development.path, development.secure) == (
        COOKIE_NAME,
        "/chat/api",
        False,
    )


@pytest.mark.parametrize(
    "wire",
    [
        None,
        [],
        {"c": "short"},
        {"c": "a" * 31 + "!"},
        {"c": "a" * 32, "h": "maybe"},
        {"c": "a" * 32, "b": "not-a-list"},
    ],
    ids=["none", "list", "short-id", "bad-char", "bad-handover", "bad-buttons"],
)
def test_malformed_payloads_are_refused(wire):
    assert ChatState.from_wire(wire) is None


def test_owns_compares_exactly():
    state = ChatState(conversation_id=new_conversation_id())
    assert state.owns(state.conversation_id)
    other_last = "A" if state.conversation_id[-1] != "A" else "B"
    assert not state.owns(state.conversation_id[:-1] + other_last)
    assert not state.owns(state.conversation_id + "x")
    assert not state.owns(None)
    assert not state.owns(123)


def test_long_button_lists_never_break_the_cookie():
    codec = StateCodec(KEY, 3600)
    state = ChatState(
        conversation_id=new_conversation_id(), buttons=[("按钮" * 10, "内容" * 100)] * 12
    )
    value = codec.dumps(state)
    assert len(value) <= 3800
    loaded = codec.loads(value)
    assert loaded is not None and loaded.conversation_id == state.conversation_id
