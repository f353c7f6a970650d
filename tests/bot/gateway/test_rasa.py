"""The gateway's one Rasa client (bot.gateway.rasa), against a fake Rasa server.

Unit tests of the client only: the wire format of the gateway channels, the
tracker read, and every way Rasa can fail (slow, silent, broken, refusing the
secret), each of which must become :class:`AssistantUnavailable`. The real
assistant is exercised by the chat API and phone-call tests.
"""
from __future__ import annotations

import socketserver
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from bot.contract import secure_step_outcome
from bot.gateway.rasa import AssistantUnavailable, RasaClient, rendezvous_order
from tests.bot.gateway.conftest import FakeRasa, serving_fake_rasa
from tests.e2e.stack import free_port

SECRET = "test-channel-secret"


def client(url, channel: str = "webchat", timeout: float = 1.0, **kwargs) -> RasaClient:
    return RasaClient(url, channel=channel, channel_secret=SECRET, api_token="tok",
                      timeout=timeout, **kwargs)


# ------------------------------------------------------------------ wire format


@pytest.mark.parametrize("channel", ["webchat", "voice"])
def test_text_turn_goes_to_the_channel_with_the_secret(fake_rasa: FakeRasa, channel: str) -> None:
    fake_rasa.reply_with([{"recipient_id": "c1", "text": "您好", "response": "utter_greet"}])
    messages = client(fake_rasa.url, channel).send_text(
        "c1", "你好", metadata={"caller_number": "+8613800000001"}
    )
    assert messages == [{"recipient_id": "c1", "text": "您好", "response": "utter_greet"}]
    (request,) = fake_rasa.received
    assert (request.method, request.path) == ("POST", f"/webhooks/{channel}/webhook")
    assert request.headers["X-Gateway-Secret"] == SECRET
    assert request.body == {"sender": "c1", "kind": "text", "text": "你好",
                            "metadata": {"caller_number": "+8613800000001"}}


def test_metadata_defaults_to_empty(fake_rasa: FakeRasa) -> None:
    client(fake_rasa.url).send_text("c1", "你好")
    assert fake_rasa.received[0].body == {"sender": "c1", "kind": "text", "text": "你好",
                                          "metadata": {}}


def test_intent_turn_carries_only_the_entities_given(fake_rasa: FakeRasa) -> None:
    rasa = client(fake_rasa.url)
    rasa.send_intent("c1", "authentication_failed", {"reason": "mismatch", "remaining": "3"})
    rasa.send_intent("c1", "human_agent", metadata={"display": "转人工"})
    assert [r.body for r in fake_rasa.received] == [
        {"sender": "c1", "kind": "intent", "intent": "authentication_failed",
         "entities": {"reason": "mismatch", "remaining": "3"}, "metadata": {}},
        {"sender": "c1", "kind": "intent", "intent": "human_agent", "entities": {},
         "metadata": {"display": "转人工"}},
    ]


class _Locked:
    ok, token, reason, remaining_attempts = False, None, "mismatch", 0


def test_an_outcome_is_sent_as_the_contract_words_it(fake_rasa: FakeRasa) -> None:
    client(fake_rasa.url).send_outcome("c1", secure_step_outcome(_Locked()))
    assert fake_rasa.received[0].body == {
        "sender": "c1", "kind": "intent", "intent": "authentication_failed",
        "entities": {"reason": "locked", "remaining": "0"}, "metadata": {},
    }


def test_an_injected_http_session_is_used(fake_rasa: FakeRasa) -> None:
    class Recording(requests.Session):
        def __init__(self) -> None:
            super().__init__()
            self.urls: list[str] = []

        def request(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def]
            self.urls.append(url)
            return super().request(method, url, *args, **kwargs)

    http = Recording()
    client(fake_rasa.url, "voice", http=http).send_text("CA1", "你好")
    assert http.urls == [f"{fake_rasa.url}/webhooks/voice/webhook"]


# ------------------------------------------------------------------ failures


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (403, b'{"error": "forbidden"}', "GATEWAY_CHANNEL_SECRET"),
        (500, b'{"error": "boom"}', "HTTP 500"),
        (400, b'{"error": "x"}', "HTTP 400"),
        (200, b"not json", "not JSON"),
        (200, b'{"not": "a list"}', "not a list"),
        (200, b'["a string"]', "not a list"),
        (200, b"[]", "action server"),
        (200, b'[{"recipient_id": "c1", "custom": {"turn_failed": "action_failed"}}]',
         "could not finish the turn: action_failed"),
        (200, b'[{"recipient_id": "c1", "custom": {"turn_failed": "empty_slot"}}]',
         "could not finish the turn: empty_slot"),
    ],
    ids=["forbidden", "server-error", "bad-request", "not-json", "not-a-list", "not-messages",
         "no-reply-actions-down", "failed-turn-marker", "empty-slot-marker"],
)
def test_unusable_answers_are_unavailable(fake_rasa: FakeRasa, status: int, body: bytes,
                                          message: str) -> None:
    fake_rasa.status, fake_rasa.body = status, body
    with pytest.raises(AssistantUnavailable, match=message):
        client(fake_rasa.url).send_text("c1", "你好")


def test_a_slow_rasa_is_given_up_within_the_client_timeout(fake_rasa: FakeRasa) -> None:
    fake_rasa.delay = 2.0
    started = time.monotonic()
    with pytest.raises(AssistantUnavailable, match="did not answer"):
        client(fake_rasa.url, timeout=0.5).send_text("c1", "你好")
    assert time.monotonic() - started < 1.5


def test_a_turn_deadline_shorter_than_the_client_timeout_wins(fake_rasa: FakeRasa) -> None:
    fake_rasa.delay = 2.0
    started = time.monotonic()
    with pytest.raises(AssistantUnavailable, match="did not answer"):
        client(fake_rasa.url, "voice", timeout=8).send_text("CA1", "你好", timeout=0.4)
    assert time.monotonic() - started < 1.5


def test_no_time_left_does_not_even_try(fake_rasa: FakeRasa) -> None:
    with pytest.raises(AssistantUnavailable, match="no time left"):
        client(fake_rasa.url, "voice").send_text("CA1", "你好", timeout=0)
    assert fake_rasa.received == []


def test_nothing_listening_is_unavailable() -> None:
    with pytest.raises(AssistantUnavailable, match="cannot be reached"):
        client(f"http://127.0.0.1:{free_port()}").send_text("c1", "你好")


# ------------------------------------------------------------------ tracker


def test_events_are_read_from_the_tracker_with_the_api_token(fake_rasa: FakeRasa) -> None:
    fake_rasa.reply_with({"events": [{"event": "user", "text": "你好"}, "junk"]})
    assert client(fake_rasa.url).events("conv/1") == [{"event": "user", "text": "你好"}]
    (request,) = fake_rasa.received
    assert (request.method, request.path) == ("GET", "/conversations/conv%2F1/tracker")
    assert request.query == {"token": ["tok"], "include_events": ["AFTER_RESTART"]}


@pytest.mark.parametrize(
    ("status", "body"),
    [(401, b'{"error": "token"}'), (200, b"not json"), (200, b'{"no": "events"}'), (200, b"[]")],
    ids=["refused", "not-json", "no-events", "not-a-tracker"],
)
def test_an_unreadable_tracker_is_unavailable(fake_rasa: FakeRasa, status: int,
                                              body: bytes) -> None:
    fake_rasa.status, fake_rasa.body = status, body
    with pytest.raises(AssistantUnavailable):
        client(fake_rasa.url).events("c1")


def test_an_unreachable_tracker_is_unavailable() -> None:
    with pytest.raises(AssistantUnavailable, match="cannot be read"):
        client(f"http://127.0.0.1:{free_port()}").events("c1")


def test_events_replace_a_tracker_with_the_api_token(fake_rasa: FakeRasa) -> None:
    events = [{"event": "user", "text": "查余额"}, {"event": "slot", "name": "pending_query"}]
    fake_rasa.reply_with({"events": events})
    client(fake_rasa.url).replace_events("new/1", events)
    (request,) = fake_rasa.received
    assert (request.method, request.path) == ("PUT", "/conversations/new%2F1/tracker/events")
    assert request.query == {"token": ["tok"]} and request.body == events


@pytest.mark.parametrize("status", [401, 404, 500])
def test_a_tracker_that_cannot_be_written_is_unavailable(fake_rasa: FakeRasa, status: int) -> None:
    fake_rasa.status = status
    with pytest.raises(AssistantUnavailable, match="cannot be written"):
        client(fake_rasa.url).replace_events("c1", [])
    with pytest.raises(AssistantUnavailable, match="cannot be written"):
        client(f"http://127.0.0.1:{free_port()}").replace_events("c1", [])


# ------------------------------------------------------------------ replicas


@pytest.fixture
def second_rasa() -> Iterator[FakeRasa]:
    yield from serving_fake_rasa()


def replicas(*urls: str, **kwargs) -> RasaClient:
    return client(list(urls), **kwargs)


def senders(count: int = 200) -> list[str]:
    return [f"conv-{number}" for number in range(count)]


def test_rendezvous_order_is_stable_and_moves_only_the_removed_replicas_conversations() -> None:
    three = ["http://a:5005", "http://b:5005", "http://c:5005"]
    first = {sender: rendezvous_order(three, sender)[0] for sender in senders()}
    assert first == {sender: rendezvous_order(list(reversed(three)), sender)[0]
                     for sender in senders()}  # the order given does not matter
    assert set(first.values()) == set(three)  # every replica gets conversations
    without_c = {sender: rendezvous_order(three[:2], sender)[0] for sender in senders()}
    moved = {sender for sender in senders() if first[sender] != without_c[sender]}
    assert moved == {sender for sender in senders() if first[sender] == "http://c:5005"}


def test_each_conversation_sticks_to_one_replica_on_every_path(
        fake_rasa: FakeRasa, second_rasa: FakeRasa) -> None:
    fake_rasa.tracker, second_rasa.tracker = {"events": []}, {"events": []}
    rasa = replicas(fake_rasa.url, second_rasa.url)
    by_url = {fake_rasa.url: fake_rasa, second_rasa.url: second_rasa}
    for sender in senders(20):
        chosen = by_url[rendezvous_order(rasa.replicas, sender)[0]]
        before = len(chosen.received)
        rasa.send_text(sender, "你好")
        rasa.send_intent(sender, "human_agent")
        rasa.events(sender)
        rasa.replace_events(sender, [])
        assert len(chosen.received) - before == 4
    assert len(fake_rasa.received) + len(second_rasa.received) == 80
    assert fake_rasa.received and second_rasa.received


def sender_first_on(rasa: RasaClient, replica: str) -> str:
    return next(s for s in senders() if rendezvous_order(rasa.replicas, s)[0] == replica)


def test_a_refused_replica_fails_over_and_is_skipped_for_a_while(second_rasa: FakeRasa) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    rasa = replicas(dead, second_rasa.url, down_seconds=0.5)
    sender = sender_first_on(rasa, dead)
    assert rasa.send_text(sender, "你好") == [{"text": "ok"}]
    assert rasa.route(sender) == [second_rasa.url, dead]  # marked down: tried last
    second_rasa.reply_with({"events": []})
    assert rasa.events(sender) == []  # tracker reads route (and fail over) the same way
    second_rasa.reply_with([{"text": "ok"}])
    time.sleep(0.6)
    assert rasa.route(sender) == [dead, second_rasa.url]  # tried again after a while
    assert rasa.send_text(sender, "你好") == [{"text": "ok"}]
    assert [(r.method, r.path) for r in second_rasa.received] == [
        ("POST", "/webhooks/webchat/webhook"), ("GET", f"/conversations/{sender}/tracker"),
        ("POST", "/webhooks/webchat/webhook")]


@pytest.mark.parametrize("status", [502, 503])
def test_a_dead_proxy_answer_fails_over(fake_rasa: FakeRasa, second_rasa: FakeRasa,
                                        status: int) -> None:
    fake_rasa.status = status
    rasa = replicas(fake_rasa.url, second_rasa.url)
    sender = sender_first_on(rasa, fake_rasa.url)
    assert rasa.send_text(sender, "你好") == [{"text": "ok"}]
    assert len(fake_rasa.received) == 1 and len(second_rasa.received) == 1


@pytest.mark.parametrize("fault", ["slow", "server-error"])
def test_a_turn_that_may_have_reached_rasa_is_never_sent_again(
        fake_rasa: FakeRasa, second_rasa: FakeRasa, fault: str) -> None:
    if fault == "slow":
        fake_rasa.delay = 1.0
    else:
        fake_rasa.status = 500
    rasa = replicas(fake_rasa.url, second_rasa.url, timeout=0.4)
    sender = sender_first_on(rasa, fake_rasa.url)
    with pytest.raises(AssistantUnavailable):
        rasa.send_text(sender, "你好")
    assert len(fake_rasa.received) == 1 and second_rasa.received == []
    assert rasa.route(sender)[0] == fake_rasa.url  # not marked down


class _Hangup(socketserver.BaseRequestHandler):
    """Reads the request, then closes the connection without an answer (a replica killed mid-turn)."""

    def handle(self) -> None:
        self.request.recv(65536)
        self.server.got += 1  # type: ignore[attr-defined]


def test_a_connection_dropped_after_the_request_is_not_sent_again(second_rasa: FakeRasa) -> None:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Hangup)
    server.got = 0  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        hangup = f"http://127.0.0.1:{server.server_address[1]}"
        rasa = replicas(hangup, second_rasa.url)
        sender = sender_first_on(rasa, hangup)
        with pytest.raises(AssistantUnavailable, match="may have reached"):
            rasa.send_text(sender, "你好")
        assert server.got == 1 and second_rasa.received == []  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


def test_no_replica_answering_is_unavailable() -> None:
    rasa = replicas(f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(AssistantUnavailable, match="cannot be reached"):
        rasa.send_text("c1", "你好")
    with pytest.raises(AssistantUnavailable, match="cannot be read"):
        rasa.events("c1")
