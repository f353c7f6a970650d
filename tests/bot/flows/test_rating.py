"""flows/rating.yml: the satisfaction scale, and what a caller says mapped to a score."""
from __future__ import annotations

import pytest

from bot.flows.rating import match_rating, rating_scale


def test_shipped_scale_is_valid() -> None:
    assert len(rating_scale().levels) == 5


@pytest.mark.parametrize("said, score", [("非常不满意", 1), ("不满意", 2), ("满意", 4), ("1", 5), ("嗯", None)])
def test_rating_words(said, score):  # type: ignore[no-untyped-def]
    assert match_rating(said) == score
