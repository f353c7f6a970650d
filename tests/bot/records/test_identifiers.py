from __future__ import annotations

from datetime import date

import pytest

from bot.records.identifiers import (
    classify_identifier,
    has_unmasked_number,
    id_check_char,
    is_valid_id_number,
    is_valid_phone,
    is_valid_ticket_id,
    mask_account,
    mask_id,
    mask_identifier,
    mask_phone,
    mask_text,
    normalize_phone,
    normalize_ticket_id,
)


@pytest.mark.parametrize(
    "value",
    [
        "510104198503150017",
        "51010819881030005X",
        "51010819881030005x",  # lower-case x accepted
        "510104 19850315 0017",  # spaces ignored
        "510104-19850315-0017",  # dashes ignored
        "11010519491231002X",  # the GB 11643 standard's own example
    ],
)
def test_valid_id_numbers(value: str) -> None:
    assert is_valid_id_number(value)


@pytest.mark.parametrize(
    "value, why",
    [
        ("510104198503150018", "wrong check digit"),
        ("510104198503150010", "wrong check digit"),
        ("510108198810300051", "digit where X is due"),
        ("510104198513150017", "month 13"),
        ("510104199902300017", "30 February"),
        ("510104209901010017", "born in the future"),
        ("510104180001010017", "born before 1900"),
        ("51010419850315001", "17 characters"),
        ("5101041985031500171", "19 characters"),
        ("51010419850315001Y", "bad check character"),
        ("X10104198503150017", "letter in the body"),
        ("", "empty"),
    ],
)
def test_invalid_id_numbers(value: str, why: str) -> None:
    assert not is_valid_id_number(value), why


def test_id_check_char_needs_17_digits() -> None:
    assert id_check_char("11010519491231002") == "X"
    with pytest.raises(ValueError):
        id_check_char("1101051949123100")


def test_future_birth_date_depends_on_today() -> None:
    value = "510104203001010016"
    body = value[:17]
    value = body + id_check_char(body)
    assert not is_valid_id_number(value, today=date(2026, 11, 27))
    assert is_valid_id_number(value, today=date(2031, 1, 1))


@pytest.mark.parametrize(
    "value, kind, normalized",
    [
        ("510104198503150017", "id_number", "510104198503150017"),
        ("51010819881030005x", "id_number", "51010819881030005X"),
        (" 5101 0419 8503 1500 17 ", "id_number", "510104198503150017"),
        ("102030405060", "account_number", "102030405060"),
        ("1020-3040-5060", "account_number", "102030405060"),
        ("6217003810000012345", "card_number", "6217003810000012345"),
        ("6217 0038 1000 0012 345", "card_number", "6217003810000012345"),
        ("１０２０３０４０５０６０", "account_number", "102030405060"),  # full-width digits
        ("51010819881030005ｘ", "id_number", "51010819881030005X"),
    ],
)
def test_classify_identifier(value: str, kind: str, normalized: str) -> None:
    assert classify_identifier(value) == (kind, normalized)


@pytest.mark.parametrize(
    "value",
    [
        "510104198503150018",  # 18 digits, wrong check digit: not an account either
        "5217003810000012345",  # 19 digits not starting with 6
        "10203040506",  # 11 digits
        "1020304050601",  # 13 digits
        "abcdefabcdef",
        "",
        "一二三四五六七八九十一二",
        "102030405060\n1",
        "١٠٢٠٣٠٤٠٥٠٦٠",  # Arabic-Indic digits are not accepted
    ],
)
def test_classify_identifier_rejects(value: str) -> None:
    assert classify_identifier(value)[0] is None


def test_classify_identifier_rejects_non_strings() -> None:
    assert classify_identifier(None)[0] is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value, normalized",
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("19912345678", "19912345678"),
        ("02886279298", "02886279298"),
        ("028-86279298", "02886279298"),
        ("(028)86279298", "02886279298"),
    ],
)
def test_valid_phones(value: str, normalized: str) -> None:
    assert is_valid_phone(value)
    assert normalize_phone(value) == normalized


@pytest.mark.parametrize(
    "value",
    [
        "12812345678", "1381234567", "138123456789", "02186279298", "0288627929", "96319", "",
        "phone",
    ],
)
def test_invalid_phones(value: str) -> None:
    assert not is_valid_phone(value)


@pytest.mark.parametrize(
    "value, normalized",
    [
        ("TS2611270003", "TS2611270003"),
        ("ts2611270003", "TS2611270003"),
        ("Ts2611270003", "TS2611270003"),
        ("2611270003", "TS2611270003"),
        ("TS 261127 0003", "TS2611270003"),
    ],
)
def test_ticket_ids(value: str, normalized: str) -> None:
    assert is_valid_ticket_id(value)
    assert normalize_ticket_id(value) == normalized


@pytest.mark.parametrize(
    "value",
    [
        "TS261127003",  # 9 digits
        "TS26112700031",  # 11 digits
        "TX2611270003",  # wrong prefix
        "TS2613270003",  # month 13
        "TS2602300003",  # 30 February
        "TS2611270000",  # sequence 0000 is never issued
        "261127000",
        "",
    ],
)
def test_invalid_ticket_ids(value: str) -> None:
    assert not is_valid_ticket_id(value)
    assert normalize_ticket_id(value) is None


def test_masks() -> None:
    assert mask_account("102030405060") == "1020****5060"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("02886279298") == "028****9298"
    assert mask_id("510104198503150017") == "510104********0017"
    assert mask_id("51010819881030005x") == "510108********005X"
    assert mask_identifier("6217003810000012345") == "6217***********2345"
    assert mask_identifier("510104198503150017") == "510104********0017"
    assert mask_identifier("garbage") == "*******"
    assert mask_account("1234") == "****"


@pytest.mark.parametrize(
    ("phone", "masked"),
    [("13812345678", "138****5678"), ("02886279298", "028****9298"), (None, ""), ("", ""),
     ("12345", "*****")],
)
def test_mask_phone(phone, masked: str) -> None:
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("我的身份证是510104198503150017", "我的身份证是510104********0017"),
        ("身份证51010819881030005x查一下", "身份证510108********005X查一下"),
        ("身份证 510104 19850315 0017", "身份证 510104********0017"),
        ("电话13812345678嘛", "电话138****5678嘛"),
        ("打+86 138-1234-5678", "打+861******5678"),
        ("座机02886279298", "座机028****9298"),
        ("账号是102030405060", "账号是1020****5060"),
        ("卡号6217003810000012345", "卡号6217***********2345"),
        ("号码1 3 8 1 2 3 4 5 6 7 8", "号码138****5678"),
        ("编号12345678", "编号********"),
        ("两个号102030405060和13812345678", "两个号1020****5060和138****5678"),
        ("工单TS2611270003办得咋样", "工单TS2611270003办得咋样"),
        ("余额还有12345元", "余额还有12345元"),
        ("2026年7月31日起", "2026年7月31日起"),
        ("", ""),
    ],
)
def test_mask_text(text: str, masked: str) -> None:
    assert mask_text(text) == masked
    assert not has_unmasked_number(mask_text(text))


@pytest.mark.parametrize(
    ("text", "unmasked"),
    [("13812345678", True), ("138 1234 5678", True), ("138****5678", False),
     ("TS2611270003", False), ("123456", False), ("1234567", True)],
)
def test_has_unmasked_number(text: str, unmasked: bool) -> None:
    assert has_unmasked_number(text) is unmasked
