"""flows/voice.yml: what the gateway checks at start, and the start refusing a broken file."""
from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.flows.loader import FLOWS_DIR, FlowsError
from bot.flows.voice import check_voice_flows, voice_flow


def test_the_shipped_voice_flow_is_valid() -> None:
    flow = check_voice_flows()
    assert flow.recognition.language == "cmn-Hans-CN"
    assert flow.tts_voice == "Polly.Zhiyu-Neural"
    assert flow.tts_language == "cmn-CN"
    assert "委托提取" in flow.recognition.hints
    assert "查询密码" in flow.recognition.hints
    assert all(len(hint) >= 2 for hint in flow.recognition.hints)
    assert len(flow.recognition.hints) <= 500
    assert flow.keys.repeat == "*" and flow.keys.person == "0"
    assert flow.responses.is_free_input("utter_ask_complaint_phone")
    assert not flow.responses.is_free_input("utter_greet")
    # The contact phone's last digits are keyed in, never said aloud.
    for name in ("utter_ask_ticket_phone_tail", "utter_invalid_phone_tail"):
        assert flow.responses.is_keypad_input(name) and not flow.responses.is_free_input(name)
    assert not flow.responses.is_keypad_input("utter_ask_complaint_phone")
    assert "utter_goodbye" in flow.responses.end_call
    policy = flow.policy_answer
    assert (policy.sms_key, policy.materials_key, policy.materials_per_prompt) == ("1", "2", 3)
    assert policy.prompt("offer_sms", key="1") == "完整内容需要发短信给您吗？需要请按1。"


def _copy_flows(tmp_path: Path) -> Path:
    target = tmp_path / "flows"
    shutil.copytree(FLOWS_DIR, target)
    return target


def _edit(flows: Path, change: Callable[[dict[str, Any]], None], name: str = "voice.yml") -> None:
    path = flows / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = data
        for key in parents:
            node = node[key]
        if value is KeyError:
            del node[last]
        else:
            node[last] = value
    return change


@pytest.mark.parametrize(
    ("change", "fault"),
    [
        (_set("voice.recognition.language", "en-US"), "not a Mandarin tag"),
        (_set("voice.recognition.language", KeyError), "'language' must be a non-empty text"),
        (_set("voice.recognition.speech_timeout", "forever"), "speech_timeout"),
        (_set("voice.recognition.speech_model", "phone_call"), "cannot be used with a speech_model"),
        (_set("voice.recognition.hints.vocabulary", "no/such/file.txt"), "cannot be read"),
        (_set("voice.recognition.hints.extra", ["a" * 101]), "at most 100 characters"),
        (_set("voice.recognition.hints.extra", [f"词{i}" for i in range(600)]), "at most 500"),
        (_set("voice.tts.voice", "Zhiyu"), "not a Twilio voice name"),
        (_set("voice.tts.language", "en-GB"), "not Mandarin"),
        (_set("voice.listen.menu_timeout", 0), "menu_timeout"),
        (_set("voice.listen.barge_in", "yes"), "barge_in"),
        (_set("voice.keys.repeat", "0"), "three different keys"),
        (_set("voice.keys.main_menu", "##"), "one key"),
        (_set("voice.no_input.reprompts", -1), "reprompts"),
        (_set("voice.no_match.prompt", ""), "'prompt' must be a non-empty text"),
        (_set("voice.prompts.greeting", KeyError), "'greeting' must be a non-empty text"),
        (_set("voice.prompts.after_hours", "时间为{hour}"), "unknown placeholder ['hour']"),
        (_set("voice.prompts.button_choice", "{label}"), "must contain ['{key}']"),
        (_set("voice.prompts.transfer", "转接{"), "malformed placeholder"),
        (_set("voice.prompts.surprise", "多余"), "unknown prompt ['surprise']"),
        (_set("voice.secure.password_prompt", KeyError), "'password_prompt'"),
        (_set("voice.secure.max_failures_per_call", 0), "max_failures_per_call"),
        (_set("voice.readout.masked_number", "尾号"), "must contain ['{tail}']"),
        (_set("voice.responses.end_call", []), "'end_call' must name at least one response"),
        (_set("voice.responses.free_input", ["Not A Name"]), "list of response names"),
        (_set("voice.responses.keypad_input", "utter_ask_ticket_phone_tail"), "list of response names"),
        (_set("voice.sms.complaint_ticket", "{ticket}"), "unknown placeholder ['ticket']"),
        (_set("voice", "not a mapping"), "needs a 'voice' mapping"),
        (_set("voice.policy_answer", KeyError), "'voice.policy_answer' must be a mapping"),
        (_set("voice.policy_answer.sms_key", "*"), "'sms_key' '*' is voice.keys.repeat"),
        (_set("voice.policy_answer.materials_key", "#"), "'materials_key' '#' is voice.keys.main_menu"),
        (_set("voice.policy_answer.materials_key", "1"), "two different keys"),
        (_set("voice.policy_answer.sms_key", "12"), "one key"),
        (_set("voice.policy_answer.materials_per_prompt", 0), "materials_per_prompt"),
        (_set("voice.policy_answer.prompts.offer_sms", "需要发短信吗？"), "must contain ['{key}']"),
        (_set("voice.policy_answer.prompts.sms_sent", "已发送到{number}"), "unknown placeholder ['number']"),
        (_set("voice.policy_answer.prompts.ask_number", KeyError), "'ask_number' must be a non-empty text"),
        (_set("voice.policy_answer.prompts.surprise", "多余"), "unknown prompt ['surprise']"),
    ],
)
def test_a_broken_voice_flow_names_the_file_and_the_fault(tmp_path: Path, change, fault: str) -> None:
    flows = _copy_flows(tmp_path)
    _edit(flows, change)
    with pytest.raises(FlowsError) as error:
        check_voice_flows(flows)
    assert str(flows / "voice.yml") in str(error.value)
    assert fault in str(error.value)


def test_menus_may_not_use_the_phones_reserved_keys(tmp_path: Path) -> None:
    flows = _copy_flows(tmp_path)
    _edit(flows, _set("voice.keys.main_menu", "9"))
    with pytest.raises(FlowsError, match=r"menu\.yml: menus\.policy key 9: reserved on the phone"):
        check_voice_flows(flows)


def test_invalid_yaml_is_reported_with_the_file(tmp_path: Path) -> None:
    flows = _copy_flows(tmp_path)
    (flows / "voice.yml").write_text("voice: [unclosed", encoding="utf-8")
    with pytest.raises(FlowsError, match="voice.yml: not valid YAML"):
        voice_flow(flows)


def test_the_gateway_does_not_start_with_a_broken_flow(tmp_path: Path) -> None:
    from bot.gateway import create_app

    flows = _copy_flows(tmp_path)
    _edit(flows, _set("voice.tts.voice", "Robot"))
    with pytest.raises(FlowsError, match="voice.yml: voice.tts: voice 'Robot'"):
        create_app({"VOICE_FLOWS_DIR": str(flows), "TESTING": True})


def test_the_gateway_does_not_start_with_an_unusable_transfer_target(tmp_path: Path) -> None:
    from bot.gateway import create_app

    flows = _copy_flows(tmp_path)
    _edit(flows, _set("agents.transfer_target", "call the boss"), name="agents.yml")
    with pytest.raises(FlowsError, match="agents.yml: agents.transfer_target"):
        create_app({"VOICE_FLOWS_DIR": str(flows), "TESTING": True})
