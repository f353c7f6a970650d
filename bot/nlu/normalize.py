"""Pure text normalisation for Chinese input, shared by the NLU pipeline and tests.

Speech recognition writes numbers the way people say them ("五幺零幺零四…",
"幺三八 幺二三四 五六七八"); typed chat uses full-width digits and spaces. Entity
patterns expect plain ASCII digits, so both are rewritten before tokenisation.
The digit conversion itself is cn2an's; this module only decides *which* spans
are spoken number strings, so that ordinary words such as "一下" or "一次" stay
untouched.

Speech recognition also hands over what a caller hesitates with ("喂 喂 那个 嗯
我想问下…") and mishears the fund's own words as homophones ("工基金", "体取").
Leading fillers are dropped (unless they are the whole message: "喂" alone is a
greeting), stammered repeats are collapsed, and a short, reviewed table of
homophones of fund terms is corrected, so the classifier sees the request itself.
"""
from __future__ import annotations

import re
import unicodedata

import cn2an

# Characters a Mandarin speaker uses for single digits when reading a number
# aloud digit by digit ("幺" is the spoken 1, "洞" the radio-style 0).
_SPOKEN_DIGIT = "零〇一二三四五六七八九幺洞"
# A run of at least four spoken digits, optionally separated by spaces or dashes,
# optionally followed by the ID-card check letter X.
_SPOKEN_RUN = re.compile(
    rf"[{_SPOKEN_DIGIT}](?:[\s\-]*[{_SPOKEN_DIGIT}]){{3,}}(?:[\s\-]*[Xx叉])?"
)
# ASCII digits in groups separated by single spaces or dashes, as people type
# phone and card numbers ("138 1234 5678", "6217-0038-…").
_GROUPED_DIGITS = re.compile(r"(?<![\d])\d{2,}(?:[ \-]\d{2,}){1,5}(?![\d])")
_RADIO = str.maketrans({"洞": "零", "叉": "X", "x": "X"})

MAX_GROUPED_DIGITS = 19  # the longest identifier we accept (joint-card number)


def _convert_spoken_run(match: re.Match[str]) -> str:
    raw = re.sub(r"[\s\-]", "", match.group(0)).translate(_RADIO)
    check_letter = raw.endswith("X")
    digits = raw[:-1] if check_letter else raw
    # Digit by digit: converting the whole run at once would drop leading zeros
    # ("零二八…" is a landline, not the number 28…).
    text = "".join(str(cn2an.cn2an(ch, "normal")) for ch in digits)
    return text + ("X" if check_letter else "")


def _join_grouped(match: re.Match[str]) -> str:
    joined = re.sub(r"[ \-]", "", match.group(0))
    if len(joined) > MAX_GROUPED_DIGITS:
        return match.group(0)
    return joined


# Hesitation words a caller opens with before the request; dropped only at the
# start of a message and only when something else follows.
_LEADING_FILLERS = re.compile(
    r"^(?:(?:(?:喂|嗯|呃|额|哦|噢|唉|哎|啊)[\s,，、。.…~～!！]*)"
    r"|(?:(?:那个|这个|就是说|然后呢|然后)(?:[\s,，、。.…~～!！]+|(?=喂|嗯|呃|额|那个|这个))))+"
)
# A pronoun or hesitation sound said three to six times ("我我我", "喂喂喂") -> once;
# other characters keep their repeats ("谢谢谢谢"), and so does a longer run, which is
# no stammer (a pasted wall of text must still be seen as over-long).
_STAMMER = re.compile(r"([我你他她喂嗯啊呃哦额就那这])\1{2,}")
MAX_STAMMER = 6
# Homophones that speech recognition writes for fund terms (reviewed by hand:
# none of them is a word a caller would mean here).
HOMOPHONES = {
    "公鸡金": "公积金",
    "工基金": "公积金",
    "公基金": "公积金",
    "功积金": "公积金",
    "公积经": "公积金",
    "工积金": "公积金",
    "体取": "提取",
    "提曲": "提取",
    "题取": "提取",
    "带款": "贷款",
    "代款": "贷款",
    "还代": "还贷",
    "鱼额": "余额",
    "于额": "余额",
    "投素": "投诉",
    "头诉": "投诉",
    "联明卡": "联名卡",
    "连名卡": "联名卡",
}
_HOMOPHONE_RE = re.compile("|".join(sorted(map(re.escape, HOMOPHONES), key=len, reverse=True)))


def strip_fillers(text: str) -> str:
    """Drop leading hesitation words and stammered repeats; keep a filler-only message.

    >>> strip_fillers("喂 喂 那个 我想问下提取")
    '我想问下提取'
    >>> strip_fillers("喂喂喂")
    '喂'
    """
    collapsed = _STAMMER.sub(
        lambda m: m.group(1) if len(m.group(0)) <= MAX_STAMMER else m.group(0), text
    )
    stripped = _LEADING_FILLERS.sub("", collapsed).strip()
    return stripped or collapsed.strip()


def correct_homophones(text: str) -> str:
    """Replace speech-recognition homophones of fund terms ("工基金" -> "公积金")."""
    return _HOMOPHONE_RE.sub(lambda match: HOMOPHONES[match.group(0)], text)


def normalize_text(text: str) -> str:
    """Return ``text`` with full-width characters folded and numbers in ASCII digits.

    >>> normalize_text("我的电话是幺三八 幺二三四 五六七八")
    '我的电话是13812345678'
    >>> normalize_text("我想查一下余额")
    '我想查一下余额'
    """
    if not text:
        return text
    folded = unicodedata.normalize("NFKC", text)
    folded = _SPOKEN_RUN.sub(_convert_spoken_run, folded)
    folded = _GROUPED_DIGITS.sub(_join_grouped, folded)
    return correct_homophones(strip_fillers(folded))


_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_MEANINGFUL = re.compile(r"[\w\u3400-\u9fff]")


def classify_unusable(text: str | None, max_length: int) -> str | None:
    """Say why a message cannot be understood as Chinese, or ``None`` if it can.

    Returns one of ``"empty"``, ``"too_long"``, ``"no_chinese"`` (English or
    other Latin text without Chinese), ``"symbols_only"`` (emoji, punctuation).
    Messages with digits only are usable: they answer a question for a number.
    """
    stripped = (text or "").strip()
    if not stripped:
        return "empty"
    if len(stripped) > max_length:
        return "too_long"
    if _CJK.search(stripped):
        return None
    if not _MEANINGFUL.search(stripped):
        return "symbols_only"
    if _LATIN_WORD.search(stripped) and not re.fullmatch(r"(?i)\s*ts\d{10}\s*", stripped):
        return "no_chinese"
    return None
