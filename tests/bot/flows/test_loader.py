"""The shared loader of flows/: every fault names the file (and the entry) at fault."""
from __future__ import annotations

import pytest

from bot.flows.loader import FLOWS_DIR, FlowsError, load_yaml, require, unique


def test_flows_dir_is_the_projects_flows_directory() -> None:
    assert FLOWS_DIR.name == "flows"
    assert (FLOWS_DIR / "menu.yml").is_file()


def test_a_file_loads_as_its_top_level_mapping(flows_file) -> None:  # type: ignore[no-untyped-def]
    flows_dir = flows_file("x.yml", "a: 1\nb: [two]")
    assert load_yaml("x.yml", flows_dir) == {"a": 1, "b": ["two"]}


@pytest.mark.parametrize(
    ("text", "fault"),
    [
        ("a: [", "x.yml: not valid YAML"),
        ("- a\n- b", "x.yml: top level must be a mapping"),
        ("", "x.yml: top level must be a mapping"),
    ],
)
def test_bad_files_are_named_with_the_fault(flows_file, text: str, fault: str) -> None:  # type: ignore[no-untyped-def]
    flows_dir = flows_file("x.yml", text)
    with pytest.raises(FlowsError, match=fault):
        load_yaml("x.yml", flows_dir)


def test_a_missing_file_is_named(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FlowsError, match="nothing.yml: file not found"):
        load_yaml("nothing.yml", tmp_path)


@pytest.mark.parametrize("item", [{}, {"key": None}, {"key": ""}])
def test_require_names_the_missing_field(item: dict) -> None:
    with pytest.raises(FlowsError, match=r"menu.yml: items\[0\]: missing 'key'"):
        require(item, "key", "menu.yml: items[0]")


def test_require_keeps_falsy_values_that_are_given() -> None:
    assert require({"score": 0}, "score", "here") == 0


def test_unique_names_the_duplicates() -> None:
    unique(["a", "b"], "key", "here")
    with pytest.raises(FlowsError, match=r"here: duplicate key: \['a'\]"):
        unique(["a", "b", "a"], "key", "here")
