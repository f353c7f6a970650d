"""Rasa replies to widget JSON, history from tracker events, and what a visitor may send."""

from __future__ import annotations

import json

import pytest

from bot.gateway.chat.replies import (
    clean_text,
    history,
    parse_reply,
)


def test_custom_payload_joins_its_text():
    reply = parse_reply(
        [
            {"recipient_id": "x", "text": "为保护您的信息安全…"},
            {"recipient_id": "x", "custom": {"secure_input": "identity"}},
        ]
    )
    assert reply.secure_step is True
    assert reply.messages == [{"role": "bot", "text": "为保护您的信息安全…"}]


def test_ticket_handover_and_buttons():
    reply = parse_reply(
        [
            {
                "text": "请选择",
                "buttons": [{"title": "确认", "payload": "确认"}, {"title": "", "payload": "x"}],
            },
            {"text": "您的投诉已登记，投诉单号TS2611270003。"},
            {"custom": {"complaint_ticket": "ts2611270003"}},
            {"text": "正在为您转接"},
            {"custom": {"handover": True}},
        ]
    )
    assert reply.buttons == [("确认", "确认")]
    assert reply.messages[1]["ticket"] == "TS2611270003"
    assert reply.messages[2]["handover"] is True and reply.handover is True
    assert reply.secure_step is False


@pytest.mark.parametrize("ticket", ["TS26112700", "<b>TS2611270003</b>", 12, "TS2613270001"])
def test_only_real_ticket_numbers_are_marked(ticket):
    reply = parse_reply([{"text": "已登记"}, {"custom": {"complaint_ticket": ticket}}])
    assert "ticket" not in reply.messages[0]


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://cdzfgjj.chengdu.gov.cn/", True),
        ("tel:96319", True),
        ("http://cdzfgjj.chengdu.gov.cn/", False),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("https://user:pw@evil.example/", False),
        ("https://evil.example/\u202e", False),
        ("https:///nohost", False),
        ("//evil.example", False),
    ],
)
def test_links_only_https_or_tel(url, kept):
    reply = parse_reply([{"text": "详见"}, {"custom": {"links": [{"title": "官网", "url": url}]}}])
    assert ("links" in reply.messages[0]) is kept


def test_bot_text_is_passed_as_text_not_interpreted():
    evil = "<img src=x onerror=alert(1)><script>alert(2)</script>"
    reply = parse_reply([{"text": evil}])
    assert reply.messages == [{"role": "bot", "text": evil}]  # the widget uses textContent


def _user(text, intent, metadata=None):
    return {
        "event": "user",
        "text": text,
        "parse_data": {"intent": {"name": intent}},
        "metadata": metadata or {},
    }


def _bot(text, custom=None):
    return {"event": "bot", "text": text, "data": {"custom": custom, "buttons": None}}


def test_history_shows_what_the_visitor_saw():
    token = "secret-token-value"
    events = [
        _user("旧会话", "greet"),
        _bot("旧回答"),
        {"event": "session_started"},
        _user("/query_balance", "query_balance", {"display": "账户余额查询"}),
        _bot("请验证身份", {"secure_input": "identity"}),
        _user(f'/authenticated{{"auth_token": "{token}"}}', "authenticated"),
        _bot("身份核验成功。"),
        _user('/authentication_failed{"reason": "mismatch"}', "authentication_failed"),
        _user("/goodbye", "goodbye"),
        _user("转人工", "human_agent"),
        _bot("正在为您转接", {"handover": True}),
        {"event": "action", "name": "action_listen"},
    ]
    items = history(
        events, verified_note="已验证", failed_note="验证未通过", handover_text="非工作时间"
    )
    assert items == [
        {"role": "user", "text": "账户余额查询"},
        {"role": "bot", "text": "请验证身份"},
        {"role": "note", "text": "已验证", "tone": "ok"},
        {"role": "bot", "text": "身份核验成功。"},
        {"role": "note", "text": "验证未通过", "tone": "warn"},
        {"role": "user", "text": "转人工"},
        {"role": "bot", "text": "非工作时间", "handover": True},
    ]
    assert token not in json.dumps(items, ensure_ascii=False)


def _answer(text, response):
    return {**_bot(text), "metadata": {"utter_action": response}}


ACCOUNT_EVENTS = [
    _user("/query_balance", "query_balance", {"display": "账户余额查询"}),
    _bot("请验证身份", {"secure_input": "identity"}),
    _user('/authenticated{"auth_token": "t"}', "authenticated"),
    _answer("身份核验成功。", "utter_auth_ok"),
    _answer("您的公积金账户1020****5060状态正常。账户余额56,789.12元", "utter_balance_normal"),
    _answer("请注意：您的账户目前只缴存到2026年8月", "utter_balance_arrears"),
    _answer("请问还有什么可以帮您？", "utter_anything_else"),
    _user("/query_loan", "query_loan", {"display": "贷款查询"}),
    _answer("您的公积金贷款（合同号GJJ2019…）正常还款中", "utter_loan_active"),
    _answer("您于2026年10月8日提交的提取申请…", "utter_withdrawal_reviewing"),
    _answer("您已签订委托提取协议", "utter_entrust_active"),
]


def test_history_leaves_out_a_turn_undone_after_a_failure():
    events = [
        _user("你好", "greet"),
        _bot("您好"),
        {"event": "action", "name": "action_listen"},
        _user("我要投诉", "complain"),
        _bot("很抱歉给您带来不好的体验"),
        {"event": "rewind", "metadata": {"turn_failed": "action_failed"}},
        {"event": "action", "name": "action_listen"},
        _user('/authenticated{"auth_token": "t"}', "authenticated"),
        {"event": "rewind"},
        _user("提取要什么材料", "faq"),
        _bot("提取需要身份证"),
    ]
    items = history(events, verified_note="已验证", failed_note="验证未通过")
    assert items == [
        {"role": "user", "text": "你好"},
        {"role": "bot", "text": "您好"},
        {"role": "user", "text": "提取要什么材料"},
        {"role": "bot", "text": "提取需要身份证"},
    ]


def test_history_shows_account_answers_while_verified():
    items = history(ACCOUNT_EVENTS, verified_note="已验证", failed_note="未通过")
    assert "账户余额56,789.12元" in json.dumps(items, ensure_ascii=False)


def test_history_hides_account_answers_once_the_grant_ended():
    items = history(
        ACCOUNT_EVENTS, verified_note="已验证", failed_note="未通过", hidden_note="账户信息已隐藏"
    )
    hidden = {"role": "note", "text": "账户信息已隐藏", "tone": "info"}
    assert items == [
        {"role": "user", "text": "账户余额查询"},
        {"role": "bot", "text": "请验证身份"},
        {"role": "note", "text": "已验证", "tone": "ok"},
        {"role": "bot", "text": "身份核验成功。"},
        hidden,
        {"role": "bot", "text": "请问还有什么可以帮您？"},
        {"role": "user", "text": "贷款查询"},
        hidden,
    ]


def test_clean_text_removes_controls_and_direction_overrides():
    assert clean_text("  你好\u202e\u0000\r\n世界\u200b ") == "你好\n世界"
