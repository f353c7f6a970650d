"""flows/menu.yml: the shared menus load, validate, and fail with the file and the fault named."""
from __future__ import annotations

import pytest

from bot.flows.loader import FlowsError
from bot.flows.menus import menus


def test_shipped_menus_are_valid() -> None:
    main = menus()["main"]
    assert main.item("0").handover and main.item("3").submenu == "policy"
    assert main.item("x") is None


@pytest.mark.parametrize(
    "text, fault",
    [
        ("menus: {}", "'main' menu"),
        ("menus:\n  main:\n    items:\n      - {key: '1', label: a, speech: b}", "exactly one of"),
        ("menus:\n  main:\n    items:\n      - {key: '*', label: a, speech: b, intent: greet}", "reserved"),
        ("menus:\n  main:\n    items:\n      - {key: '1', label: a, speech: b, submenu: nope}", "unknown submenu"),
        ("menus:\n  main:\n    items:\n      - {key: '0', label: a, speech: b, intent: greet}", "key 0"),
        ("menus: [", "not valid YAML"),
    ],
)
def test_broken_menu_names_file_and_fault(flows_file, text, fault):  # type: ignore[no-untyped-def]
    flows_dir = flows_file("menu.yml", text)
    with pytest.raises(FlowsError) as error:
        menus(flows_dir)
    assert "menu.yml" in str(error.value) and fault in str(error.value)
