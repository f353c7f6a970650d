"""Which placeholders of a response would render empty: the rule behind the NLG's refusal.

A response such as ``"类别：{complaint_category}"`` is filled from the slots and
the values an action passes. When one of them is missing or empty, Rasa 3.6
prints ``None`` (or leaves ``{complaint_category}`` as it is); no depositor may
ever read or hear that. :func:`empty_placeholders` names the placeholders that
would render so; :class:`bot.channels.nlg.SlotCheckingGenerator` refuses such a
response for every channel.

Standard library only: the Rasa environment loads it inside the NLG, the tests
read ``domain/responses.yml`` with it in the application environment.
"""
from __future__ import annotations

import re
from typing import Any, Iterator, Mapping

PLACEHOLDER = re.compile(r"{([^\n{}]+?)}")
"""The placeholder pattern Rasa 3.6's interpolator fills (``rasa.core.nlg.interpolator``)."""

INTERPOLATED_KEYS = ("text", "image", "custom", "buttons", "attachment", "quick_replies")
"""The parts of a response that Rasa fills (``TemplatedNaturalLanguageGenerator``)."""

EMPTY_RENDERINGS = frozenset({"", "none", "null", "[]", "{}"})
"""What a value must not look like once rendered (compared stripped, case-insensitively)."""


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def placeholders(response: Mapping[str, Any]) -> set[str]:
    """The names of every ``{placeholder}`` in the parts of ``response`` Rasa fills."""
    names: set[str] = set()
    for key in INTERPOLATED_KEYS:
        for text in _strings(response.get(key)):
            names.update(match.strip() for match in PLACEHOLDER.findall(text))
    return names


def is_empty(value: Any) -> bool:
    """Whether ``value`` would show as nothing, ``None`` or the like in a reply."""
    if value is None:
        return True
    return str(value).strip().lower() in EMPTY_RENDERINGS


def empty_placeholders(response: Mapping[str, Any], values: Mapping[str, Any]) -> list[str]:
    """The placeholders of ``response`` that ``values`` (slots and action values) leave empty."""
    return sorted(name for name in placeholders(response) if is_empty(values.get(name)))
