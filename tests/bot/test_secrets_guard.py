"""What is kept away from Rasa: passwords and identifiers typed in the chat or said on the phone."""
from __future__ import annotations

import pytest

from bot.secrets_guard import looks_like_secret, spoken_secret


@pytest.mark.parametrize(
    ("text", "secure_open", "refused"),
    [
        ("135790", True, True),
        ("密码 １３５７９０", True, True),
        ("510104198503150017", True, True),
        ("1020 3040 5060", True, True),
        ("我想问问提取条件", True, False),
        ("我的密码是135790", False, True),
        ("510104198503150017 135790", False, True),
        ("我想贷款500000元", False, False),
        ("投诉单号TS2611270003", False, False),
        ("电话13912345678", False, False),
        ("135790", False, False),
    ],
)
def test_secrets_are_kept_out_of_the_chat(text, secure_open, refused):
    assert looks_like_secret(text, secure_step_open=secure_open) is refused


# A password or an 18-character ID typed in groups, in Chinese or full-width digits:
# the NLU normaliser joins them, so the guard must see them joined too.
GROUPED_SECRETS = [
    "135 790",
    "1 3 5 7 9 0",
    "135-790",
    "13-57-90",
    "一三五七九零",
    "幺三五 七九洞",
    "１３５７９０",
    "１３５ ７９０",
    "我的密码是 1 3 5 7 9 0",
    "510104 19850315 0017",
    "510104-19850315-0017",
    "5101 0419 8503 1500 17",
    "五一零一零四 一九八五零三一五 零零一七",
    "５１０１０４ １９８５０３１５ ００１７",
]


@pytest.mark.parametrize("text", GROUPED_SECRETS)
def test_grouped_secrets_are_refused_while_the_form_is_open(text):
    assert looks_like_secret(text, secure_step_open=True) is True


@pytest.mark.parametrize(
    "text",
    ["我的密码是 1 3 5 7 9 0", "密码一三五七九零", "510104 19850315 0017 密码135 790"],
)
def test_grouped_password_next_to_the_word_is_refused_anytime(text):
    assert looks_like_secret(text, secure_step_open=False) is True


@pytest.mark.parametrize(
    "text",
    ["我想贷款50万，贷20年", "2026年11月27日去的", "电话138 1234 5678", "一共3个问题", "一下"],
)
def test_ordinary_numbers_still_pass_while_the_form_is_open(text):
    assert looks_like_secret(text, secure_step_open=True) is False


# Speech as recognised on the phone (Chinese digits, spoken groups): outside the
# keypad step, a password or an identifier must not reach the assistant.
SPOKEN_SECRETS = [
    "我的密码是一二三四五六",
    "密码幺三五 七九洞",
    "查询密码是135790",
    "身份证号510104199001011234",  # an ID with a misheard digit: its check fails
    "身份证号五一零一零四一九八五零三一五零零一七",
    "我的身份证是 510104 19850315 0017",
    "510104198503150017",
    "公积金账号一二三四五六七八九零一二",
    "联名卡号6217003810012345678",
    "身份证号51010419850315001",  # a digit dropped
    "51010419850315001X",
]


@pytest.mark.parametrize("text", SPOKEN_SECRETS)
def test_passwords_and_identifiers_said_on_the_phone_are_caught(text):
    assert spoken_secret(text) is True


@pytest.mark.parametrize(
    "text",
    [
        "我想提取2万元",
        "我想提取两万元",
        "投诉单号TS二六一一二七零零零三",
        "我的投诉单号是TS2611270003",
        "电话幺三八幺二三四五六七八",
        "028 8627 9298",
        "我想贷款50万，贷20年",
        "2026年11月27日去的",
        "密码忘了怎么办",
        "135790",
    ],
)
def test_ordinary_speech_with_numbers_passes(text):
    assert spoken_secret(text) is False
