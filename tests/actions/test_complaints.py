"""Complaint form validation (the read-back included), exactly-once submission, status look-up."""
from __future__ import annotations

import uuid

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions.complaints import (
    ActionAskComplaintCategory,
    ActionComplaintStatus,
    ActionSubmitComplaint,
    ValidateComplaintForm,
    ValidateComplaintStatusForm,
)
from bot.flows.answers import form_answers
from bot.records import complaints
from bot.records.db import session_scope
from bot.records.service_models import Complaint
from tests.actions.conftest import (
    DOMAIN,
    FORMS_DOMAIN,
    answer_tracker,
    make_tracker,
    responses,
    run_validation,
    user_event,
)

COMPLETE = {
    "complaint_category": "服务态度",
    "complaint_description": "今天上午在窗口办提取，工作人员很不耐烦还吼我",
    "complaint_location": "后子门一站式服务大厅",
    "complaint_staff_number": "none",
    "complaint_phone": "13812345678",
}
CONFIRMED = {**COMPLETE, "complaint_confirmation": "confirmed"}
READBACK = "complaint_confirmation"


def validate(slot: str, value):
    dispatcher = CollectingDispatcher()
    method = getattr(ValidateComplaintForm(), f"validate_{slot}")
    result = method(value, dispatcher, make_tracker(), DOMAIN)
    return result[slot], responses(dispatcher)


@pytest.mark.parametrize(
    "said, expected",
    [("服务态度", "服务态度"), ("1", "服务态度"), ("窗口的人态度太差了", "服务态度"),
     ("收红包", "违规违纪"), ("网站打不开", "渠道系统"), ("办事效率", "办事效率")],
)
def test_category_from_label_key_or_description(said, expected):
    assert validate("complaint_category", said) == (expected, [])


@pytest.mark.parametrize("said", ["嗯", "😀", "SELECT * FROM complaints", "x" * 300])
def test_unknown_category_is_asked_again(said):
    assert validate("complaint_category", said) == (None, ["utter_invalid_complaint_category"])


@pytest.mark.parametrize(
    "value, expected, said",
    [
        ("太差", None, ["utter_complaint_description_too_short"]),
        ("   ", None, ["utter_complaint_description_too_short"]),
        ("很" * 2001, None, ["utter_complaint_description_too_long"]),
        ("昨天下午打96319一直没人接", "昨天下午打96319一直没人接", []),
    ],
)
def test_description_length(value, expected, said):
    assert validate("complaint_description", value) == (expected, said)


@pytest.mark.parametrize(
    "value, expected",
    [("13812345678", "13812345678"), ("幺三八 幺二三四 五六七八", "13812345678"),
     ("028-86279298", "02886279298"), ("12345", None), ("我不想留", None),
     ("'; DROP TABLE complaints;--", None)],
)
def test_contact_phone(value, expected):
    result, said = validate("complaint_phone", value)
    assert result == expected
    assert said == ([] if expected else ["utter_invalid_phone"])


def test_staff_number_is_optional():
    assert validate("complaint_staff_number", "none") == ("none", [])
    assert validate("complaint_staff_number", "工号1024") == ("工号1024", [])


@pytest.mark.parametrize(
    ("said", "kept"),
    [("工号 1024", "工号1024"), ("A-1024。", "A-1024"), ("姓张的那个", "姓张的那个"),
     ("张师傅，窗口2号", "张师傅窗口2号")],
)
def test_staff_reference_is_kept_as_the_record_accepts_it(said, kept):
    assert validate("complaint_staff_number", said) == (kept, [])


@pytest.mark.parametrize("said", ["那个" * 11, "！！！"])
def test_staff_reference_the_record_cannot_keep_is_asked_again(said):
    assert validate("complaint_staff_number", said) == (None, ["utter_complaint_staff_number_invalid"])


@pytest.mark.parametrize("staff", ["工号1024", "张师傅", "A-1024"])
def test_a_staff_reference_the_form_accepts_is_filed(records, staff):
    conversation = f"conv-{uuid.uuid4().hex}"
    value, _ = validate("complaint_staff_number", staff)
    dispatcher, _ = submit(conversation, slots={**CONFIRMED, "complaint_staff_number": value})
    assert responses(dispatcher)[0] == "utter_complaint_recorded"
    with session_scope(records) as session:
        complaint = session.scalar(select(Complaint).where(Complaint.conversation_id == conversation))
        assert complaint.staff_number == staff


def test_category_menu_comes_from_flows():
    dispatcher = CollectingDispatcher()
    ActionAskComplaintCategory().run(dispatcher, make_tracker(), DOMAIN)
    buttons = dispatcher.messages[0]["buttons"]
    assert [b["payload"] for b in buttons][:2] == ["服务态度", "办事效率"]


# --- the read-back: the form's last question ----------------------------------

FORM = "complaint_form"
FORM_SLOTS = FORMS_DOMAIN["forms"][FORM]["required_slots"]


def answer_readback(text: str, intent: str, *, earlier_answers: int = 0, slots=COMPLETE):
    tracker = answer_tracker(FORM, READBACK, text, intent, slots=slots, earlier_answers=earlier_answers)
    return run_validation(ValidateComplaintForm(), tracker)


@pytest.mark.parametrize(
    "text, intent",
    [("对", "affirm"), ("是的", "affirm"), ("没问题", "affirm"), ("提交嘛", "affirm"),
     ("就这样嘛 拜拜", "goodbye"), ("就这样", "goodbye"), ("没得问题 提交嘛", "nlu_fallback"),
     ("对对对", "nlu_fallback"), ("嗯嗯", "affirm"), ("OK", "nlu_fallback"), ("对头", "affirm"),
     ("要得，就这样登记嘛", "complain")],
)
def test_readback_confirmed_in_everyday_words_whatever_the_intent(text, intent):
    assert answer_readback(text, intent) == (
        [SlotSet(READBACK, "confirmed"), SlotSet("requested_slot", None)], []
    )


@pytest.mark.parametrize(
    "text, intent",
    [("收到了吗", "inform"), ("你们几点下班", "faq"), ("在银行", "out_of_scope"),
     ("不晓得", "deny"), ("13812345678", "inform"), ("asdf", "nlu_fallback")],
)
def test_readback_unexpected_answer_is_read_back_again_with_a_hint(records, text, intent):
    events, said = answer_readback(text, intent)
    assert events == [SlotSet(READBACK, None), SlotSet("requested_slot", READBACK)]
    assert said == ["utter_complaint_confirmation_hint"]
    # Nothing was stored: only action_submit_complaint stores, after a confirmation.
    assert count_complaints(records, "conv-1") == 0


def test_second_unexpected_answer_at_the_readback_also_offers_a_person():
    events, said = answer_readback("你们几点下班", "faq", earlier_answers=1)
    assert events == [SlotSet(READBACK, None), SlotSet("requested_slot", READBACK)]
    assert said == ["utter_complaint_confirmation_hint", "utter_form_offer_human"]


@pytest.mark.parametrize(
    "text, intent, items",
    [("电话不对", "deny", ["complaint_phone"]),
     ("改电话", "faq", ["complaint_phone"]),
     ("地点改成网上", "faq", ["complaint_location"]),
     ("对，但是电话和地点都要改一下", "deny", ["complaint_location", "complaint_phone"]),
     ("工号写错了", "deny", ["complaint_staff_number"])],
)
def test_readback_change_of_named_items_asks_for_them_again(text, intent, items):
    events, said = answer_readback(text, intent)
    assert events == (
        [SlotSet(READBACK, None)] + [SlotSet(item, None) for item in items]
        + [SlotSet("complaint_change", None), SlotSet("requested_slot", items[0])]
    )
    assert said == []


@pytest.mark.parametrize("text, intent", [("不对", "deny"), ("改一下", "nlu_fallback"), ("修改", "affirm"),
                                          ("先不要提交", "deny")])
def test_readback_change_without_an_item_asks_which(text, intent):
    # The form then asks complaint_change ("which item?"): Rasa picks it from the domain.
    assert answer_readback(text, intent) == ([SlotSet(READBACK, "change")], [])


@pytest.mark.parametrize("text", ["全部重填", "都不对，重新来"])
def test_readback_everything_wrong_collects_it_all_again(text):
    events, said = answer_readback(text, "deny")
    assert events == (
        [SlotSet(READBACK, None)] + [SlotSet(slot, None) for slot in COMPLETE]
        + [SlotSet("complaint_change", None), SlotSet("requested_slot", "complaint_category")]
    )
    assert said == ["utter_complaint_restart"]


def answer_which_item(text: str, intent: str, *, earlier_answers: int = 0):
    tracker = answer_tracker(FORM, "complaint_change", text, intent,
                             slots={**COMPLETE, READBACK: "change"}, earlier_answers=earlier_answers)
    return run_validation(ValidateComplaintForm(), tracker)


def test_which_item_answered_clears_that_item_then_reads_back_again():
    assert answer_which_item("地点", "faq") == (
        [SlotSet("complaint_change", None), SlotSet("complaint_location", None),
         SlotSet(READBACK, None), SlotSet("requested_slot", "complaint_location")],
        [],
    )


@pytest.mark.parametrize("text", ["不改了", "没有", "都对", "嗯"])
def test_which_item_nothing_after_all_reads_back_again(text):
    assert answer_which_item(text, "deny") == (
        [SlotSet("complaint_change", None), SlotSet(READBACK, None), SlotSet("requested_slot", READBACK)],
        [],
    )


def test_which_item_unclear_is_asked_again_with_a_hint():
    # Still "change": Rasa's form asks complaint_change again.
    assert answer_which_item("我也说不清", "nlu_fallback") == (
        [SlotSet("complaint_change", None)], ["utter_complaint_change_hint"]
    )
    events, said = answer_which_item("我也说不清", "nlu_fallback", earlier_answers=1)
    assert events == [SlotSet("complaint_change", None)]
    assert said == ["utter_complaint_change_hint", "utter_form_offer_human"]


@pytest.mark.parametrize(
    "text, intent",
    [("算了 不投诉了", "nlu_fallback"), ("取消", "deny"), ("好吧那就算了", "affirm"),
     ("我不想投诉了", "complaint_status"), ("还是算了吧，谢谢", "thank")],
)
def test_stop_at_the_readback_leaves_the_form_and_stores_nothing(records, text, intent):
    events, said = answer_readback(text, intent)
    assert events == [SlotSet(slot, None) for slot in FORM_SLOTS] + [SlotSet("requested_slot", None)]
    assert said == []
    # The form has ended; its finishing action finds nothing confirmed.
    dispatcher, finished = submit("conv-left", slots={slot: None for slot in FORM_SLOTS})
    assert responses(dispatcher) == ["utter_complaint_cancelled"]
    assert count_complaints(records, "conv-left") == 0


@pytest.mark.parametrize(
    "asked, text, intent",
    [("complaint_category", "算了", "deny"),
     ("complaint_description", "不投诉了", "nlu_fallback"),
     ("complaint_phone", "取消投诉", "deny")],
)
def test_stop_anywhere_in_the_form_leaves_it(asked, text, intent):
    events, said = run_validation(ValidateComplaintForm(), answer_tracker(FORM, asked, text, intent))
    assert events == [SlotSet(slot, None) for slot in FORM_SLOTS] + [SlotSet("requested_slot", None)]
    assert said == []


def test_stop_words_inside_a_description_are_part_of_it():
    said = "窗口说我的提取申请被取消了，也不说原因，算了我也不想多说"
    events, responses_said = run_validation(
        ValidateComplaintForm(),
        answer_tracker(FORM, "complaint_description", said, "complain",
                       slots={"complaint_category": "服务态度"}),
    )
    assert events == [SlotSet("complaint_description", said), SlotSet("requested_slot", "complaint_location")]
    assert responses_said == []


@pytest.mark.parametrize(
    "asked, text, intent",
    [("complaint_location", "后子门大厅", "faq"),
     ("complaint_location", "网上办的", "nlu_fallback"),
     ("complaint_location", "不是大厅，是96319热线", "deny"),
     ("complaint_description", "提取申请交了一个月都没有人审核", "nlu_fallback"),
     ("complaint_staff_number", "姓张的那个", "out_of_scope")],
)
def test_free_answers_fill_the_form_whatever_the_intent(asked, text, intent):
    earlier = {slot: COMPLETE[slot] for slot in FORM_SLOTS[:FORM_SLOTS.index(asked)]}
    events, said = run_validation(ValidateComplaintForm(),
                                  answer_tracker(FORM, asked, text, intent, slots=earlier))
    following = FORM_SLOTS[FORM_SLOTS.index(asked) + 1]
    assert events == [SlotSet(asked, text), SlotSet("requested_slot", following)]
    assert said == []


def test_readback_items_in_flows_are_slots_of_the_form():
    assert set(form_answers().items[FORM]) == set(COMPLETE)


def count_complaints(url: str, conversation_id: str) -> int:
    with session_scope(url) as session:
        return session.scalar(
            select(func.count()).select_from(Complaint).where(Complaint.conversation_id == conversation_id)
        )


def submit(conversation_id: str, slots=CONFIRMED, channel="rest"):
    events = [
        user_event("我要投诉", "complain", channel=channel),
        {"event": "bot", "timestamp": 1.0, "text": "请问您要投诉哪一类问题？"},
    ]
    tracker = make_tracker(conversation_id, slots=dict(slots), text="确认", intent="affirm",
                           events=events, channel=channel)
    dispatcher = CollectingDispatcher()
    returned = ActionSubmitComplaint().run(dispatcher, tracker, DOMAIN)
    return dispatcher, returned


def test_confirmed_complaint_is_stored_once_with_ticket_and_deadline(records):
    conversation = f"conv-{uuid.uuid4().hex}"
    dispatcher, events = submit(conversation)
    assert responses(dispatcher) == ["utter_complaint_recorded", "utter_anything_else"]
    recorded = dispatcher.messages[0]
    assert recorded["ticket_id"].startswith("TS") and len(recorded["ticket_id"]) == 12
    assert recorded["due_date"].endswith("日") and recorded["phone_tail"] == "5678"
    assert events == CLEARED + [SlotSet("complaint_ticket", recorded["ticket_id"])]
    # A retried submission (same conversation, same content) returns the same ticket.
    again, _ = submit(conversation)
    assert responses(again)[0] == "utter_complaint_already_recorded"
    assert again.messages[0]["ticket_id"] == recorded["ticket_id"]
    assert count_complaints(records, conversation) == 1
    with session_scope(records) as session:
        complaint = session.scalar(select(Complaint).where(Complaint.conversation_id == conversation))
        assert complaint.category.value == "attitude"
        assert complaint.staff_number is None
        assert [turn["role"] for turn in complaint.transcript][:2] == ["user", "bot"]


CLEARED = [SlotSet(slot, None) for slot in (*COMPLETE, "complaint_confirmation")]


def test_the_conversation_filed_with_a_complaint_is_masked(records):
    """An account answer and the contact phone earlier in the conversation are
    kept masked in the complaint's transcript; the contact itself stays whole."""
    conversation = f"conv-{uuid.uuid4().hex}"
    events = [
        user_event("我的账号102030405060", "inform"),
        {"event": "bot", "timestamp": 1.0,
         "text": "您的公积金账户1020****5060状态正常。账户余额12,345.60元；月缴存额1,200.00元"},
        user_event("13812345678", "inform"),
        {"event": "bot", "timestamp": 2.0, "text": "联系电话：13812345678。请问是否正确？"},
    ]
    tracker = make_tracker(conversation, slots=dict(CONFIRMED), text="确认", intent="affirm", events=events)
    ActionSubmitComplaint().run(CollectingDispatcher(), tracker, DOMAIN)
    with session_scope(records) as session:
        complaint = session.scalar(select(Complaint).where(Complaint.conversation_id == conversation))
        kept = " ".join(turn["text"] for turn in complaint.transcript)
        assert complaint.contact_phone == "13812345678"
    for secret in ("102030405060", "12,345.60", "1,200.00", "13812345678"):
        assert secret not in kept
    assert "138****5678" in kept and "账户余额***元" in kept


@pytest.mark.parametrize(
    "slots",
    [{**CONFIRMED, "complaint_phone": None},  # incomplete
     COMPLETE,  # complete, but never confirmed
     {**COMPLETE, "complaint_confirmation": "change"},
     {slot: None for slot in CONFIRMED}],  # left: the form cleared everything
)
def test_a_form_ended_without_confirmation_stores_nothing_and_says_so(records, slots):
    conversation = f"conv-{uuid.uuid4().hex}"
    dispatcher, events = submit(conversation, slots=slots)
    assert responses(dispatcher) == ["utter_complaint_cancelled"]
    assert events == CLEARED
    assert count_complaints(records, conversation) == 0


def test_the_cancellation_says_nothing_was_submitted_and_how_to_resume():
    import yaml

    text = yaml.safe_load(open("domain/responses.yml", encoding="utf-8"))["responses"][
        "utter_complaint_cancelled"][0]["text"]
    assert "没有提交" in text and "说“我要投诉”即可重新开始" in text


def test_database_failure_says_not_recorded(monkeypatch):
    from bot.records.db import dispose_engines

    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/nowhere")
    dispose_engines()
    dispatcher, events = submit(f"conv-{uuid.uuid4().hex}")
    assert responses(dispatcher) == ["utter_complaint_failed"]
    assert events == []


@pytest.mark.parametrize(
    "said, expected",
    [("TS2611270003", "TS2611270003"), ("ts2611270003", "TS2611270003"), ("2611270003", "TS2611270003"),
     ("TS26112700", None), ("投诉单号忘了", None), ("TS26112700031", None)],
)
def test_ticket_format(said, expected):
    dispatcher = CollectingDispatcher()
    result = ValidateComplaintStatusForm().validate_ticket_id(said, dispatcher, make_tracker(), DOMAIN)
    assert result == {"ticket_id": expected}
    assert responses(dispatcher) == ([] if expected else ["utter_invalid_ticket_id"])


def status(ticket: str | None, tail: str | None, failures: float = 0, sender: str = "conv-1"):
    """Run the status action with the form's answers: (responses with their values, events)."""
    dispatcher = CollectingDispatcher()
    slots = {"ticket_id": ticket, "ticket_phone_tail": tail, "ticket_check_failures": failures}
    events = ActionComplaintStatus().run(dispatcher, make_tracker(sender, slots=slots), DOMAIN)
    return dispatcher.messages, events


STATUS_CLEARED = [SlotSet("ticket_id", None), SlotSet("ticket_phone_tail", None)]


def filed_ticket() -> str:
    dispatcher, _ = submit(f"conv-{uuid.uuid4().hex}")
    return dispatcher.messages[0]["ticket_id"]


@pytest.mark.parametrize(
    "said, expected",
    [("5678", "5678"), ("五六七八", "5678"), ("56 78", "5678"), ("５６７８", "5678"),
     ("138 1234 5678", "5678"), ("567", None), ("12345", None), ("不知道", None), ("", None)],
)
def test_phone_tail_format(said, expected):
    dispatcher = CollectingDispatcher()
    result = ValidateComplaintStatusForm().validate_ticket_phone_tail(said, dispatcher, make_tracker(), DOMAIN)
    assert result == {"ticket_phone_tail": expected}
    assert responses(dispatcher) == ([] if expected else ["utter_invalid_phone_tail"])


def test_after_the_ticket_the_form_asks_for_the_phone_tail():
    tracker = answer_tracker("complaint_status_form", "ticket_id", "TS2611270003", "inform")
    events, said = run_validation(ValidateComplaintStatusForm(), tracker)
    assert events == [SlotSet("ticket_id", "TS2611270003")]  # Rasa asks the next slot: the tail
    assert said == []
    assert FORMS_DOMAIN["forms"]["complaint_status_form"]["required_slots"] == ["ticket_id", "ticket_phone_tail"]


def test_status_of_a_filed_complaint_with_the_right_tail_never_reveals_the_contact(records):
    messages, events = status(filed_ticket(), "5678")
    assert [m["response"] for m in messages] == ["utter_complaint_status_accepted", "utter_anything_else"]
    assert "5678" not in str(messages) and "phone_tail" not in str(messages)
    assert events == STATUS_CLEARED


def test_status_responses_never_name_the_phone_digits():
    import yaml

    said = yaml.safe_load(open("domain/responses.yml", encoding="utf-8"))["responses"]
    names = [name for name in said if name.startswith("utter_complaint_status")]
    assert "utter_complaint_status_unverified" in names and "utter_complaint_status_locked" in names
    for name in names:
        assert "{phone_tail}" not in str(said[name]) and "尾号" not in str(said[name]), name


def test_a_wrong_tail_and_an_unknown_ticket_get_the_same_answer(records):
    wrong_tail = status(filed_ticket(), "1234")
    unknown_ticket = status("TS9901019999", "5678")
    assert wrong_tail == unknown_ticket
    messages, events = wrong_tail
    assert [m["response"] for m in messages] == ["utter_complaint_status_unverified"]
    assert events == STATUS_CLEARED + [SlotSet("ticket_check_failures", 1.0)]


def test_a_complaint_filed_without_a_phone_is_not_told(records):
    with session_scope(records) as session:
        complaint, _ = complaints.create_complaint(
            session, idempotency_key=uuid.uuid4().hex, category="attitude", channel="other",
            description="窗口工作人员态度生硬", contact_phone=None)
        ticket = complaint.ticket_id
    assert status(ticket, "0000") == status("TS9901019999", "0000")


def test_three_wrong_answers_stop_the_lookup_even_with_the_right_tail(records):
    ticket = filed_ticket()
    assert status(ticket, "0001", failures=1)[1][-1] == SlotSet("ticket_check_failures", 2.0)
    messages, events = status(ticket, "0002", failures=2)
    assert [m["response"] for m in messages] == ["utter_complaint_status_locked"]
    assert events == STATUS_CLEARED + [SlotSet("ticket_check_failures", 3.0)]
    # From now on even the right digits tell nothing, and nothing is asked.
    messages, events = status(ticket, "5678", failures=3)
    assert [m["response"] for m in messages] == ["utter_complaint_status_locked"]
    assert events == STATUS_CLEARED
    tracker = make_tracker(slots={"ticket_check_failures": 3.0}, text="查投诉进度", intent="complaint_status")
    events, said = run_validation(ValidateComplaintStatusForm(), tracker)
    assert events == [SlotSet("requested_slot", None)] and said == []


def test_a_ticket_guessed_at_from_many_conversations_is_told_only_by_a_person(records):
    from bot.records.complaint_status import MAX_FAILED_CHECKS_PER_TICKET

    ticket = filed_ticket()
    for guess in range(MAX_FAILED_CHECKS_PER_TICKET):  # three at most per conversation
        messages, _ = status(ticket, f"{guess:04d}", failures=guess % 3, sender=f"guess-{guess // 3}")
        assert [m["response"] for m in messages] in (["utter_complaint_status_unverified"],
                                                      ["utter_complaint_status_locked"])
    messages, events = status(ticket, "5678", sender=f"conv-{uuid.uuid4().hex}")
    assert [m["response"] for m in messages] == ["utter_complaint_status_held"]
    assert events == STATUS_CLEARED
    # A guesser still hears the plain refusal.
    assert status(ticket, "1111")[0] == status("TS9901019999", "1111")[0]


def test_the_right_tail_after_a_wrong_one_tells_the_status(records):
    ticket = filed_ticket()
    assert status(ticket, "0001")[0][0]["response"] == "utter_complaint_status_unverified"
    messages, _ = status(ticket, "5678", failures=1)
    assert messages[0]["response"] == "utter_complaint_status_accepted"
    assert messages[0]["ticket_id"] == ticket


def answer_ticket(text: str, intent: str, *, earlier_answers: int = 0):
    tracker = answer_tracker("complaint_status_form", "ticket_id", text, intent, earlier_answers=earlier_answers)
    return run_validation(ValidateComplaintStatusForm(), tracker)


def test_ticket_number_forgotten_is_asked_again_then_a_person_is_offered():
    assert answer_ticket("我忘了单号", "nlu_fallback") == (
        [SlotSet("ticket_id", None)], ["utter_invalid_ticket_id"]
    )
    assert answer_ticket("不记得了", "deny", earlier_answers=1) == (
        [SlotSet("ticket_id", None)], ["utter_invalid_ticket_id", "utter_form_offer_human"]
    )


def test_status_form_left_by_the_caller():
    assert answer_ticket("那算了", "deny") == (
        [SlotSet("ticket_id", None), SlotSet("ticket_phone_tail", None), SlotSet("requested_slot", None)], []
    )
    messages, events = status(None, None)
    assert [m["response"] for m in messages] == ["utter_complaint_status_cancelled"]
    assert events == STATUS_CLEARED


def test_status_form_left_at_the_phone_tail():
    tracker = answer_tracker("complaint_status_form", "ticket_phone_tail", "不查了", "deny",
                             slots={"ticket_id": "TS2611270003"})
    events, said = run_validation(ValidateComplaintStatusForm(), tracker)
    assert events == [SlotSet("ticket_id", None), SlotSet("ticket_phone_tail", None),
                      SlotSet("requested_slot", None)]
    messages, events = status("TS2611270003", None)
    assert [m["response"] for m in messages] == ["utter_complaint_status_cancelled"]
    assert events == STATUS_CLEARED
