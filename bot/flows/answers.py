"""Loader and reader of ``flows/answers.yml``: what callers say inside a form
besides the value asked for (confirming or correcting a read-back, leaving).

:func:`read_answer` is pure: it finds the file's words in the normalised text of
one answer and says what the answer means, so that the form validators decide
by the caller's own words and not by the intent the classifier preferred.
A module of :mod:`bot.flows` like :mod:`bot.flows.voice`: only the action server
reads this file. Loader errors name the file and the fault (:class:`FlowsError`).
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.flows.loader import FLOWS_DIR, FlowsError, load_yaml
from bot.nlu.normalize import normalize_text

FILE = "answers.yml"
# The lists of `answers:`, in the order that decides between two overlapping
# words of the same length ("不是的": "不是" before "是的").
KINDS = ("stop", "everything", "change", "keep", "confirm", "around")
ITEM = "item"

# Whitespace and punctuation are no part of what was said ("对，对的。" = "对对的").
_NOT_SAID = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class FormAnswers:
    """The word lists of ``flows/answers.yml``."""

    words: dict[str, tuple[str, ...]]
    items: dict[str, dict[str, tuple[str, ...]]]  # form -> slot -> what callers call it

    def vocabulary(self, form: str | None) -> list[tuple[str, str, str | None]]:
        """``(word, kind, slot)`` for the answers and the items of ``form``,
        longest words first, ties in the order of :data:`KINDS` (items last)."""
        entries = [(word, kind, None) for kind in KINDS for word in self.words[kind]]
        entries += [
            (word, ITEM, slot) for slot, words in self.items.get(form or "", {}).items() for word in words
        ]
        order = {kind: rank for rank, kind in enumerate((*KINDS, ITEM))}
        return sorted(entries, key=lambda entry: (-len(entry[0]), order[entry[1]]))


@dataclass(frozen=True)
class Answer:
    """What one answer means.

    ``kinds`` are the lists whose words were found (``around`` left out),
    ``items`` the slots the answer names in the form's order, and ``complete``
    says that every part of the answer is a known word.
    """

    kinds: frozenset[str] = frozenset()
    items: tuple[str, ...] = ()
    complete: bool = False

    @property
    def stop(self) -> bool:
        """The caller leaves the form: stop words and nothing the form could use."""
        return "stop" in self.kinds and self.complete

    @property
    def everything(self) -> bool:
        return "everything" in self.kinds

    @property
    def change(self) -> bool:
        """Something is wrong (a change outweighs a confirmation: "对，电话改一下")."""
        return bool(self.kinds & {"change", "everything"})

    @property
    def keep(self) -> bool:
        return "keep" in self.kinds

    @property
    def confirm(self) -> bool:
        return "confirm" in self.kinds and not self.change


def _word_list(raw: Any, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw:
        raise FlowsError(f"{where}: must be a non-empty list of words")
    words = tuple(str(word).strip().lower() for word in raw)
    if not all(words):
        raise FlowsError(f"{where}: empty word")
    return words


def _check_unique(lists: dict[str, tuple[str, ...]], where: str) -> None:
    owner: dict[str, str] = {}
    for name, words in lists.items():
        for word in words:
            if word in owner:
                raise FlowsError(f"{where}: '{word}' is in both {owner[word]} and {name}")
            owner[word] = name


@functools.lru_cache(maxsize=None)
def form_answers(flows_dir: Path = FLOWS_DIR) -> FormAnswers:
    """The word lists of ``flows/answers.yml``, validated."""
    where = str(flows_dir / FILE)
    raw = load_yaml(FILE, flows_dir)
    answers = raw.get("answers")
    if not isinstance(answers, dict):
        raise FlowsError(f"{where}: 'answers' must be a mapping")
    unknown = sorted(set(answers) - set(KINDS))
    if unknown:
        raise FlowsError(f"{where}: unknown list(s) under 'answers': {unknown}")
    words = {kind: _word_list(answers.get(kind), f"{where}: answers.{kind}") for kind in KINDS}
    _check_unique({f"answers.{kind}": ws for kind, ws in words.items()}, where)

    items: dict[str, dict[str, tuple[str, ...]]] = {}
    raw_items = raw.get("items") or {}
    if not isinstance(raw_items, dict):
        raise FlowsError(f"{where}: 'items' must map forms to their slots")
    for form, slots in raw_items.items():
        if not isinstance(slots, dict) or not slots:
            raise FlowsError(f"{where}: items.{form} must map slots to words")
        items[form] = {
            slot: _word_list(slot_words, f"{where}: items.{form}.{slot}")
            for slot, slot_words in slots.items()
        }
        _check_unique(
            {**{f"answers.{kind}": ws for kind, ws in words.items()},
             **{f"items.{form}.{slot}": ws for slot, ws in items[form].items()}},
            where,
        )
    return FormAnswers(words=words, items=items)


def read_answer(text: str | None, form: str | None = None,
                answers: FormAnswers | None = None) -> Answer:
    """Say what an answer means, from the words of ``flows/answers.yml``.

    Longer words are found first and a word inside a longer one does not count
    ("没问题" is no "问题"); one-character words count only when the rest of the
    answer is known words too ("对对对" confirms, "在银行" holds no "行").

    >>> read_answer("好吧 那就算了").stop
    True
    >>> read_answer("窗口说我的申请被取消了").stop
    False
    >>> read_answer("电话不对", "complaint_form").items
    ('complaint_phone',)
    """
    answers = answers or form_answers()
    said = _NOT_SAID.sub("", normalize_text(text or "").lower())
    vocabulary = answers.vocabulary(form)
    taken = [False] * len(said)
    found: list[tuple[str, str | None]] = []
    for word, kind, slot in vocabulary:
        if len(word) == 1:
            continue
        start = said.find(word)
        while start >= 0:
            end = start + len(word)
            if not any(taken[start:end]):
                taken[start:end] = [True] * len(word)
                found.append((kind, slot))
            start = said.find(word, start + 1)
    singles = {word: (kind, slot) for word, kind, slot in vocabulary if len(word) == 1}
    rest = [char for char, used in zip(said, taken) if not used]
    complete = bool(said) and all(char in singles for char in rest)
    if complete:
        found += [singles[char] for char in rest]
    named = {slot for kind, slot in found if kind == ITEM}
    order = list(answers.items.get(form or "", {}))
    return Answer(
        kinds=frozenset(kind for kind, _ in found if kind not in (ITEM, "around")),
        items=tuple(slot for slot in order if slot in named),
        complete=complete,
    )
