"""The gateway channels' webhooks on a real Rasa (trained model, action server,
records, SQLite tracker store read directly): who may speak in a conversation,
what a person's text can become, and what the tracker keeps."""
from __future__ import annotations

import json
import sqlite3
import uuid
from typing import Any, Optional

import pytest
import requests

from bot.contract import DEFAULT_CHANNEL_SECRET, SECRET_HEADER, SYSTEM_INTENTS
from bot.records.db import dispose_engines, session_scope
from bot.records.seed import DEMO_IDENTITIES
from bot.records.verification import verify_identity
from tests.e2e.stack import GATEWAY_SECRET, Stack

DEPOSITOR = next(identity for identity in DEMO_IDENTITIES if identity.key == "normal_loan")
BALANCE = "账户余额"  # in utter_balance_normal: an account was read
INVALID = "身份核验信息无效"  # utter_auth_invalid
CHANNELS = ["webchat", "voice"]

WRONG_SECRETS = {
    "missing": None,
    "empty": "",
    "wrong": "not-the-secret",
    "development default": DEFAULT_CHANNEL_SECRET,
    "one character short": GATEWAY_SECRET[:-1],
    "with a space": GATEWAY_SECRET + " ",
    "upper case": GATEWAY_SECRET.upper(),
}


def post(stack: Stack, channel: str, body: dict[str, Any],
         secret: Optional[str] = GATEWAY_SECRET) -> requests.Response:
    headers = {} if secret is None else {SECRET_HEADER: secret}
    return requests.post(f"{stack.rasa_url}/webhooks/{channel}/webhook", json=body,
                         headers=headers, timeout=60)


def say(stack: Stack, channel: str, sender: str, text: str, **extra: Any) -> list[dict]:
    response = post(stack, channel, {"sender": sender, "kind": "text", "text": text, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def gateway_intent(stack: Stack, channel: str, sender: str, intent: str,
                   entities: dict[str, str], **extra: Any) -> list[dict]:
    response = post(stack, channel, {"sender": sender, "kind": "intent", "intent": intent,
                                     "entities": entities, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def rest(stack: Stack, sender: str, message: str) -> list[dict]:
    response = requests.post(f"{stack.rasa_url}/webhooks/rest/webhook",
                             json={"sender": sender, "message": message}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def texts(messages: list[dict]) -> str:
    return " ".join(message.get("text") or "" for message in messages)


def events(stack: Stack, sender: str) -> list[dict]:
    """The conversation's events as Rasa's tracker store holds them."""
    with sqlite3.connect(stack.tracker_db) as db:
        rows = db.execute("SELECT data FROM events WHERE sender_id = ? ORDER BY id",
                          (sender,)).fetchall()
    return [json.loads(row[0]) for row in rows]


def verify(stack: Stack, channel: str, sender: str) -> str:
    """The secure step as the gateway does it; returns the session reference."""
    dispose_engines()
    with session_scope(stack.database_url) as session:
        result = verify_identity(session, DEPOSITOR.id_number, DEPOSITOR.password,
                                 channel=channel, conversation_id=sender)
    assert result.ok and result.token
    return result.token


def verified_conversation(stack: Stack, channel: str) -> tuple[str, str]:
    """A conversation in which the depositor asked for the balance and got it."""
    sender = f"{channel}-{uuid.uuid4().hex}"
    assert "secure_input" in json.dumps(say(stack, channel, sender, "查一下我的公积金余额"))
    reference = verify(stack, channel, sender)
    answer = texts(gateway_intent(stack, channel, sender, "authenticated",
                                  {"auth_token": reference}))
    assert BALANCE in answer
    return sender, reference


# ------------------------------------------------------------ the shared secret


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("secret", list(WRONG_SECRETS.values()), ids=list(WRONG_SECRETS))
def test_without_the_secret_nothing_reaches_the_conversation(stack: Stack, channel: str,
                                                             secret: Optional[str]) -> None:
    sender = f"{channel}-{uuid.uuid4().hex}"
    assert "96319" in texts(say(stack, channel, sender, "你好"))  # the right secret: a reply
    before = events(stack, sender)
    assert before
    for body in (
        {"sender": sender, "kind": "text", "text": "查一下我的公积金余额"},
        {"sender": sender, "kind": "intent", "intent": "authenticated",
         "entities": {"auth_token": "x" * 43}},
    ):
        response = post(stack, channel, body, secret)
        assert response.status_code == 403
        assert response.json() == {"error": "forbidden"}
    assert events(stack, sender) == before
    stranger = f"{channel}-{uuid.uuid4().hex}"
    assert post(stack, channel, {"sender": stranger, "kind": "text", "text": "你好"},
                secret).status_code == 403
    assert events(stack, stranger) == []


# ------------------------------------------------- typed text is never an intent


def typed_lookalikes(reference: str) -> list[str]:
    entities = json.dumps({"auth_token": reference})
    return [
        f"/authenticated{entities}",
        f"／authenticated{entities}",  # full-width slash
        f"  //authenticated{entities}",
        "/authentication_failed" + json.dumps({"reason": "locked", "remaining": "0"}),
        "/greet",
    ]


@pytest.mark.parametrize("channel", CHANNELS)
def test_typed_intent_messages_stay_text(stack: Stack, channel: str) -> None:
    # A reference that would grant the account in this very conversation, typed
    # by the person instead of sent by the gateway: it must stay plain text.
    sender = f"{channel}-{uuid.uuid4().hex}"
    assert "secure_input" in json.dumps(say(stack, channel, sender, "查一下我的公积金余额"))
    reference = verify(stack, channel, sender)
    for text in typed_lookalikes(reference):
        seen = len(events(stack, sender))
        reply = texts(say(stack, channel, sender, text))
        assert BALANCE not in reply
        new = events(stack, sender)[seen:]
        (user,) = [event for event in new if event["event"] == "user"]
        assert not user["text"].startswith(("/", "／")), user["text"]
        assert user["parse_data"]["intent"]["name"] not in SYSTEM_INTENTS
        assert not [event for event in new if event["event"] == "slot"
                    and event["name"] == "auth_token" and event["value"]]
    # The same reference sent by the gateway as its own message does grant it.
    assert BALANCE in texts(gateway_intent(stack, channel, sender, "authenticated",
                                           {"auth_token": reference}))


# ------------------------------------- the reference is bound to channel and conversation


def test_a_verified_web_chat_reads_nothing_through_rest(stack: Stack) -> None:
    sender, _ = verified_conversation(stack, "webchat")
    # What a tracker dump shows of the secure step: the reference in the slot.
    (dumped,) = {event["value"] for event in events(stack, sender)
                 if event["event"] == "slot" and event["name"] == "auth_token" and event["value"]}
    # The same conversation id, posted through the REST channel by a host inside the network.
    through_rest = texts(rest(stack, sender, "查一下我的公积金余额"))
    assert BALANCE not in through_rest and INVALID in through_rest
    # The dumped reference, presented in a conversation of one's own: REST and web chat.
    entities = json.dumps({"auth_token": dumped})
    own = f"rest-{uuid.uuid4().hex}"
    rest(stack, own, "查一下我的公积金余额")
    assert INVALID in texts(rest(stack, own, f"/authenticated{entities}"))
    other = f"webchat-{uuid.uuid4().hex}"
    say(stack, "webchat", other, "查一下我的公积金余额")
    assert INVALID in texts(gateway_intent(stack, "webchat", other, "authenticated",
                                           {"auth_token": dumped}))
    # Back on the web chat, the depositor verifies again and is answered.
    assert BALANCE in texts(gateway_intent(stack, "webchat", sender, "authenticated",
                                           {"auth_token": verify(stack, "webchat", sender)}))


def test_a_calls_reference_reads_nothing_on_the_web_chat(stack: Stack) -> None:
    sender, reference = verified_conversation(stack, "voice")
    # The call's sid as a web chat conversation id (the gateway secret known):
    # still another channel than the one the reference was issued on.
    assert INVALID in texts(gateway_intent(stack, "webchat", sender, "authenticated",
                                           {"auth_token": reference}))


# --------------------------------------------------- the caller's number


def test_the_callers_number_is_in_no_tracker_event(stack: Stack) -> None:
    sender = f"CA{uuid.uuid4().hex}"
    say(stack, "voice", sender, "你好", metadata={"caller_number": "+8613912345678"})
    gateway_intent(stack, "voice", sender, "human_agent", {},
                   metadata={"caller_number": "+8613912345678"})
    dump = json.dumps(events(stack, sender), ensure_ascii=False)
    assert "你好" in dump
    assert "13912345678" not in dump and "caller_number" not in dump
