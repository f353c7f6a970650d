"""Geometry of the overview's charts, drawn as inline SVG by ``desk/_charts.html``.

No chart library and no script: the figures are few, and SVG made on the
server works under a ``'self'``-only CSP, prints, and scales. Functions here
return plain dicts of numbers; labels (Chinese) are supplied by the templates.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

CHANNEL_COLORS = {
    "voice": "#1f6fb2",
    "webchat": "#2e9d6a",
    "rest": "#d08a1e",
    "other": "#8a8f98",
}
STATUS_COLORS = {"accepted": "#d08a1e", "in_progress": "#1f6fb2", "closed": "#2e9d6a"}
RATING_COLORS = {5: "#2e9d6a", 4: "#7cbf5a", 3: "#c9b23c", 2: "#e08a3c", 1: "#c8463d"}
BAR_COLOR = "#1f6fb2"


def nice_ticks(maximum: float, count: int = 4) -> list[int]:
    """Round axis ticks from 0 covering ``maximum`` (steps of 1, 2 or 5 × 10ⁿ)."""
    if maximum <= 0:
        return [0, 1]
    raw_step = maximum / count
    magnitude = 10 ** math.floor(math.log10(raw_step)) if raw_step >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw_step)
    step = max(int(step), 1)
    top = step * math.ceil(maximum / step)
    return list(range(0, top + 1, step))


def stacked_columns(
    days: Sequence[date],
    values: Mapping[date, Mapping[str, int]],
    series: Sequence[str],
    *,
    width: int = 1100,
    height: int = 280,
) -> dict[str, Any]:
    """One column per day, stacked by series (channel), with a y axis."""
    left, right, top, bottom = 40, 10, 12, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(values.get(day, {}).get(name, 0) for name in series) for day in days]
    ticks = nice_ticks(max(totals, default=0))
    scale = plot_h / ticks[-1]
    slot = plot_w / max(len(days), 1)
    bar_w = max(min(slot * 0.7, 36), 2)
    label_every = max(1, math.ceil(len(days) / 12))
    columns = []
    for index, day in enumerate(days):
        x = left + index * slot + (slot - bar_w) / 2
        y = top + plot_h
        parts = []
        for name in series:
            value = values.get(day, {}).get(name, 0)
            if not value:
                continue
            h = value * scale
            y -= h
            parts.append({"series": name, "value": value, "x": round(x, 1), "y": round(y, 1),
                          "w": round(bar_w, 1), "h": round(h, 1),
                          "color": CHANNEL_COLORS.get(name, BAR_COLOR)})
        columns.append({
            "day": day,
            "total": totals[index],
            "parts": parts,
            "label": day.strftime("%m-%d") if index % label_every == 0 else "",
            "label_x": round(left + index * slot + slot / 2, 1),
        })
    return {
        "width": width,
        "height": height,
        "left": left,
        "plot_right": width - right,
        "base_y": top + plot_h,
        "label_y": top + plot_h + 18,
        "ticks": [{"value": t, "y": round(top + plot_h - t * scale, 1)} for t in ticks],
        "columns": columns,
        "series": [{"name": name, "color": CHANNEL_COLORS.get(name, BAR_COLOR)} for name in series],
        "empty": not any(totals),
    }


def horizontal_bars(
    items: Sequence[tuple[str, int]],
    *,
    colors: Mapping[Any, str] | None = None,
    width: int = 340,
    row: int = 26,
    label_width: int = 120,
) -> dict[str, Any]:
    """One bar per (key, value); keys are codes the template turns into labels."""
    value_space = 44
    plot_w = width - label_width - value_space
    maximum = max((value for _key, value in items), default=0)
    total = sum(value for _key, value in items)
    bars = []
    for index, (key, value) in enumerate(items):
        w = plot_w * value / maximum if maximum else 0
        bars.append({
            "key": key,
            "value": value,
            "share": value / total if total else 0.0,
            "y": index * row + 4,
            "text_y": index * row + row / 2 + 5,
            "x": label_width,
            "w": round(max(w, 1 if value else 0), 1),
            "h": row - 8,
            "value_x": round(label_width + w + 6, 1),
            "color": (colors or {}).get(key, BAR_COLOR),
        })
    return {"width": width, "height": max(len(items), 1) * row + 4, "label_x": label_width - 8,
            "bars": bars, "empty": total == 0}


def meter(share: float | None, *, width: int = 220) -> dict[str, Any]:
    """A thin horizontal gauge for a proportion (None: no data)."""
    if share is None:
        return {"width": width, "fill": 0, "percent": None}
    share = min(max(share, 0.0), 1.0)
    return {"width": width, "fill": round(width * share, 1), "percent": round(share * 100, 1)}
