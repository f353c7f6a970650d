"""Fixtures of the flows/ loader tests: a directory holding one hand-written file."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def flows_file(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write ``text`` as ``tmp_path / name`` and return the directory (a flows dir)."""

    def write(name: str, text: str) -> Path:
        (tmp_path / name).write_text(text, encoding="utf-8")
        return tmp_path

    return write
