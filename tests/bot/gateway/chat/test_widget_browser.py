"""The widget in Debian's Chromium (Playwright), against the real assistant and records.

A depositor's paths from the issue: a balance through verification with a demo
identity, a complaint with its ticket number, HTML typed or echoed shown as
text, the history after a reload; plus keyboard-only use, the phone layout,
hand-over with a callback outside agent hours, the rating at the end, the widget
embedded in another site's page with one script tag, and the 96319 message when
Rasa is down. Screenshots go to test-artifacts/chat/.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import Page, expect
from sqlalchemy import select

from bot.records.base import Channel
from bot.records.db import session_scope
from bot.records.seed import DEMO_IDENTITIES
from bot.records.service_models import CallbackRequest, Complaint
from tests.e2e.stack import RASA_TOKEN
from tests.bot.gateway.chat.conftest import AFTER_HOURS

DEPOSITOR = next(identity for identity in DEMO_IDENTITIES if identity.key == "normal_loan")
REPLY_TIMEOUT = 15_000
XSS = "<img src=x onerror=alert(1)>"

DESKTOP = {"viewport": {"width": 1280, "height": 800}, "locale": "zh-CN"}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
}


@pytest.fixture
def page_factory(browser, live_gateway):
    contexts = []

    def make(**options) -> Page:
        context = browser.new_context(**{**DESKTOP, **options})
        contexts.append(context)
        page = context.new_page()
        page.errors = []  # type: ignore[attr-defined]
        page.dialogs = []  # type: ignore[attr-defined]
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
        return page

    yield make
    for context in contexts:
        context.close()


def open_chat(page: Page, url: str) -> None:
    page.goto(url)
    page.get_by_role("button", name="打开96319在线客服").click()
    expect(page.get_by_role("log", name="对话记录")).to_contain_text(
        "96319智能客服", timeout=REPLY_TIMEOUT
    )


def log_of(page: Page):
    return page.get_by_role("log", name="对话记录")


def say(page: Page, text: str) -> None:
    box = page.get_by_label("输入您的问题")
    box.fill(text)
    box.press("Enter")


def wait_idle(page: Page) -> None:
    expect(page.locator(".typing")).to_be_hidden(timeout=REPLY_TIMEOUT)


HOST = "document.getElementById('hotline96319-chat')"
# Class (or id) of what has the keyboard focus inside the widget, None if outside.
FOCUSED_IN_WIDGET = (
    f"() => {{ const host = {HOST}; if (!host || document.activeElement !== host) return null;"
    " const el = host.shadowRoot.activeElement || {}; return el.className || el.id || null; }"
)
FOCUSED_TEXT = f"() => ({HOST}.shadowRoot.activeElement || {{}}).textContent"


def shadow_eval(page: Page, script: str):
    return page.evaluate(f"() => {{ const root = {HOST}.shadowRoot; {script} }}")


def tracker_json(stack, conversation_id: str) -> str:
    response = requests.get(
        f"{stack.rasa_url}/conversations/{conversation_id}/tracker",
        params={"token": RASA_TOKEN},
        timeout=10,
    )
    response.raise_for_status()
    return json.dumps(response.json(), ensure_ascii=False)


def conversation_id(page: Page) -> str:
    return page.evaluate(
        "() => JSON.parse(sessionStorage.getItem('hotline96319.chat')).conversationId"
    )


def verify_in_form(page: Page, identifier: str, password: str) -> None:
    page.get_by_label("身份证号、公积金个人账号或联名卡号").fill(identifier)
    page.get_by_label("6位查询密码").fill(password)
    page.get_by_role("button", name="验证", exact=True).click()


def test_balance_through_verification_then_reload_keeps_history(
    page_factory, live_gateway, stack, artifacts
):
    page = page_factory()
    requests_seen = []
    page.on("request", lambda r: requests_seen.append((r.url, r.post_data or "")))
    open_chat(page, live_gateway)
    page.screenshot(path=artifacts / "01-desktop-open.png")

    page.get_by_role("button", name="账户余额查询", exact=True).click()
    form = page.get_by_role("form", name="身份验证")
    expect(form).to_be_visible(timeout=REPLY_TIMEOUT)
    password_field = page.get_by_label("6位查询密码")
    assert password_field.get_attribute("type") == "password"
    page.screenshot(path=artifacts / "02-secure-step.png")

    verify_in_form(page, DEPOSITOR.id_number, DEPOSITOR.password)
    log = log_of(page)
    expect(log).to_contain_text("已验证", timeout=REPLY_TIMEOUT)
    expect(log).to_contain_text("账户余额", timeout=REPLY_TIMEOUT)
    expect(form).to_be_hidden()
    assert password_field.input_value() == ""
    page.screenshot(path=artifacts / "03-balance.png")

    shown = shadow_eval(page, "return root.textContent;")
    assert DEPOSITOR.password not in shown and DEPOSITOR.id_number not in shown
    # The password travelled once, to the gateway's verification endpoint, nowhere else.
    carrying = [url for url, body in requests_seen if DEPOSITOR.password in body]
    assert carrying == [f"{live_gateway}/chat/api/verify"]
    assert all(urlsplit(url).netloc == urlsplit(live_gateway).netloc for url, _ in requests_seen)
    cid = conversation_id(page)
    assert DEPOSITOR.password not in tracker_json(stack, cid)

    page.reload()
    log = log_of(page)
    expect(log).to_contain_text("已验证", timeout=REPLY_TIMEOUT)
    expect(log).to_contain_text("账户余额查询")
    expect(log).to_contain_text("账户余额")
    assert conversation_id(page) == cid
    page.screenshot(path=artifacts / "04-after-reload.png")
    assert page.errors == []


def test_verification_moves_the_widget_to_the_new_conversation(page_factory, live_gateway):
    """The widget follows the chat to its new id; after 结束对话 a reload hides the balance."""
    page = page_factory()
    answers = []
    page.on(
        "response",
        lambda r: answers.append((r.url, r.status, r.request.post_data or ""))
        if "/chat/api/" in r.url
        else None,
    )
    open_chat(page, live_gateway)
    before = conversation_id(page)
    page.get_by_role("button", name="账户余额查询", exact=True).click()
    expect(page.get_by_role("form", name="身份验证")).to_be_visible(timeout=REPLY_TIMEOUT)
    verify_in_form(page, DEPOSITOR.id_number, DEPOSITOR.password)
    log = log_of(page)
    expect(log).to_contain_text("月缴存额", timeout=REPLY_TIMEOUT)
    after = conversation_id(page)
    assert after != before
    answers.clear()
    say(page, "你好")
    wait_idle(page)
    expect(log.locator(".msg.bot").last).to_contain_text("96319", timeout=REPLY_TIMEOUT)
    [(url, status, body)] = answers
    assert url.endswith("/chat/api/message") and status == 200
    assert json.loads(body)["conversation_id"] == after
    expect(log).not_to_contain_text("之前的对话已过期")
    page.get_by_role("button", name="结束对话并评价").click()
    expect(log).to_contain_text("评价", timeout=REPLY_TIMEOUT)
    page.reload()
    log = log_of(page)
    expect(log).to_contain_text("账户信息已隐藏", timeout=REPLY_TIMEOUT)
    expect(log).to_contain_text("已验证")
    expect(log).not_to_contain_text("月缴存额")
    assert conversation_id(page) == after
    assert page.errors == []


def test_wrong_password_keeps_the_number_and_asks_again(page_factory, live_gateway, artifacts):
    depositor = next(i for i in DEMO_IDENTITIES if i.key == "overdue_loan")
    page = page_factory()
    open_chat(page, live_gateway)
    page.get_by_role("button", name="贷款查询", exact=True).click()
    identifier = page.get_by_label("身份证号、公积金个人账号或联名卡号")
    expect(identifier).to_be_focused(timeout=REPLY_TIMEOUT)
    wrong = "000000" if depositor.password != "000000" else "111111"
    verify_in_form(page, depositor.account_number, wrong)
    log = log_of(page)
    expect(log).to_contain_text("身份验证未通过", timeout=REPLY_TIMEOUT)
    expect(log).to_contain_text("不正确")
    expect(identifier).to_have_value(depositor.account_number)
    expect(page.get_by_label("6位查询密码")).to_be_focused()
    expect(page.get_by_label("6位查询密码")).to_have_value("")
    page.screenshot(path=artifacts / "03b-wrong-password.png")
    page.get_by_label("6位查询密码").fill(depositor.password)
    page.get_by_role("button", name="验证", exact=True).click()
    expect(log).to_contain_text("已验证", timeout=REPLY_TIMEOUT)
    expect(log).to_contain_text("逾期", timeout=REPLY_TIMEOUT)


def test_complaint_shows_the_ticket_and_echoed_html_stays_text(
    page_factory, live_gateway, stack, artifacts
):
    page = page_factory()
    open_chat(page, live_gateway)
    log = log_of(page)
    page.get_by_role("button", name="投诉建议", exact=True).click()
    page.get_by_role("button", name="服务态度", exact=True).click()
    expect(log).to_contain_text("具体说说", timeout=REPLY_TIMEOUT)
    description = f"上周三在服务大厅办提取，窗口工作人员态度很差 {XSS}"
    for text, expected in (
        (description, "发生在哪里"),
        ("后子门房地产大厦三楼服务大厅", "工号"),
        ("不知道", "联系电话"),
        ("13912345678", "复述"),
    ):
        say(page, text)
        expect(log).to_contain_text(expected, timeout=REPLY_TIMEOUT)
    wait_idle(page)
    # The read-back repeats the description: as text, not as markup.
    expect(log).to_contain_text(XSS)
    page.get_by_role("button", name="确认", exact=True).click()
    ticket = page.locator(".ticket-id")
    expect(ticket).to_have_text(re.compile(r"^TS\d{10}$"), timeout=REPLY_TIMEOUT)
    ticket_id = ticket.text_content()
    expect(log).to_contain_text(f"投诉单号{ticket_id}")
    page.screenshot(path=artifacts / "05-complaint-ticket.png")
    assert shadow_eval(page, "return root.querySelectorAll('img, script:not([src])').length;") == 0
    assert page.dialogs == [] and page.errors == []
    with session_scope(stack.database_url) as session:
        complaint = session.scalar(select(Complaint).where(Complaint.ticket_id == ticket_id))
        assert complaint is not None and complaint.channel == Channel.webchat
        assert complaint.conversation_id == conversation_id(page)


def test_html_typed_by_a_visitor_is_shown_as_text(page_factory, live_gateway, artifacts):
    page = page_factory()
    open_chat(page, live_gateway)
    say(page, XSS)
    user_bubble = page.locator(".msg.user").last
    expect(user_bubble).to_contain_text(XSS)
    wait_idle(page)
    expect(page.locator(".msg.bot")).to_have_count(2, timeout=REPLY_TIMEOUT)
    page.wait_for_timeout(300)
    assert page.dialogs == []
    assert shadow_eval(page, "return root.querySelectorAll('img').length;") == 0
    assert page.evaluate("() => document.querySelectorAll('img').length") == 0
    page.screenshot(path=artifacts / "06-html-as-text.png")


def test_keyboard_only(page_factory, live_gateway, artifacts):
    page = page_factory()
    page.goto(live_gateway)
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate(FOCUSED_IN_WIDGET) == "launcher":
            break
    else:
        pytest.fail("the chat launcher cannot be reached with Tab")
    page.keyboard.press("Enter")
    expect(log_of(page)).to_contain_text("96319智能客服", timeout=REPLY_TIMEOUT)
    expect(page.get_by_label("输入您的问题")).to_be_focused()
    page.keyboard.type("你好")
    page.keyboard.press("Enter")
    expect(page.locator(".msg.bot")).to_have_count(2, timeout=REPLY_TIMEOUT)
    wait_idle(page)

    page.get_by_role("button", name="显示业务菜单").focus()
    page.keyboard.press("Enter")
    for _ in range(12):  # back from the menu button through the quick replies
        page.keyboard.press("Shift+Tab")
        if page.evaluate(FOCUSED_TEXT) == "账户余额查询":
            break
    else:
        pytest.fail("the quick replies cannot be reached with Shift+Tab")
    page.keyboard.press("Enter")
    identifier = page.get_by_label("身份证号、公积金个人账号或联名卡号")
    expect(identifier).to_be_focused(timeout=REPLY_TIMEOUT)
    page.keyboard.type(DEPOSITOR.account_number)
    page.keyboard.press("Tab")
    expect(page.get_by_label("6位查询密码")).to_be_focused()
    page.keyboard.type(DEPOSITOR.password)
    page.keyboard.press("Enter")
    expect(log_of(page)).to_contain_text("已验证", timeout=REPLY_TIMEOUT)
    page.screenshot(path=artifacts / "07-keyboard.png")

    page.get_by_label("输入您的问题").focus()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    assert page.evaluate(FOCUSED_IN_WIDGET) == "launcher"


def test_phone_layout_fills_the_screen(page_factory, live_gateway, artifacts):
    page = page_factory(**PHONE)
    page.goto(live_gateway)
    page.screenshot(path=artifacts / "08-phone-home.png")
    open_chat(page, live_gateway)
    panel = page.get_by_role("dialog", name="96319 在线客服")
    box = panel.bounding_box()
    assert box is not None and box["x"] == 0 and box["width"] == 390 and box["height"] >= 800
    expect(page.get_by_role("button", name="打开96319在线客服")).to_be_hidden()
    font_size = page.get_by_label("输入您的问题").evaluate(
        "e => parseFloat(getComputedStyle(e).fontSize)"
    )
    assert font_size >= 16  # no zoom-on-focus on phones
    page.get_by_role("button", name="投诉建议", exact=True).click()
    expect(page.get_by_role("button", name="服务态度", exact=True)).to_be_visible(
        timeout=REPLY_TIMEOUT
    )
    page.screenshot(path=artifacts / "09-phone-chat.png")
    # The quick replies wrap inside the screen.
    for chip in page.locator(".chip").all():
        chip_box = chip.bounding_box()
        assert chip_box is not None and chip_box["x"] + chip_box["width"] <= 390


def test_handover_after_hours_takes_a_callback(
    page_factory, live_gateway, live_clock, stack, artifacts
):
    live_clock.now = AFTER_HOURS
    page = page_factory()
    open_chat(page, live_gateway)
    page.get_by_role("button", name="人工服务", exact=True).click()
    banner = page.locator(".banner")
    expect(banner).to_contain_text("现在不是人工服务时间", timeout=REPLY_TIMEOUT)
    expect(banner).to_contain_text("工作日9:00—12:00、13:30—17:30")
    expect(log_of(page)).to_contain_text("96319")
    phone = page.get_by_label("手机号码或座机号码")
    phone.fill("12345")
    page.get_by_role("button", name="登记回电").click()
    expect(page.locator("#callback-phone-error")).to_contain_text("11位手机号码")
    phone.fill("139 1234 5678")
    page.get_by_role("button", name="登记回电").click()
    expect(log_of(page)).to_contain_text("尾号5678", timeout=REPLY_TIMEOUT)
    expect(banner).to_contain_text("已登记回电")
    expect(page.get_by_role("form", name="留下电话，客服人员给您回电")).to_be_hidden()
    page.screenshot(path=artifacts / "10-handover-callback.png")
    with session_scope(stack.database_url) as session:
        callback = session.scalar(
            select(CallbackRequest).where(CallbackRequest.conversation_id == conversation_id(page))
        )
        assert callback is not None and callback.phone == "13912345678"


def test_rating_at_the_end(page_factory, live_gateway, artifacts):
    page = page_factory()
    open_chat(page, live_gateway)
    say(page, "公积金服务大厅在哪里")
    wait_idle(page)
    expect(page.locator(".msg.bot")).to_have_count(2, timeout=REPLY_TIMEOUT)
    page.get_by_role("button", name="结束对话并评价").click()
    expect(log_of(page)).to_contain_text("请您对本次服务进行评价", timeout=REPLY_TIMEOUT)
    page.screenshot(path=artifacts / "11-rating.png")
    page.get_by_role("button", name="1 非常满意").click()
    expect(log_of(page)).to_contain_text("感谢您的评价", timeout=REPLY_TIMEOUT)


class _HostPage(BaseHTTPRequestHandler):
    """Another site's page: one script tag, and its own CSP naming the gateway."""

    gateway = ""

    def log_message(self, *args):
        pass

    def do_GET(self):
        body = (
            '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            "<title>某区政务网</title></head>"
            "<body><h1>某区政务服务网（测试页）</h1>"
            f'<script src="{self.gateway}/chat/widget.js" async></script></body></html>'
        ).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header(
            "Content-Security-Policy",
            f"default-src 'none'; script-src {self.gateway}; style-src {self.gateway}; "
            f"connect-src {self.gateway}",
        )
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_one_script_tag_embeds_it_in_another_site(
    page_factory, live_gateway, embed_origin, artifacts
):
    handler = type("HostPage", (_HostPage,), {"gateway": live_gateway})
    server = ThreadingHTTPServer(("127.0.0.1", urlsplit(embed_origin).port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        page = page_factory()
        open_chat(page, embed_origin + "/")
        say(page, "你好")
        expect(page.locator(".msg.bot")).to_have_count(2, timeout=REPLY_TIMEOUT)
        page.screenshot(path=artifacts / "12-embedded.png")
        assert page.errors == []
    finally:
        server.shutdown()
        server.server_close()


def test_assistant_down_shows_the_hotline(page_factory, live_gateway, stack, artifacts):
    page = page_factory()
    open_chat(page, live_gateway)
    stack.stop_part("rasa")
    try:
        say(page, "我的公积金还有多少钱")
        notice = page.locator(".msg.note.tone-error").last
        expect(notice).to_contain_text("96319", timeout=REPLY_TIMEOUT)
        expect(notice.get_by_role("link", name="拨打96319")).to_have_attribute("href", "tel:96319")
        wait_idle(page)
        expect(page.locator(".msg.user").last).to_contain_text("未送达")
        page.screenshot(path=artifacts / "13-assistant-down.png")
    finally:
        stack.start_rasa()
        stack.wait_healthy()
