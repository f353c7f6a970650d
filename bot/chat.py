"""Terminal chat client: talk to the assistant over Rasa's REST channel.

    .venv/app/bin/python -m bot.chat        (or: make chat)

It performs the secure step itself, as the phone and web channels will: when the
assistant asks for verification it prompts for the ID/account/card number and,
with a hidden prompt, the 6-digit query password; it verifies them against the
records (bot.records.verification) and tells Rasa only the outcome, worded by the
contract (bot.contract). The password never goes to Rasa, into a log or onto
the screen. Rasa's REST channel takes plain messages, so the outcome travels as
the ``/intent{…}`` text the contract builds.
"""
from __future__ import annotations

import argparse
import getpass
import sys
import uuid
from typing import Any, Callable, Iterable

import requests

from bot.contract import neutralize_user_text, secure_step_outcome
from bot.records.db import session_scope
from bot.records.verification import verify_identity
from bot.settings import load_settings

QUIT_WORDS = {"退出", "quit", "exit"}
CHANNEL = "rest"  # the terminal client speaks to Rasa's REST channel


class RasaUnavailable(RuntimeError):
    pass


class RestConversation:
    """One conversation with Rasa's REST channel."""

    def __init__(self, rasa_url: str, sender_id: str | None = None, timeout: float = 15.0):
        self.url = f"{rasa_url}/webhooks/rest/webhook"
        self.sender_id = sender_id or uuid.uuid4().hex
        self.timeout = timeout
        self.http = requests.Session()

    def send(self, message: str) -> list[dict[str, Any]]:
        try:
            response = self.http.post(
                self.url,
                json={"sender": self.sender_id, "message": message},
                timeout=self.timeout,
            )
            response.raise_for_status()
        except requests.RequestException as exc:
            raise RasaUnavailable(str(exc)) from exc
        return response.json() or []

    def say(self, text: str) -> list[dict[str, Any]]:
        """Send what a person typed (never as an intent message)."""
        return self.send(neutralize_user_text(text))


def secure_step(
    conversation: RestConversation,
    ask: Callable[[str], str] = input,
    ask_secret: Callable[[str], str] = getpass.getpass,
) -> list[dict[str, Any]]:
    """Collect identity and password locally, verify them, tell Rasa the outcome.

    The outcome is :func:`bot.contract.secure_step_outcome`'s, the same on every channel.
    """
    identifier = ask("证件号码（身份证号/公积金账号/联名卡号，直接回车取消）：").strip()
    if not identifier:
        print("（已取消身份核验）")
        return []
    password = ask_secret("6位查询密码（输入时不显示）：")
    try:
        with session_scope() as session:
            result = verify_identity(
                session,
                identifier,
                password,
                channel=CHANNEL,
                conversation_id=conversation.sender_id,
            )
    finally:
        del password
    return conversation.send(secure_step_outcome(result).message())


def render(messages: Iterable[dict[str, Any]], out=sys.stdout) -> tuple[list[dict], bool]:
    """Print the assistant's messages; return its buttons and whether it asked for the secure step."""
    buttons: list[dict] = []
    wants_secure_step = False
    for message in messages:
        if message.get("text"):
            print(f"助手：{message['text']}", file=out)
        for index, button in enumerate(message.get("buttons") or [], start=1):
            print(f"   [{index}] {button.get('title')}", file=out)
        buttons = message.get("buttons") or buttons
        custom = message.get("custom") or {}
        if custom.get("secure_input") == "identity":
            wants_secure_step = True
        if custom.get("handover"):
            print("   （已转人工：客服人员将接手本次对话）", file=out)
    return buttons, wants_secure_step


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Chat with the 96319 assistant in the terminal.")
    parser.add_argument("--rasa-url", help="Rasa server (default: RASA_URL or http://127.0.0.1:5005)")
    args = parser.parse_args(argv)
    settings = load_settings()
    conversation = RestConversation(args.rasa_url or settings.rasa_url)
    print("成都住房公积金96319智能客服（终端版）。输入“退出”结束；按钮可输入编号选择。")
    print("演示身份见 README“演示身份”一节。\n")
    buttons: list[dict] = []
    while True:
        try:
            text = input("您：").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if text in QUIT_WORDS:
            return 0
        if text.isdigit() and buttons and 1 <= int(text) <= len(buttons):
            text = buttons[int(text) - 1].get("payload") or text
        try:
            buttons, wants_secure_step = render(conversation.say(text))
            while wants_secure_step:
                buttons, wants_secure_step = render(secure_step(conversation))
        except RasaUnavailable:
            print("助手：暂时连不上智能客服（Rasa 未启动或正在加载模型）。请确认 make run 正在运行，稍后再试；急事请拨打96319。")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0


if __name__ == "__main__":
    sys.exit(main())
