"""SVG geometry of the overview charts."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.gateway.desk import charts


@pytest.mark.parametrize(
    ("maximum", "expected"),
    [
        (0, [0, 1]),
        (1, [0, 1]),
        (3, [0, 1, 2, 3]),
        (7, [0, 2, 4, 6, 8]),
        (10, [0, 5, 10]),
        (38, [0, 10, 20, 30, 40]),
        (1234, [0, 500, 1000, 1500]),
    ],
)
def test_nice_ticks(maximum: int, expected: list[int]) -> None:
    assert charts.nice_ticks(maximum) == expected


def test_stacked_columns_stack_and_scale() -> None:
    days = [date(2026, 11, 1) + timedelta(days=i) for i in range(3)]
    values = {days[0]: {"voice": 2, "webchat": 2}, days[2]: {"webchat": 1}}
    chart = charts.stacked_columns(days, values, ["voice", "webchat", "rest"], width=300,
                                   height=200)
    assert [c["total"] for c in chart["columns"]] == [4, 0, 1]
    assert chart["ticks"][-1]["value"] == 4
    first = chart["columns"][0]["parts"]
    assert [p["series"] for p in first] == ["voice", "webchat"]
    # The two parts of day 1 fill the plot exactly, stacked bottom to top.
    assert first[0]["y"] + first[0]["h"] == pytest.approx(chart["base_y"])
    assert first[1]["y"] + first[1]["h"] == pytest.approx(first[0]["y"])
    assert first[1]["y"] == pytest.approx(chart["ticks"][-1]["y"])
    assert chart["columns"][1]["parts"] == []
    assert not chart["empty"]
    assert all(0 <= c["label_x"] <= 300 for c in chart["columns"])


def test_stacked_columns_label_at_most_about_twelve_days() -> None:
    days = [date(2026, 8, 1) + timedelta(days=i) for i in range(92)]
    chart = charts.stacked_columns(days, {}, ["voice"])
    assert chart["empty"]
    assert sum(1 for c in chart["columns"] if c["label"]) <= 12


def test_horizontal_bars_are_proportional() -> None:
    chart = charts.horizontal_bars([("a", 10), ("b", 5), ("c", 0)], width=300, label_width=100)
    a, b, c = chart["bars"]
    assert a["w"] == pytest.approx(2 * b["w"])
    assert c["w"] == 0
    assert a["share"] == pytest.approx(10 / 15)
    assert not chart["empty"]
    assert charts.horizontal_bars([("a", 0)])["empty"]


@pytest.mark.parametrize(("share", "percent"), [(None, None), (0.0, 0.0), (0.123, 12.3),
                                                (1.5, 100.0), (-1, 0.0)])
def test_meter(share, percent) -> None:
    assert charts.meter(share)["percent"] == percent
