"""``flows/rating.yml``: the satisfaction scale and how a reply maps to a score."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from bot.flows.loader import FLOWS_DIR, FlowsError, load_yaml, require, unique


@dataclass(frozen=True)
class RatingLevel:
    score: int
    key: str
    label: str
    words: tuple[str, ...]


@dataclass(frozen=True)
class RatingScale:
    levels: tuple[RatingLevel, ...]
    skip_words: tuple[str, ...]


@functools.lru_cache(maxsize=None)
def rating_scale(flows_dir: Path = FLOWS_DIR) -> RatingScale:
    """The satisfaction scale of ``flows/rating.yml``."""
    where = str(flows_dir / "rating.yml")
    raw = load_yaml("rating.yml", flows_dir).get("rating")
    if not isinstance(raw, dict) or not isinstance(raw.get("scale"), list):
        raise FlowsError(f"{where}: 'rating.scale' must be a list")
    levels = []
    for index, item in enumerate(raw["scale"]):
        here = f"{where}: rating.scale[{index}]"
        score = require(item, "score", here)
        if not isinstance(score, int) or not 1 <= score <= 5:
            raise FlowsError(f"{here}: score must be an integer 1-5")
        levels.append(
            RatingLevel(
                score=score,
                key=str(require(item, "key", here)),
                label=str(require(item, "label", here)),
                words=tuple(str(w) for w in item.get("words") or ()),
            )
        )
    unique([str(level.score) for level in levels], "score", where)
    unique([level.key for level in levels], "key", where)
    return RatingScale(
        levels=tuple(levels),
        skip_words=tuple(str(w) for w in raw.get("skip_words") or ()),
    )


def match_rating(text: str, scale: RatingScale | None = None) -> int | str | None:
    """Return the score 1-5 for a reply, ``"skip"`` if the caller declines, else None.

    A bare digit is a menu key (``1`` = the best level), as on the phone keypad.
    """
    scale = scale or rating_scale()
    said = (text or "").strip()
    if not said:
        return None
    for level in scale.levels:
        if said == level.key or said == level.label:
            return level.score
    if any(word in said for word in scale.skip_words):
        return "skip"
    # Longest words first, so that "非常不满意" is not read as "满意".
    words = sorted(
        ((word, level.score) for level in scale.levels for word in level.words),
        key=lambda pair: -len(pair[0]),
    )
    for word, score in words:
        if word in said:
            return score
    return None
