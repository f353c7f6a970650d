"""Masking what is kept of a conversation: identifiers, reference numbers, amounts."""
from __future__ import annotations

import re

import pytest

from bot.records.identifiers import has_unmasked_number
from bot.records.redaction import redact_text, redact_values
from bot.records.seed import DEMO_BY_KEY

DEMO = DEMO_BY_KEY["normal_loan"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("我的电话13812345678", "我的电话138****5678"),
        ("电话是 138 1234 5678", "电话是 138****5678"),
        ("座机028-86279299", "座机028****9299"),
        ("我的电话是幺三八 幺二三四 五六七八", "我的电话是138****5678"),
        ("１３８１２３４５６７８", "138****5678"),
        (f"身份证{DEMO.id_number}", f"身份证{DEMO.id_number[:6]}********{DEMO.id_number[-4:]}"),
        (f"账号{DEMO.account_number}", "账号1020****5060"),
        (f"联名卡{DEMO.card_number}", f"联名卡{DEMO.card_number[:4]}***********{DEMO.card_number[-4:]}"),
        ("账户余额12,345.60元；月缴存额1,200.00元", "账户余额***元；月缴存额***元"),
        ("提取金额80000元", "提取金额***元"),
        ("我才交了3000块", "我才交了***块"),
        ("贷了五十万", "贷了***万"),
        ("我交了三千块钱", "我交了***块钱"),
        ("合同号DK2019000123", "合同号DK***"),
        ("编号TQ2026110100012", "编号TQ***"),
    ],
)
def test_personal_numbers_and_amounts_are_masked(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "投诉单TS2611270003正在处理中",      # a ticket names a complaint, not a person
        "可以拨打监督电话86279298",          # the center's own published line
        "请拨打96319转人工",
        "答复期限为2026年12月4日，5个工作日内",
        "年利率2.6%",
        "我们一块去的",
        "我要投诉窗口人员",
        "后四位5678",
        "",
    ],
)
def test_what_names_no_person_stays(text: str) -> None:
    assert redact_text(text) == text


def test_masking_twice_changes_nothing() -> None:
    text = f"电话13812345678，身份证{DEMO.id_number}，余额12,345.60元，合同号DK2019000123"
    once = redact_text(text)
    assert redact_text(once) == once
    assert not has_unmasked_number(once)
    assert not re.search(r"[0-9][0-9,.]*元", once)


def test_text_values_of_a_mapping_are_masked_wherever_they_are() -> None:
    masked = redact_values({
        "last_user_text": "我的电话13812345678",
        "active_form": "complaint_form",
        "turns": ["余额12,345.60元", {"said": DEMO.account_number}],
        "count": 3,
        "none": None,
    })
    assert masked == {
        "last_user_text": "我的电话138****5678",
        "active_form": "complaint_form",
        "turns": ["余额***元", {"said": "1020****5060"}],
        "count": 3,
        "none": None,
    }
