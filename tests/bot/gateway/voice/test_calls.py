"""End-to-end calls: the phone simulator, the gateway and the real assistant.

The ``stack`` fixture runs Rasa with the trained model and the action server
on their own records database; the gateway runs on a free port in front of
them; :class:`PhoneSimulator` calls it, signing every webhook like Twilio.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bot.gateway.voice.readout import amount_words, digits_words
from bot.gateway.voice.simulator import PhoneSimulator
from bot.records.account_models import FundAccount
from bot.records.complaints import create_complaint
from bot.records.db import session_scope
from bot.records.seed import DEMO_BY_KEY
from bot.records.service_models import Complaint, Handover
from bot.records.voice_models import CallOutcome, SmsMessage, SmsStatus, VoiceCall
from tests.bot.gateway.voice.conftest import AFTER_HOURS, IN_HOURS, LiveGateway

ARABIC_DIGITS = re.compile(r"[0-9]")


@pytest.fixture
def gateway(live_gateway: LiveGateway) -> Iterator[LiveGateway]:
    live_gateway.clock.now = IN_HOURS
    yield live_gateway
    live_gateway.clock.now = IN_HOURS


def call(gateway: LiveGateway, caller: str = "+8613800000007", **kwargs) -> PhoneSimulator:  # type: ignore[no-untyped-def]
    phone = PhoneSimulator(gateway.base_url, gateway.settings.twilio_auth_token,
                           from_number=caller, **kwargs)
    heard = phone.dial()
    assert "欢迎致电成都住房公积金管理中心" in heard.text
    assert heard.gather is not None
    return phone


def outcome(gateway: LiveGateway, phone: PhoneSimulator) -> VoiceCall:
    with session_scope(gateway.settings.database_url) as session:
        record = session.scalar(select(VoiceCall).where(VoiceCall.call_sid == phone.call_sid))
        assert record is not None
        return record


def test_balance_with_keypad_verification(gateway: LiveGateway, stack, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level("DEBUG")
    demo = DEMO_BY_KEY["normal_loan"]
    phone = call(gateway)
    ask = phone.press("1")
    assert "请用电话按键输入身份证号" in ask.text
    assert ask.gather["input"] == "dtmf" and ask.gather["finishOnKey"] == "#"
    assert "secure" in ask.gather["action"]
    assert "请输入六位查询密码" in phone.press(demo.id_number + "#").text
    answer = phone.press(demo.password + "#")
    with session_scope(gateway.settings.database_url) as session:
        balance = session.scalar(select(FundAccount.balance).where(
            FundAccount.account_number == demo.account_number))
    assert "身份核验成功" in answer.text
    assert "尾号五零六零" in answer.text
    assert f"账户余额{amount_words(balance)}" in answer.text
    assert not ARABIC_DIGITS.search(answer.text), answer.text
    assert answer.gather is not None and answer.gather["numDigits"] == "1"

    # "再见": the rating question, a key, the goodbye and the end of the call.
    rating = phone.say("再见")
    assert "非常满意请按一" in rating.text
    goodbye = phone.press("1")
    assert "感谢您的评价" in goodbye.text and goodbye.ended
    assert outcome(gateway, phone).outcome is CallOutcome.resolved

    # The query password is nowhere: tracker store, logs, Rasa requests, records.
    secret = demo.password
    sent = json.dumps(gateway.rasa_requests.bodies, ensure_ascii=False)
    assert '"intent": "authenticated"' in sent
    assert secret not in sent and demo.id_number not in sent
    assert secret.encode() not in stack.tracker_db.read_bytes()
    for log in stack.workdir.glob("*.log"):
        assert secret not in log.read_text(encoding="utf-8", errors="replace"), log.name
    assert secret not in caplog.text and demo.id_number not in caplog.text
    for suffix in ("", "-wal"):
        database = stack.workdir / f"records.db{suffix}"
        if database.exists():
            assert secret.encode() not in database.read_bytes()


def test_complaint_status_with_the_phones_last_digits_keyed_in(gateway: LiveGateway) -> None:
    with session_scope(gateway.settings.database_url) as session:
        complaint, _ = create_complaint(
            session, idempotency_key="voice-status-e2e", category="attitude", channel="voice",
            description="窗口工作人员态度生硬，不解释提取材料", contact_phone="13800004321")
        ticket = complaint.ticket_id
    phone = call(gateway)
    assert "投诉单号" in phone.say("我想查一下投诉处理进度").text
    ask = phone.press(ticket[2:] + "#")
    assert "请用电话按键输入登记投诉时所留联系电话的后四位" in ask.text
    assert ask.gather is not None and (ask.gather["input"], ask.gather["finishOnKey"]) == ("dtmf", "#")
    wrong = phone.press("1234#")
    assert "核对不一致" in wrong.text and "受理" not in wrong.text
    phone.say("我想查一下投诉处理进度")
    phone.press(ticket[2:] + "#")
    told = phone.press("4321#")
    assert "已受理" in told.text and "答复期限" in told.text
    assert digits_words("4321") not in told.text and "尾号" not in told.text
    phone.hang_up()


def test_loan_status_by_account_number(gateway: LiveGateway) -> None:
    demo = DEMO_BY_KEY["normal_loan"]
    phone = call(gateway)
    phone.press("2")
    phone.press(demo.account_number + "#")
    answer = phone.press(demo.password + "#")
    assert "正常还款中" in answer.text
    assert "每月还款" in answer.text and "元" in answer.text
    assert "下次还款日二零" in answer.text
    assert not ARABIC_DIGITS.search(answer.text), answer.text
    phone.hang_up()
    assert outcome(gateway, phone).outcome is CallOutcome.resolved


def test_a_policy_question_by_speech(gateway: LiveGateway) -> None:
    phone = call(gateway)
    answer = phone.say("公积金贷款利率现在是多少")
    assert "百分之二点六" in answer.text
    assert "返回主菜单请按井号键" in answer.text
    assert answer.gather is not None and "speech" in answer.gather["input"]
    phone.hang_up()


def test_a_password_or_id_said_never_reaches_the_assistant(gateway: LiveGateway, stack) -> None:  # type: ignore[no-untyped-def]
    phone = call(gateway)
    sent_before = len(gateway.rasa_requests.bodies)
    for said in ("我的密码是一二三四五六", "身份证号510104199001011234"):
        heard = phone.say(said)
        assert heard.text.startswith("为了您的信息安全，请不要说出密码或证件号码"), heard.text
        assert "查询公积金账户余额请按一" in heard.text  # the menu again: the call goes on
    assert len(gateway.rasa_requests.bodies) == sent_before
    answer = phone.say("公积金贷款利率现在是多少")
    assert "百分之二点六" in answer.text
    phone.hang_up()
    assert b"510104199001011234" not in stack.tracker_db.read_bytes()


def test_a_complaint_with_ticket_and_sms(gateway: LiveGateway) -> None:
    phone = call(gateway)
    category = phone.say("我要投诉")
    assert "服务态度请按一" in category.text and "其他请按七" in category.text
    assert "请您具体说说发生了什么" in phone.press("1").text
    assert "发生在哪里" in phone.say("今天上午在窗口办提取，工作人员很不耐烦还吼我").text
    assert "工号或姓名" in phone.say("后子门大厅").text
    ask_phone = phone.say("不知道")
    assert "联系电话" in ask_phone.text
    assert ask_phone.gather["finishOnKey"] == "#"  # digits ending with #
    readback = phone.press("13812345678#")
    assert "幺三八 幺二三四 五六七八" in readback.text
    assert "确认请按一，修改请按二" in readback.text
    done = phone.press("1")
    assert "您的投诉已登记，投诉单号T S" in done.text
    assert "短信发到尾号五六七八的手机上" in done.text
    phone.hang_up()
    with session_scope(gateway.settings.database_url) as session:
        complaint = session.scalar(select(Complaint).where(Complaint.conversation_id == phone.call_sid))
        assert complaint is not None and complaint.channel.value == "voice"
        assert complaint.contact_phone == "13812345678"
        sms = session.scalar(select(SmsMessage).where(SmsMessage.reference == complaint.ticket_id))
        assert sms is not None and sms.status is SmsStatus.pending  # no Twilio credentials: outbox
        assert sms.to_number == "13812345678" and complaint.ticket_id in sms.body
    # The ticket heard is the one stored, digit by digit.
    assert digits_words(complaint.ticket_id[2:8]) in done.text


def test_transfer_to_a_person_in_agent_hours(gateway: LiveGateway) -> None:
    phone = call(gateway)
    heard = phone.press("0")
    assert "正在为您转接人工客服" in heard.text
    assert heard.transferred_to == "sip:agents@pbx.invalid"
    assert heard.ended  # the agent answered, then hung up
    with session_scope(gateway.settings.database_url) as session:
        handover = session.scalar(select(Handover).where(Handover.conversation_id == phone.call_sid))
        assert handover is not None and handover.channel.value == "voice"
        assert handover.reason == "requested" and "human_agent" in (handover.intent_path or "")
    assert outcome(gateway, phone).outcome is CallOutcome.transferred


def test_asking_for_a_person_after_hours_records_a_callback(gateway: LiveGateway) -> None:
    gateway.clock.now = AFTER_HOURS
    phone = call(gateway, caller="+8613800000008")
    heard = phone.say("转人工")
    assert "现在不是人工客服的工作时间" in heard.text
    assert "尾号零零零八" in heard.text
    assert heard.transferred_to is None and not heard.ended
    phone.hang_up()
    assert outcome(gateway, phone).outcome is CallOutcome.callback


def test_silence_twice_then_a_person(gateway: LiveGateway) -> None:
    phone = call(gateway)
    first = phone.silence()
    assert first.text.startswith("您好，您还在线吗？")
    second = phone.silence()
    assert second.transferred_to == "sip:agents@pbx.invalid"
    with session_scope(gateway.settings.database_url) as session:
        handover = session.scalar(select(Handover).where(Handover.conversation_id == phone.call_sid))
        assert handover is not None and handover.reason == "no_input"


def test_five_wrong_passwords_then_lock_out(gateway: LiveGateway, stack) -> None:  # type: ignore[no-untyped-def]
    """One phone is slowed after two wrong passwords; five from three phones lock the account."""
    demo = DEMO_BY_KEY["lockout"]
    stack.clear_auth_failures(demo.account_number)
    keyed_id = demo.id_number.replace("X", "*")
    callers = ("+8613800000031", "+8613800000032", "+8613800000033")
    spoken_remaining = iter(("四", "三", "两", "一"))
    for caller, tries in zip(callers, (2, 2, 1), strict=True):
        phone = call(gateway, caller=caller)
        phone.press("1")
        for _ in range(tries):
            phone.press(keyed_id + "#")
            heard = phone.press("000000#")
            if caller != callers[-1]:
                assert f"您还可以再试{next(spoken_remaining)}次" in heard.text
                assert heard.gather["action"].startswith("secure")  # asked again
        if caller != callers[-1]:
            # A third try from the same phone waits: neither checked nor counted.
            phone.press(keyed_id + "#")
            slowed = phone.press("000000#")
            assert "按键核验未通过的次数较多" in slowed.text and "分钟后再试" in slowed.text
            assert "secure" not in slowed.gather["action"]
            phone.hang_up()
    locked = heard
    assert "连续输错五次" in locked.text and "暂时无法在线查询" in locked.text
    assert "secure" not in locked.gather["action"]
    # Even the right password is refused now, from a fourth phone.
    phone.hang_up()
    phone = call(gateway, caller="+8613800000034")
    phone.press("1")
    phone.press(keyed_id + "#")
    refused = phone.press(demo.password + "#")
    assert "暂时无法在线查询" in refused.text
    assert "身份核验成功" not in refused.text
    phone.hang_up()


def test_rasa_stopped_mid_call(gateway: LiveGateway, stack) -> None:  # type: ignore[no-untyped-def]
    phone = call(gateway)
    assert "百分之二点六" in phone.say("公积金贷款利率现在是多少").text
    stack.stop_part("rasa")
    try:
        heard = phone.say("我的公积金还有多少钱")
        assert heard.text.startswith("非常抱歉，系统暂时出现故障")
        assert heard.transferred_to == "sip:agents@pbx.invalid"
        assert max(heard.latencies_ms) < gateway.settings.voice_turn_deadline_ms
        with session_scope(gateway.settings.database_url) as session:
            handover = session.scalar(select(Handover).where(Handover.conversation_id == phone.call_sid))
            assert handover is not None and handover.reason == "backend_error"
    finally:
        stack.start_rasa()
        stack.wait_healthy()
    again = call(gateway)
    assert "百分之二点六" in again.say("公积金贷款利率现在是多少").text
    again.hang_up()
