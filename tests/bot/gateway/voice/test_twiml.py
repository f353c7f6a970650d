"""The one TwiML writer (bot/gateway/voice/twiml.py), asserted on the parsed XML.

Every attribute that matters to Twilio comes from flows/voice.yml and the
transfer target; the documents are parsed and checked with XPath, never
compared as strings.
"""
from __future__ import annotations

from dataclasses import replace

import pytest
from lxml import etree

from bot.flows.voice import VoiceFlow, voice_flow
from bot.gateway.voice.readout import Pause
from bot.gateway.voice.twiml import (
    DIAL_TIMEOUT_SECONDS,
    KEY_MODES,
    KEYPAD_MODES,
    MODE_BUTTONS,
    MODE_ENDED,
    MODE_FREE,
    MODE_IDLE,
    MODE_MENU,
    MODE_TRANSFER,
    Twiml,
    check_transfer_target,
)

SIP = "sip:agents@pbx.invalid"


def parse(xml: str) -> etree._Element:
    return etree.fromstring(xml.encode("utf-8"))


@pytest.fixture(scope="module")
def flow() -> VoiceFlow:
    return voice_flow()


@pytest.fixture(scope="module")
def twiml(flow: VoiceFlow) -> Twiml:
    return Twiml(flow, SIP)


def listen(twiml: Twiml, mode: str, parts=("请选择",)) -> etree._Element:  # type: ignore[no-untyped-def]
    return parse(twiml.listen(list(parts), mode=mode, action="turn?t=4", no_input_url="noinput?t=4"))


# ------------------------------------------------------------------ listen


@pytest.mark.parametrize("mode", sorted(KEY_MODES | {MODE_FREE}))
def test_prompts_listen_for_keys_and_mandarin_speech_at_once(twiml: Twiml, flow: VoiceFlow,
                                                             mode: str) -> None:
    doc = listen(twiml, mode)
    gather = doc.xpath("/Response/Gather")[0]
    assert gather.get("input") == "dtmf speech"
    assert gather.get("language") == flow.recognition.language == "cmn-Hans-CN"
    assert gather.get("speechTimeout") == flow.recognition.speech_timeout
    assert gather.get("profanityFilter") == "false"
    assert gather.get("bargeIn") == "true"
    assert gather.get("hints").split(", ") == list(flow.recognition.hints)
    assert gather.get("speechModel") is None  # flows/ leaves the model to Twilio
    assert gather.get("action") == "turn?t=4" and gather.get("method") == "POST"


@pytest.mark.parametrize(
    ("mode", "num_digits", "finish_on_key", "timeout"),
    [
        (MODE_MENU, "1", "", "6"),
        (MODE_IDLE, "1", "", "8"),
        (MODE_BUTTONS, "1", "", "8"),
        (MODE_FREE, None, "#", "8"),
    ],
)
def test_single_keys_at_menus_digits_and_hash_for_answers(
        twiml: Twiml, mode: str, num_digits: str | None, finish_on_key: str, timeout: str) -> None:
    gather = listen(twiml, mode).xpath("/Response/Gather")[0]
    assert gather.get("numDigits") == num_digits
    assert gather.get("finishOnKey") == finish_on_key
    assert gather.get("timeout") == timeout


@pytest.mark.parametrize("mode", sorted(KEYPAD_MODES))
def test_the_secure_step_and_number_entry_are_keypad_only(twiml: Twiml, mode: str) -> None:
    gather = listen(twiml, mode).xpath("/Response/Gather")[0]
    assert gather.get("input") == "dtmf"
    assert gather.get("finishOnKey") == "#"
    assert gather.get("timeout") == "10"
    # Nothing of speech recognition: what is keyed here is never transcribed.
    for attribute in ("language", "hints", "speechTimeout", "bargeIn", "numDigits"):
        assert gather.get(attribute) is None


def test_the_prompt_is_said_inside_the_gather_with_the_flows_voice(twiml: Twiml) -> None:
    doc = listen(twiml, MODE_MENU, parts=["查询余额", "请按1"])
    says = doc.xpath("/Response/Gather/Say")
    assert len(says) == 1  # adjacent texts are one <Say>: the library keeps only the last
    assert says[0].get("voice") == "Polly.Zhiyu-Neural"
    assert says[0].get("language") == "cmn-CN"
    assert says[0].text == "查询余额请按1"
    assert not doc.xpath("/Response/Say")  # barge-in: nothing is said outside the Gather


def test_pauses_between_digit_groups_are_ssml_breaks(twiml: Twiml) -> None:
    doc = listen(twiml, MODE_IDLE, parts=["尾号", "幺零二零", Pause(250), "三零四零"])
    say = doc.xpath("//Gather/Say")[0]
    assert say.xpath("break/@time") == ["250ms"]
    assert "".join(say.itertext()) == "尾号幺零二零三零四零"


def test_silence_leads_to_the_no_input_webhook(twiml: Twiml) -> None:
    doc = listen(twiml, MODE_MENU)
    assert doc.xpath("/Response/*[last()]")[0].tag == "Redirect"
    assert doc.xpath("string(/Response/Redirect)") == "noinput?t=4"
    assert doc.xpath("/Response/Redirect/@method") == ["POST"]


def test_an_empty_prompt_says_nothing_but_still_listens(twiml: Twiml) -> None:
    doc = listen(twiml, MODE_IDLE, parts=["", Pause(250)])
    assert not doc.xpath("//Say")
    assert doc.xpath("/Response/Gather")


def test_a_speech_model_from_flows_is_passed_on(flow: VoiceFlow) -> None:
    recognition = replace(flow.recognition, speech_model="phone_call", speech_timeout="3")
    doc = listen(Twiml(replace(flow, recognition=recognition), SIP), MODE_FREE)
    gather = doc.xpath("/Response/Gather")[0]
    assert gather.get("speechModel") == "phone_call"
    assert gather.get("speechTimeout") == "3"


def test_barge_in_follows_flows(flow: VoiceFlow) -> None:
    quiet = replace(flow, listen=replace(flow.listen, barge_in=False))
    gather = listen(Twiml(quiet, SIP), MODE_MENU).xpath("/Response/Gather")[0]
    assert gather.get("bargeIn") == "false"


@pytest.mark.parametrize("mode", [MODE_TRANSFER, MODE_ENDED, "nonsense"])
def test_there_is_no_listening_in_modes_that_do_not_listen(twiml: Twiml, mode: str) -> None:
    with pytest.raises(ValueError, match="cannot listen"):
        twiml.listen(["x"], mode=mode, action="turn?t=1", no_input_url="noinput?t=1")


# ------------------------------------------------------------------ transfer, end, wait


def test_transfer_says_then_dials_the_sip_target(twiml: Twiml) -> None:
    doc = parse(twiml.transfer(["正在为您转接"], action="dial?t=7"))
    assert [child.tag for child in doc] == ["Say", "Dial"]
    dial = doc.xpath("/Response/Dial")[0]
    assert dial.get("action") == "dial?t=7" and dial.get("method") == "POST"
    assert dial.get("timeout") == str(DIAL_TIMEOUT_SECONDS)
    assert dial.xpath("string(Sip)") == SIP
    assert not dial.xpath("Number")


def test_transfer_to_a_phone_number(flow: VoiceFlow) -> None:
    doc = parse(Twiml(flow, "+862886279298").transfer([], action="dial?t=2"))
    assert doc.xpath("string(/Response/Dial/Number)") == "+862886279298"
    assert not doc.xpath("//Sip") and not doc.xpath("//Say")


def test_end_says_then_hangs_up(twiml: Twiml) -> None:
    doc = parse(twiml.end(["感谢您的来电，再见。"]))
    assert [child.tag for child in doc] == ["Say", "Hangup"]
    assert doc.xpath("string(/Response/Say)") == "感谢您的来电，再见。"


def test_wait_pauses_and_comes_back_to_the_same_turn(twiml: Twiml) -> None:
    doc = parse(twiml.wait(["正在为您办理，请稍候。"], "turn?t=3", seconds=2))
    assert [child.tag for child in doc] == ["Say", "Pause", "Redirect"]
    assert doc.xpath("/Response/Pause/@length") == ["2"]
    assert doc.xpath("string(/Response/Redirect)") == "turn?t=3"


def test_the_status_answer_is_an_empty_response() -> None:
    doc = parse(Twiml.empty())
    assert doc.tag == "Response" and len(doc) == 0


# ------------------------------------------------------------------ the transfer target


@pytest.mark.parametrize("target", [SIP, "sips:queue@pbx.example.cn", "+862886279298"])
def test_usable_transfer_targets(target: str) -> None:
    assert check_transfer_target(target) == target


@pytest.mark.parametrize("target", ["", "call the boss", "028-86279298", "86279298",
                                    "+0123456", "sip:agents", "sip:a b@pbx", "tel:+862886279298"])
def test_unusable_transfer_targets_name_the_setting(flow: VoiceFlow, target: str) -> None:
    with pytest.raises(ValueError, match="AGENT_TRANSFER_TARGET"):
        Twiml(flow, target)
