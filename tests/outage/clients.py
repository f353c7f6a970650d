"""A web-chat visitor, a caller and a desk agent, as the outage tests drive them."""
from __future__ import annotations

import time
from typing import Any, Callable

import requests
from lxml import etree

from bot.gateway.chat.texts import load_texts
from bot.gateway.voice.simulator import Heard, PhoneSimulator
from tests.outage.stack import Gateway

VOICE_APOLOGY = "非常抱歉，系统暂时出现故障。"  # flows/voice.yml: prompts.system_error
GREETING = "欢迎致电成都住房公积金管理中心"
FAQ_UNAVAILABLE = "这个问题的答复正在更新"  # domain: the FAQ action's answer when its records fail


class Visitor:
    """One web-chat visitor (a browser's cookie jar) talking to the gateway's chat API."""

    def __init__(self, gateway: Gateway) -> None:
        self.base = gateway.base_url
        self.http = requests.Session()
        started = self.post("/chat/api/session", {})
        assert started.status_code == 200, started.text
        self.conversation_id = started.json()["conversation_id"]

    def post(self, path: str, body: dict[str, Any]) -> requests.Response:
        return self.http.post(self.base + path, json=body, timeout=30)

    def say(self, text: str) -> requests.Response:
        return self.post("/chat/api/message", {"conversation_id": self.conversation_id,
                                                "text": text})

    def verify(self, identifier: str, password: str) -> requests.Response:
        return self.post("/chat/api/verify", {"conversation_id": self.conversation_id,
                                               "identifier": identifier, "password": password})


def bot_text(response: requests.Response) -> str:
    assert response.status_code == 200, (response.status_code, response.text[:300])
    return "".join(m.get("text", "") for m in response.json()["messages"] if m["role"] == "bot")


def assert_chat_apology(response: requests.Response, code: str = "turn_failed") -> None:
    """The widget's apology: 503 with the JSON error it shows (96319, 86279298); a failed
    turn also offers the callback form (``handover``)."""
    assert response.status_code == 503, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"] == {"code": code, "message": load_texts().error(code)}
    if code == "turn_failed":
        assert body["handover"], body


def call(gateway: Gateway, caller: str = "+8613800000007") -> PhoneSimulator:
    """A call that got through to the main menu."""
    phone = PhoneSimulator(gateway.base_url, gateway.settings.twilio_auth_token,
                           from_number=caller)
    assert GREETING in phone.dial().text
    return phone


def assert_valid_twiml(heard: Heard) -> None:
    for document in heard.documents:
        root = etree.fromstring(document.encode("utf-8"))
        assert root.tag == "Response"


def assert_voice_apology(heard: Heard) -> None:
    """The apology, then a person (agent hours); the call ends when the agent hangs up."""
    assert_valid_twiml(heard)
    assert heard.text.startswith(VOICE_APOLOGY), heard.text
    assert heard.transferred_to
    assert heard.ended  # the end of the transfer hangs up, never a second transfer


def until_normal(turn: Callable[[], bool], timeout: float = 60.0,
                 pause: float = 0.25) -> tuple[float, int]:
    """Seconds until ``turn()`` first answers normally (that turn included), and how
    many turns failed before it (``turn`` is retried until then)."""
    started = time.monotonic()
    failed = 0
    while not turn():
        failed += 1
        if time.monotonic() - started > timeout:
            raise AssertionError(f"no normal turn {timeout:.0f} s after the store came back")
        time.sleep(pause)
    return time.monotonic() - started, failed


def until_chat_answers(visitor: "Visitor", text: str) -> tuple[tuple[float, int], str]:
    """:func:`until_normal` for one chat message said again until it is answered:
    the recovery figures, and what the assistant answered then."""
    answered: list[str] = []

    def answers() -> bool:
        response = visitor.say(text)
        if response.status_code != 200:
            return False
        answered.append(bot_text(response))
        return True

    return until_normal(answers), answered[0]
