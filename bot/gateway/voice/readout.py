"""How numbers are read out on the phone, the way a counter clerk reads them.

Pure functions, no I/O. The assistant's responses are written for the screen
("余额12,345.67元", "2026年11月27日", "投诉单号TS2611270003"); a text-to-speech
voice reads such strings unpredictably, so the voice gateway rewrites them:

- amounts in yuan, jiao and fen: 12345.67元 → 一万二千三百四十五元六角七分;
- dates with the year digit by digit: 2026年11月27日 → 二零二六年十一月二十七日;
- account, ID, phone and ticket numbers digit by digit with 1 as 幺, in groups
  separated by a short SSML pause (:class:`Pause`);
- masked numbers by their visible tail ("1020****5060" → 尾号五零六零);
- percentages and decimals (2.6% → 百分之二点六), other counts as cardinals
  (5个工作日 → 五个工作日, 2次 → 两次);
- web addresses replaced by a spoken phrase, emoji and symbols dropped.

The words of Chinese numerals (元角分, 年月日, 幺, 上午…) are the output
format of these functions, like cn2an's; the phrases around them come from
``flows/voice.yml``.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Iterable, Sequence, Union

import cn2an

DIGIT_WORDS = dict(zip("0123456789", "零幺二三四五六七八九", strict=True))
YEAR_DIGIT_WORDS = dict(zip("0123456789", "零一二三四五六七八九", strict=True))
# Measure words after which a lone 2 is said 两 (两次, 两个工作日).
LIANG_CLASSIFIERS = (
    "个", "次", "位", "期", "天", "年", "小时", "分钟", "人", "名", "种", "份", "项",
    "家", "条", "张", "套", "件", "周", "岁", "笔", "栋", "层",
)


@dataclass(frozen=True)
class Pause:
    """A short silence (SSML ``<break time="…ms"/>``) between groups of digits."""

    ms: int


Part = Union[str, Pause]


# ---------------------------------------------------------------- number words


def integer_words(number: int) -> str:
    """A whole number as said aloud: 12345 → 一万二千三百四十五, 2000 → 两千."""
    if number < 0:
        return "负" + integer_words(-number)
    words = cn2an.an2cn(number, "low")
    # 两千, 两万, 两亿 at the start of a number; inside it stays 二 (一万二千).
    if len(words) >= 2 and words[0] == "二" and words[1] in "千万亿":
        words = "两" + words[1:]
    return words


def decimal_words(text: str) -> str:
    """A decimal as written: "2.6" → 二点六, "0.05" → 零点零五, "12" → 十二."""
    text = text.replace(",", "").strip()
    negative = text.startswith("-")
    text = text.lstrip("-")
    whole, _, fraction = text.partition(".")
    words = integer_words(int(whole or "0"))
    if fraction:
        words += "点" + "".join(YEAR_DIGIT_WORDS[d] for d in fraction)
    return ("负" if negative else "") + words


def amount_words(value: Decimal | str | int) -> str:
    """Money in yuan, jiao and fen: 12345.67 → 一万二千三百四十五元六角七分.

    Rounded to the fen; a missing jiao before fen is said 零 (1000.05 →
    一千元零五分); whole amounts have no 整 (spoken, not written).
    """
    try:
        amount = Decimal(str(value).replace(",", "")).quantize(Decimal("0.01"), ROUND_HALF_UP)
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {value!r}") from exc
    if amount < 0:
        return "负" + amount_words(-amount)
    fen_total = int(amount * 100)
    yuan, rest = divmod(fen_total, 100)
    jiao, fen = divmod(rest, 10)
    words = integer_words(yuan) + "元" if yuan else ""
    if jiao:
        words += YEAR_DIGIT_WORDS[str(jiao)] + "角"
    if fen:
        if yuan and not jiao:
            words += "零"
        words += YEAR_DIGIT_WORDS[str(fen)] + "分"
    return words or "零元"


def percent_words(text: str) -> str:
    """"2.6" (the number before %) → 百分之二点六."""
    return "百分之" + decimal_words(text)


def year_words(year: int | str) -> str:
    """A year digit by digit, as people say it: 2026 → 二零二六."""
    return "".join(YEAR_DIGIT_WORDS[d] for d in str(year))


def date_words(day: date) -> str:
    """2026-11-27 → 二零二六年十一月二十七日."""
    return f"{year_words(day.year)}年{integer_words(day.month)}月{integer_words(day.day)}日"


def digits_words(digits: str, *, x_word: str = "X") -> str:
    """Digit by digit with 1 as 幺: "1020" → 幺零二零; an ID's check letter stays X."""
    out = []
    for char in digits:
        if char in DIGIT_WORDS:
            out.append(DIGIT_WORDS[char])
        elif char in "Xx":
            out.append(x_word)
    return "".join(out)


def digit_groups(digits: str) -> list[str]:
    """Split a number into the groups a clerk pauses between.

    Mobile 138 0000 0001; landline 028 8627 9298; ID 510104 19850315 0017;
    anything else in fours from the left (up to five digits: one group).
    """
    n = len(digits)
    if n <= 5:
        sizes = [n]
    elif n == 11 and digits.startswith("1"):
        sizes = [3, 4, 4]
    elif n == 11 and digits.startswith("0"):
        sizes = [3, 4, 4]
    elif n == 18:
        sizes = [6, 8, 4]
    elif n == 10:
        sizes = [6, 4]  # a ticket's date and sequence
    else:
        sizes = [4] * (n // 4) + ([n % 4] if n % 4 else [])
    groups, start = [], 0
    for size in sizes:
        groups.append(digits[start:start + size])
        start += size
    return groups


def digits_parts(digits: str, pause_ms: int) -> list[Part]:
    """A number read digit by digit, with a pause between its groups."""
    parts: list[Part] = []
    for index, group in enumerate(digit_groups(digits)):
        if index and pause_ms:
            parts.append(Pause(pause_ms))
        parts.append(digits_words(group))
    return parts


def time_words(moment: time) -> str:
    """A clock time as said on the phone: 09:00 → 上午九点, 13:30 → 下午一点半."""
    hour, minute = moment.hour, moment.minute
    if hour < 6:
        period, shown = "凌晨", hour
    elif hour < 12:
        period, shown = "上午", hour
    elif hour < 13:
        period, shown = "中午", hour
    elif hour < 18:
        period, shown = "下午", hour - 12
    else:
        period, shown = "晚上", hour - 12
    words = integer_words(shown) + "点"
    if minute == 30:
        words += "半"
    elif minute:
        words += integer_words(minute) + "分"
    return period + words


def hours_phrase(periods: Sequence[tuple[time, time]]) -> str:
    """Working periods: 上午九点到十二点、下午一点半到五点半."""
    phrases = []
    for start, end in periods:
        start_words, end_words = time_words(start), time_words(end)
        # "上午九点到中午十二点" reads as "上午九点到十二点"; same period once only.
        if start_words[:2] == end_words[:2] or end_words.startswith("中午"):
            end_words = end_words[2:]
        phrases.append(f"{start_words}到{end_words}")
    return "、".join(phrases)


# ------------------------------------------------------------------ sentences

_URL = r"(?:https?://|www\.)[A-Za-z0-9\-._~/?#\[\]@!$&'()*+,;=%:]+|[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.(?:cn|com|net|org|gov)(?:/[A-Za-z0-9\-._~/?=&%]*)?"
_PATTERNS = [
    ("url", _URL),
    ("masked", r"\d*[*＊]{2,}\d+"),
    ("ticket", r"TS(\d{10})"),
    ("big_amount", r"(\d+(?:\.\d+)?)(万|亿)(元?)"),
    ("amount", r"(-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)\s?元"),
    ("percent", r"(\d+(?:\.\d+)?)\s?[%％]"),
    ("doc_year", r"[〔\[](\d{4})[〕\]]"),
    ("date", r"(\d{4})年(\d{1,2})月(\d{1,2})日"),
    ("month", r"(\d{4})年(\d{1,2})月"),
    ("year", r"(\d{4})年"),
    ("clock", r"(?<![\d.])([01]?\d|2[0-3])[:：]([0-5]\d)(?![\d])"),
    ("grouped", r"\d{1,4}(?:-\d{2,8})+"),
    ("commas", r"\d{1,3}(?:,\d{3})+(?:\.\d+)?"),
    ("decimal", r"\d+\.\d+"),
    ("tail", r"(?<=尾号)\d{1,8}"),
    ("identifier", r"\d{5,}|0\d+"),
    ("count", r"\d{1,4}"),
]
_MASTER = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in _PATTERNS))
_INNER = {name: re.compile(pattern) for name, pattern in _PATTERNS}
_SPACES = re.compile(r"[ \t\r\n\u00a0\u3000]+")


def _is_unreadable(char: str) -> bool:
    """Emoji, pictographs and other symbols a voice should not try to say."""
    if char in "\u200d\ufe0f\ufe0e\u20e3":
        return True
    category = unicodedata.category(char)
    return category in ("So", "Sk", "Cs", "Co", "Cn") or 0x1F000 <= ord(char) <= 0x1FAFF


def _convert(kind: str, text: str, following: str, masked_number: str, url_word: str,
             pause_ms: int) -> list[Part]:
    if kind == "tail":  # its pattern looks behind at 尾号, which is not in ``text``
        return [digits_words(text)]
    match = _INNER[kind].fullmatch(text)
    assert match is not None
    if kind == "url":
        return [url_word]
    if kind == "masked":
        tail = re.sub(r"\D", "", text.split("*")[-1].split("＊")[-1])
        return [masked_number.format(tail=digits_words(tail))]
    if kind == "ticket":
        return ["T S", Pause(pause_ms) if pause_ms else "", *digits_parts(match.group(1), pause_ms)]
    if kind == "big_amount":
        return [decimal_words(match.group(1)) + match.group(2) + match.group(3)]
    if kind == "amount":
        return [amount_words(match.group(1))]
    if kind == "percent":
        return [percent_words(match.group(1))]
    if kind == "date":
        year, month, day = (int(g) for g in match.groups())
        try:
            return [date_words(date(year, month, day))]
        except ValueError:
            return [f"{year_words(year)}年{integer_words(month)}月{integer_words(day)}日"]
    if kind == "doc_year":  # a document number's year: 成公积金〔2026〕12号
        return [text[0] + year_words(match.group(1)) + text[-1]]
    if kind == "month":
        return [f"{year_words(match.group(1))}年{integer_words(int(match.group(2)))}月"]
    if kind == "year":
        return [f"{year_words(match.group(1))}年"]
    if kind == "clock":
        return [time_words(time(int(match.group(1)), int(match.group(2))))]
    if kind == "grouped":
        parts: list[Part] = []
        for index, group in enumerate(text.split("-")):
            if index and pause_ms:
                parts.append(Pause(pause_ms))
            parts.append(digits_words(group))
        return parts
    if kind == "commas":
        return [decimal_words(text)]
    if kind == "decimal":
        return [decimal_words(text)]
    if kind == "identifier":
        return digits_parts(text, pause_ms)
    # A count: cardinal, and 两 for a lone 2 before a measure word.
    number = int(text)
    if number == 2 and following.startswith(LIANG_CLASSIFIERS):
        return ["两"]
    return [integer_words(number)]


def speakable(
    text: str,
    *,
    masked_number: str = "尾号{tail}",
    url_word: str = "网站",
    pause_ms: int = 250,
) -> list[Part]:
    """Rewrite a response for the voice: numbers in words, no URLs, no emoji.

    Returns text pieces and :class:`Pause` marks; adjacent text is merged.
    ``masked_number`` and ``url_word`` come from ``flows/voice.yml``.
    """
    cleaned = "".join(char for char in unicodedata.normalize("NFC", text or "")
                      if not _is_unreadable(char))
    cleaned = _SPACES.sub(" ", cleaned).strip()
    parts: list[Part] = []
    position = 0
    for match in _MASTER.finditer(cleaned):
        if match.start() > position:
            parts.append(cleaned[position:match.start()])
        kind = match.lastgroup
        assert kind is not None
        parts.extend(
            _convert(kind, match.group(0), cleaned[match.end():], masked_number, url_word, pause_ms)
        )
        position = match.end()
    parts.append(cleaned[position:])
    return merge(parts)


def merge(parts: Iterable[Part]) -> list[Part]:
    """Join adjacent text pieces and drop empty ones."""
    merged: list[Part] = []
    for part in parts:
        if isinstance(part, str):
            if not part:
                continue
            if merged and isinstance(merged[-1], str):
                merged[-1] += part
                continue
        merged.append(part)
    return merged


def plain(parts: Iterable[Part], pause_mark: str = " ") -> str:
    """The parts as one string (for logs and the phone simulator)."""
    return "".join(part if isinstance(part, str) else pause_mark for part in parts).strip()
