"""PostgreSQL restarted under the running stack: the apology during the outage, then service.

The records and Rasa's tracker store are two databases of one PostgreSQL
server (:mod:`tests.outage.stack`); the test stops that server for real
(``pg_ctl stop -m fast``: every connection of the gateway, the action server
and Rasa is ended) and starts it again. During the outage every turn gets the
designed apology: the web chat a 503 with its JSON message (the widget shows it
with 96319 to call), the phone valid TwiML with the apology and a transfer,
the secure step its own apology, the desk an error page. When the server is
back, turns answer normally again without restarting any process, and a
conversation that was in progress goes on where it was.
"""
from __future__ import annotations

import pytest

from bot.gateway.chat.texts import load_texts
from bot.gateway.voice.simulator import PhoneSimulator
from bot.records.db import session_scope
from bot.records.seed import DEMO_BY_KEY
from bot.records.staff import create_staff
from tests.bot.gateway.desk.conftest import Person, log_in
from tests.outage.clients import (
    FAQ_UNAVAILABLE,
    Visitor,
    assert_chat_apology,
    assert_valid_twiml,
    assert_voice_apology,
    bot_text,
    call,
    until_chat_answers,
    until_normal,
)
from tests.outage.conftest import RECOVERY
from tests.outage.stack import Gateway, OutageStack

ASKS_CATEGORY = "请问您要投诉哪一类问题"
ASKS_DETAILS = "请您具体说说发生了什么"
HALL_QUESTION = "一站式服务大厅在哪里"
DEMO = DEMO_BY_KEY["normal_loan"]


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_chat(mode: str, outage_stack: OutageStack, gateway: Gateway) -> None:
    complaining = Visitor(gateway)
    assert ASKS_CATEGORY in bot_text(complaining.say("我要投诉"))
    verifying = Visitor(gateway)
    assert verifying.say("我的公积金还有多少钱").json()["secure_step"] is True

    outage_stack.postgres.stop(mode)
    assert_chat_apology(complaining.say("服务态度"))
    assert_chat_apology(Visitor(gateway).say(HALL_QUESTION))
    assert_chat_apology(verifying.verify(DEMO.id_number, DEMO.password), "verify_unavailable")
    resumed_page = complaining.post("/chat/api/session", {})  # a reload: history from Rasa
    assert resumed_page.status_code == 200
    assert resumed_page.json()["notice"] == load_texts().error("assistant_unavailable")
    leaving = Visitor(gateway)  # a new chat needs no records
    assert_chat_apology(leaving.post("/chat/api/end", {"conversation_id": leaving.conversation_id}))

    outage_stack.postgres.start()
    recovery, resumed = until_chat_answers(complaining, "服务态度")
    RECOVERY[f"PostgreSQL {mode}: chat"] = recovery
    assert recovery[1] == 0, "the first turn after the restart failed"
    assert ASKS_DETAILS in resumed  # the form went on from where it was
    answer = bot_text(Visitor(gateway).say(HALL_QUESTION))  # the action server reads records
    assert "后子门" in answer and FAQ_UNAVAILABLE not in answer
    assert verifying.verify(DEMO.id_number, DEMO.password).status_code == 200


def test_voice(outage_stack: OutageStack, gateway: Gateway) -> None:
    complaining = call(gateway)
    assert "请问您要投诉哪一类问题" in complaining.say("我要投诉").text
    waiting = call(gateway, "+8613800000008")  # in the complaint form, silent during the outage
    assert ASKS_CATEGORY in waiting.say("我要投诉").text
    verifying = call(gateway, "+8613800000006")
    assert "身份证号" in verifying.press("1").text
    assert "查询密码" in verifying.press(DEMO.id_number + "#").text

    outage_stack.postgres.stop()
    assert_voice_apology(complaining.say("服务态度"))
    assert_voice_apology(verifying.press(DEMO.password + "#"))
    incoming = PhoneSimulator(gateway.base_url, gateway.settings.twilio_auth_token)
    assert_voice_apology(incoming.dial())

    outage_stack.postgres.start()
    heard: list[str] = []

    def form_goes_on() -> bool:
        try:
            heard.append(waiting.say("服务态度").text)
        except RuntimeError:  # an HTTP error (never expected)
            return False
        return ASKS_DETAILS in heard[-1]

    RECOVERY["PostgreSQL fast: voice"] = recovery = until_normal(form_goes_on)
    assert recovery[1] == 0, "the first turn after the restart failed"
    after = call(gateway, "+8613800000005")
    assert ASKS_CATEGORY in after.say("我要投诉").text
    assert_valid_twiml(after.say("服务态度"))


def test_desk(outage_stack: OutageStack, gateway: Gateway) -> None:
    with session_scope(gateway.settings.database_url) as session:
        create_staff(session, None, username="outage_agent", display_name="李华", role="agent",
                     password="Lianxi-96319-mima", must_change_password=False)
    desk = gateway.app.test_client()
    assert log_in(desk, Person("outage_agent", "Lianxi-96319-mima", "agent")).status_code == 303
    assert desk.get("/desk/complaints").status_code == 200

    outage_stack.postgres.stop()
    page = desk.get("/desk/complaints")
    body = page.get_data(as_text=True)
    assert page.status_code == 503, (page.status_code, body[:500])
    assert page.mimetype == "text/html"
    assert "Traceback" not in body and "psycopg" not in body and "SELECT" not in body
    assert "数据库" in body or "系统" in body

    outage_stack.postgres.start()
    RECOVERY["PostgreSQL fast: desk"] = recovery = until_normal(
        lambda: desk.get("/desk/complaints").status_code == 200)
    assert recovery[1] == 0, "the first turn after the restart failed"


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_restart_between_turns(mode: str, outage_stack: OutageStack, gateway: Gateway) -> None:
    """A restart nobody saw (no turn during it): every pooled connection of the gateway, the
    action server and Rasa is dead, and the very next turns must still be answered."""
    visitor = Visitor(gateway)
    assert ASKS_CATEGORY in bot_text(visitor.say("我要投诉"))
    caller = call(gateway)
    assert ASKS_CATEGORY in caller.say("我要投诉").text
    asker = Visitor(gateway)
    assert "后子门" in bot_text(asker.say(HALL_QUESTION))

    outage_stack.postgres.stop(mode)
    outage_stack.postgres.start()

    assert ASKS_DETAILS in bot_text(visitor.say("服务态度"))  # Rasa's tracker store
    assert ASKS_DETAILS in caller.say("服务态度").text  # the gateway's records, then Rasa
    answer = bot_text(asker.say(HALL_QUESTION))  # the action server's records
    assert "后子门" in answer and FAQ_UNAVAILABLE not in answer
