"""Read-out rules: amounts, dates, digits, counts, URLs and emoji on the phone."""
from __future__ import annotations

from datetime import date, time
from decimal import Decimal

import pytest

from bot.gateway.voice.readout import (
    Pause,
    amount_words,
    date_words,
    digit_groups,
    digits_parts,
    digits_words,
    hours_phrase,
    integer_words,
    merge,
    percent_words,
    plain,
    speakable,
    time_words,
)


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        (Decimal("12345.67"), "一万二千三百四十五元六角七分"),
        ("12,345.67", "一万二千三百四十五元六角七分"),
        (Decimal("100"), "一百元"),
        (Decimal("1000.05"), "一千元零五分"),
        (Decimal("0.50"), "五角"),
        (Decimal("0.05"), "五分"),
        (Decimal("0"), "零元"),
        (Decimal("2000"), "两千元"),
        (Decimal("20000.10"), "两万元一角"),
        (Decimal("10010"), "一万零一十元"),
        (Decimal("1800"), "一千八百元"),
        (Decimal("12.345"), "十二元三角五分"),  # rounded half up to the fen
        (Decimal("-3.2"), "负三元二角"),
        (31624000000, "三百一十六亿二千四百万元"),
    ],
)
def test_amounts_are_read_in_yuan_jiao_fen(amount, words) -> None:
    assert amount_words(amount) == words


@pytest.mark.parametrize("bad", ["abc", "", "1,2.3.4"])
def test_amount_words_refuses_what_is_not_an_amount(bad) -> None:
    with pytest.raises(ValueError):
        amount_words(bad)


@pytest.mark.parametrize(
    ("number", "words"),
    [(0, "零"), (2, "二"), (10, "十"), (12, "十二"), (20, "二十"), (110, "一百一十"),
     (2000, "两千"), (12000, "一万二千"), (200000000, "两亿")],
)
def test_integer_words(number, words) -> None:
    assert integer_words(number) == words


@pytest.mark.parametrize(
    ("day", "words"),
    [
        (date(2026, 11, 27), "二零二六年十一月二十七日"),
        (date(2027, 1, 1), "二零二七年一月一日"),
        (date(2009, 10, 10), "二零零九年十月十日"),
    ],
)
def test_dates_are_read_year_digit_by_digit(day, words) -> None:
    assert date_words(day) == words


@pytest.mark.parametrize(
    ("digits", "words"),
    [
        ("1020", "幺零二零"),
        ("96319", "九六三幺九"),
        ("51010819881030005X", "五幺零幺零八幺九八八幺零三零零零五X"),
        ("13800000001", "幺三八零零零零零零零幺"),
    ],
)
def test_numbers_digit_by_digit_with_yao(digits, words) -> None:
    assert digits_words(digits) == words


@pytest.mark.parametrize(
    ("digits", "groups"),
    [
        ("13800000001", ["138", "0000", "0001"]),
        ("02886279298", ["028", "8627", "9298"]),
        ("510104198503150017", ["510104", "19850315", "0017"]),
        ("102030405060", ["1020", "3040", "5060"]),
        ("6217003810000012345", ["6217", "0038", "1000", "0012", "345"]),
        ("2611270003", ["261127", "0003"]),
        ("96319", ["96319"]),
    ],
)
def test_digit_groups_follow_how_clerks_pause(digits, groups) -> None:
    assert digit_groups(digits) == groups


def test_digit_groups_are_separated_by_ssml_pauses() -> None:
    assert digits_parts("13800000001", 250) == [
        "幺三八", Pause(250), "零零零零", Pause(250), "零零零幺"]
    assert digits_parts("13800000001", 0) == ["幺三八", "零零零零", "零零零幺"]


@pytest.mark.parametrize(
    ("moment", "words"),
    [(time(9, 0), "上午九点"), (time(13, 30), "下午一点半"), (time(12, 0), "中午十二点"),
     (time(17, 45), "下午五点四十五分"), (time(19, 0), "晚上七点")],
)
def test_clock_times(moment, words) -> None:
    assert time_words(moment) == words


def test_agent_hours_phrase() -> None:
    periods = [(time(9, 0), time(12, 0)), (time(13, 30), time(17, 30))]
    assert hours_phrase(periods) == "上午九点到十二点、下午一点半到五点半"


def test_percent_words() -> None:
    assert percent_words("2.6") == "百分之二点六"
    assert percent_words("12") == "百分之十二"


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("账户余额12,345.67元。", "账户余额一万二千三百四十五元六角七分。"),
        ("月缴存额2,400.00元", "月缴存额两千四百元"),
        ("下次还款日2026年12月20日", "下次还款日二零二六年十二月二十日"),
        ("已缴存至2026年10月。", "已缴存至二零二六年十月。"),
        ("年利率2.6%，比例12%", "年利率百分之二点六，比例百分之十二"),
        ("您的公积金账户1020****5060状态正常", "您的公积金账户尾号五零六零状态正常"),
        ("尾号5678的电话", "尾号五六七八的电话"),
        ("逾期2期，请在5个工作日内", "逾期两期，请在五个工作日内"),
        ("24小时内连续输错5次", "二十四小时内连续输错五次"),
        ("拨打96319或监督电话86279298", "拨打九六三幺九或监督电话八六二七 九二九八"),
        ("请拨打12333，或全国住房公积金服务热线12329", "请拨打幺二三三三，或全国住房公积金服务热线幺二三二九"),
        ("请登录www.cdzfgjj.gov.cn查询", "请登录网站查询"),
        ("官网 https://cdzfgjj.chengdu.gov.cn/path?a=1 有", "官网 网站 有"),
        ("好的😀👍，再见🙏", "好的，再见"),
        ("累计归集316.24亿元", "累计归集三百一十六点二四亿元"),
        ("成公积金〔2026〕12号", "成公积金〔二零二六〕十二号"),
        ("", ""),
    ],
)
def test_sentences_are_rewritten_for_the_ear(text, spoken) -> None:
    assert plain(speakable(text, url_word="网站")) == spoken


def test_ticket_numbers_are_read_digit_by_digit_in_groups() -> None:
    parts = speakable("投诉单号TS2611270003。", pause_ms=200)
    assert plain(parts, "|") == "投诉单号T S|二六幺幺二七|零零零三。"
    assert Pause(200) in parts


def test_masked_number_phrase_comes_from_the_caller() -> None:
    parts = speakable("账户1020****5060", masked_number="末四位{tail}")
    assert plain(parts) == "账户末四位五零六零"


def test_merge_joins_adjacent_text() -> None:
    assert merge(["a", "", "b", Pause(1), "c", "d"]) == ["ab", Pause(1), "cd"]


def test_very_long_text_is_handled() -> None:
    text = "查询" * 5000 + "12345678901234567890"
    spoken = plain(speakable(text))
    assert spoken.startswith("查询查询")
    assert "1" not in spoken
