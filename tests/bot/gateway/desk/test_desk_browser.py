"""The desk in a real browser: Debian's Chromium driven by Playwright.

Starts the gateway on a free port (werkzeug in a thread) with its own migrated
SQLite records database and a small tracker store, logs in as an agent, works
a complaint the assistant filed (created through ``create_complaint``) to
已办结, saves a screenshot of the service overview to
``test-artifacts/desk-overview.png`` and pulls new records into the learning
inbox (待学习). The pages must run under the desk's CSP
without a single console error. A missing browser fails the test (CI installs
it with ``apt-get install -y chromium``); it is never skipped.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from bot import tracker_store
from bot.gateway import create_app
from bot.records.db import dispose_engines, session_scope
from bot.records.handovers import record_handover
from bot.records.migrate import upgrade
from tests.bot.gateway.desk.conftest import PASSWORD, beijing, file_complaint, make_settings, make_tracker_db
from bot.records.ratings import record_rating
from bot.records.service_models import Complaint, ComplaintStatus
from bot.records.staff import create_staff

ROOT = Path(__file__).resolve().parents[4]
CHROMIUM = Path(os.environ.get("DESK_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture
def live_desk(tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    db_url = f"sqlite:///{tmp_path / 'records.db'}"
    upgrade(db_url)
    tracker_path = make_tracker_db(tmp_path / "tracker.db", [
        {"sender": f"s{i}", "channel": ("voice", "webchat", "webchat", "rest")[i % 4],
         "at": beijing(-(i % 7), 9 + i % 8),
         "intents": ["greet", ("query_balance", "faq", "query_loan", "nlu_fallback")[i % 4],
                     "thank"],
         "handover": i % 5 == 0}
        for i in range(40)
    ])
    with session_scope(db_url) as session:
        create_staff(session, None, username="lihua", display_name="李华", role="agent",
                        password=PASSWORD, must_change_password=False)
        for index, score in enumerate((5, 5, 4, 4, 4, 3, 2, 5, 1, 4)):
            record_rating(session, conversation_id=f"s{index}", channel="webchat",
                                  score=score, now=beijing(-(index % 5)))
        record_handover(session, conversation_id="s0", channel="voice",
                                reason="requested", intent_path="greet > human_agent",
                                context={"last_user_text": "转人工"})
    for index, category in enumerate(("efficiency", "error", "attitude", "channel")):
        file_complaint(db_url, key=f"older-{index}", category=category,
                       description=f"第{index + 1}件往日的投诉，办理太慢了", now=beijing(-index - 1))
    ticket = file_complaint(db_url, key="browser-1", channel="voice",
                            description="柜台工作人员说我材料不全，让我跑了三趟")
    settings = make_settings(db_url, f"sqlite:///{tracker_path}")
    app = create_app({"HOTLINE_SETTINGS": settings})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", db_url, ticket
    finally:
        server.shutdown()
        thread.join(timeout=10)
        tracker_store.dispose_engines()
        dispose_engines()


def _drive(base: str, ticket: str) -> list[str]:
    """The browser session; returns the console errors seen.

    Runs in a thread of its own: the sync API refuses to start in a thread where
    another Playwright (e.g. the chat tests' session-wide browser) is running.
    """
    from playwright.sync_api import expect, sync_playwright

    console_errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="zh-CN")
            page.on("console", lambda msg: console_errors.append(msg.text)
                    if msg.type == "error" else None)
            page.on("pageerror", lambda exc: console_errors.append(str(exc)))

            page.goto(f"{base}/desk/")
            expect(page.get_by_role("heading", name="工作人员登录")).to_be_visible()
            page.get_by_label("用户名").fill("lihua")
            page.get_by_label("密码").fill(PASSWORD)
            page.get_by_role("button", name="登录").click()
            expect(page.get_by_role("heading", name="投诉工单")).to_be_visible()

            page.get_by_role("link", name=ticket).click()
            expect(page.get_by_text("138****5678")).to_be_visible()
            page.get_by_role("button", name="显示").click()
            expect(page.get_by_text("13812345678")).to_be_visible()

            page.get_by_role("button", name="接单").click()
            expect(page.get_by_text("已接单，您是本工单的承办人。", exact=True)).to_be_visible()
            page.get_by_role("button", name="开始处理").click()
            expect(page.locator("h1 .badge")).to_have_text("处理中")

            reply = page.get_by_label("答复内容")
            reply.fill("您好，经核查，窗口人员未一次告知所需材料，已对其批评教育。所需材料清单已短信发送给您。")
            expect(page.locator("#reply-count")).not_to_have_text("0")
            page.get_by_role("button", name="办结").click()
            expect(page.get_by_text("工单已办结。", exact=True)).to_be_visible()
            expect(page.locator("h1 .badge")).to_have_text("已办结")
            expect(page.get_by_text("办结答复（处理中 → 已办结）")).to_be_visible()

            page.get_by_role("link", name="服务概览").click()
            expect(page.get_by_role("heading", name="每日会话量（按渠道）")).to_be_visible()
            expect(page.locator("svg.chart").first).to_be_visible()
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "desk-overview.png"), full_page=True)

            page.get_by_role("link", name="待学习").click()
            expect(page.get_by_role("heading", name="待学习")).to_be_visible()
            page.get_by_role("button", name="拉取新记录").click()
            expect(page.get_by_text("已拉取新记录：新增 0 条。", exact=True)).to_be_visible()
        finally:
            browser.close()
    return console_errors


def test_agent_works_a_complaint_to_closed_and_overview_and_inbox_render(live_desk) -> None:  # type: ignore[no-untyped-def]
    base, db_url, ticket = live_desk
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install it with `apt-get install -y chromium` "
            "(or point DESK_CHROMIUM at a Chromium binary)",
            pytrace=False,
        )
    with ThreadPoolExecutor(max_workers=1) as pool:
        console_errors = pool.submit(_drive, base, ticket).result(timeout=300)

    assert console_errors == []
    with session_scope(db_url) as session:
        complaint = session.query(Complaint).filter_by(ticket_id=ticket).one()
        assert complaint.status is ComplaintStatus.closed
        assert complaint.owner == "lihua"
        assert complaint.reply and complaint.reply.startswith("您好，经核查")
        actions = [event.action for event in complaint.events]
        assert actions == ["created", "contact_revealed", "taken", "started", "closed"]
    assert (ARTIFACTS / "desk-overview.png").stat().st_size > 10_000
