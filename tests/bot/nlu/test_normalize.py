"""Spoken and grouped numbers become digits; ordinary words stay; unusable input is named."""
from __future__ import annotations

import pytest

from bot.nlu.normalize import classify_unusable, normalize_text


@pytest.mark.parametrize(
    "said, expected",
    [
        ("五幺零幺零四一九九零零三零七一二三七", "510104199003071237"),
        ("身份证五一零一零四一九九零零三零七一二三叉", "身份证51010419900307123X"),
        ("我的电话是幺三八 幺二三四 五六七八", "我的电话是13812345678"),
        ("零二八八六二七九二九八", "02886279298"),
        ("TS二六一一二七零零零三", "TS2611270003"),
        ("138 1234 5678", "13812345678"),
        ("6217-0038-1000-0012-345", "6217003810000012345"),
        ("１３８１２３４５６７８", "13812345678"),
        ("洞幺洞洞", "0100"),
    ],
)
def test_numbers_become_digits(said, expected):
    assert normalize_text(said) == expected


@pytest.mark.parametrize(
    "text",
    ["我想查一下余额", "一次告知", "提取了一两次", "三四个月没交了", "公积金一站式服务", "", "二手房"],
)
def test_ordinary_words_are_untouched(text):
    assert normalize_text(text) == text


@pytest.mark.parametrize(
    "text, reason",
    [
        (None, "empty"), ("", "empty"), (" \n ", "empty"),
        ("我" * 2001, "too_long"),
        ("what is my balance", "no_chinese"),
        ("DROP TABLE complaints;", "no_chinese"),
        ("😀👍", "symbols_only"), ("...!!!", "symbols_only"),
        ("你好", None), ("13812345678", None), ("TS2611270003", None), ("app登不上去", None),
    ],
)
def test_unusable_input(text, reason):
    assert classify_unusable(text, 2000) == reason


@pytest.mark.parametrize(
    "said, expected",
    [
        ("喂 喂 那个 我想问下公积金提取", "我想问下公积金提取"),
        ("嗯 就是说 我的贷款还欠好多", "我的贷款还欠好多"),
        ("呃，然后 我要投诉", "我要投诉"),
        ("然后我要投诉", "然后我要投诉"),
        ("我我我想查余额", "我想查余额"),
        ("喂喂喂 听得到不", "听得到不"),
        ("喂", "喂"),
        ("喂喂喂", "喂"),
        ("嗯", "嗯"),
        ("嗯嗯 对的", "对的"),
        ("工基金体取要啥子材料", "公积金提取要啥子材料"),
        ("公鸡金鱼额好多", "公积金余额好多"),
        ("我要投素", "我要投诉"),
    ],
)
def test_fillers_stammers_and_homophones(said, expected):
    assert normalize_text(said) == expected


@pytest.mark.parametrize(
    "text", ["谢谢谢谢", "看看", "那个窗口的人态度差", "这个月扣了没有", "啊啊啊"]
)
def test_words_inside_a_request_stay(text):
    expected = {"啊啊啊": "啊"}.get(text, text)
    assert normalize_text(text) == expected


def test_a_wall_of_one_character_is_no_stammer():
    wall = "我" * 2001
    assert normalize_text(wall) == wall
    assert classify_unusable(normalize_text(wall), 2000) == "too_long"
