"""Locust traffic for ``bench/load.py``: scripted conversations at an open-loop offered rate.

Runs in the tools environment (Locust, gevent), so it imports nothing from the
project: it signs Twilio webhooks itself (HMAC-SHA1 of the URL followed by the
sorted form parameters, base64, as Twilio does) and speaks the web chat's JSON
API as the widget does (session cookie, ``conversation_id``, the verify form).

Configured by environment variables (``bench/load.py`` sets them):

- ``BENCH_TARGET``: ``stack`` (gateway: phone webhooks and chat API) or
  ``bare`` (Rasa's REST channel: the same conversations' messages);
- ``BENCH_RATE``: offered turns per second, all users together;
- ``BENCH_USERS``: users (``-u``); each schedules its turns as a Poisson
  process of ``BENCH_RATE / BENCH_USERS`` per second on its own clock, so a
  slow answer delays only that user's next turn (its schedule does not move:
  it catches up), and with a mean gap of seconds against answers of
  milliseconds the offered rate is what arrives;
- ``BENCH_TWILIO_TOKEN``: the auth token the gateway checks signatures with;
- ``BENCH_PUBLIC_URL``: the gateway's ``PUBLIC_BASE_URL`` (https, behind the
  proxy): what webhooks are signed for, while they are posted to the host;
- ``BENCH_TOKENS``: (bare) a file of ``sender<TAB>message`` lines, the
  secure step's outcome already issued for that sender (Rasa's REST channel
  has no verify form; ``bench/load.py`` opens the auth sessions);
- ``BENCH_SAMPLES``: where to write one JSON line per turn at the end.

Each distinct visitor comes from its own address over https (``X-Forwarded-For``
and ``-Proto``; the gateway under test trusts one proxy), as real visitors do,
so the per-address limits are not what is measured; every limit keeps its
default. The chat cookie is ``Secure`` in production: it is sent back by hand.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import random
import time
import uuid
import xml.etree.ElementTree as ET
from urllib.parse import urljoin, urlsplit

from locust import HttpUser, events, task

TARGET = os.environ.get("BENCH_TARGET", "stack")
RATE = float(os.environ.get("BENCH_RATE", "10"))
USERS = max(1, int(os.environ.get("BENCH_USERS", "30")))
TWILIO_TOKEN = os.environ.get("BENCH_TWILIO_TOKEN", "")
# The URL Twilio (and the visitor) use, in front of the one trusted proxy.
PUBLIC_URL = os.environ.get("BENCH_PUBLIC_URL", "").rstrip("/")
SAMPLES: list[dict] = []
VOICE_FAILURE = "系统暂时出现故障"  # the phone's apology (flows/voice.yml system_error)

# (identifier, password) of the synthetic demo people whose accounts verify (README).
IDENTITIES = [("510104198503150017", "135790"), ("510106197802220036", "314159"),
              ("510107199211110041", "271828"), ("51010819881030005X", "161803")]
COMPLAINT = "今天上午在大厅办提取窗口工作人员态度很差还吼人"

# The same four conversations on every channel (the phone's keys stand for the
# chat's words); "<verify>" is the secure step, "<end>" ends the chat.
CHAT = {
    "account": ["你好", "我公积金还有好多钱", "<verify>", "我的贷款还欠多少", "提取的钱到账没有", "<end>"],
    "faq": ["公积金贷款利率是多少", "租房提取一个月能取好多", "联名卡要收年费吗", "谢谢", "<end>"],
    "complaint": ["我要投诉", "服务态度", COMPLAINT, "后子门一站式服务大厅", "不知道",
                  "13812345678", "确认", "<end>"],
    "handover": ["你好", "我要转人工", "<end>"],
}
VOICE = {
    "account": ["#1", "<id>", "<password>", "我的贷款还欠多少", "提取的钱到账没有", "再见", "#1"],
    "faq": ["公积金贷款利率是多少", "#", "#3", "#4", "联名卡要收年费吗", "再见", "#1"],
    "complaint": ["我要投诉", "#1", COMPLAINT, "后子门大厅", "不知道", "#13812345678#", "#1",
                  "再见", "#1"],
    "handover": ["你好", "我要转人工"],
}
MIX = [("account", 35), ("faq", 30), ("complaint", 20), ("handover", 15)]


def twilio_signature(url: str, params: dict[str, str], token: str) -> str:
    """``X-Twilio-Signature``: base64 HMAC-SHA1 of the URL and the sorted key+value pairs."""
    data = url + "".join(key + params[key] for key in sorted(params))
    digest = hmac.new(token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _load_tokens() -> list[tuple[str, str]]:
    path = os.environ.get("BENCH_TOKENS")
    if TARGET != "bare" or not path:
        return []
    with open(path, encoding="utf-8") as handle:
        return [tuple(line.rstrip("\n").split("\t", 1)) for line in handle if "\t" in line]


TOKENS = _load_tokens()


RETRIED: list[float] = []


def once_more(send):
    """Send; once more if the server had closed (or reset) the idle keep-alive connection
    just as it was reused (no byte answered), as browsers do. Each retry is counted."""
    response = send()
    error = repr(getattr(response, "error", ""))
    if response.status_code == 0 and ("RemoteDisconnected" in error or "ConnectionReset" in error):
        RETRIED.append(time.time())
        response = send()
    return response


def random_address() -> str:
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


class TurnFailed(Exception):
    """A turn that did not get a usable answer (counted as an error)."""


class Visitor(HttpUser):
    """One person after another: a call, a chat or (bare) a REST conversation."""

    host = os.environ.get("BENCH_BASE_URL", "http://127.0.0.1:8000")

    def wait_time(self) -> float:  # the schedule is kept in play(); no extra wait
        return 0

    def on_start(self) -> None:
        self.next_at = time.monotonic() + random.expovariate(RATE / USERS)

    # ------------------------------------------------------------- schedule

    def turn(self, channel: str, step: str, send) -> object:
        """Wait for this user's next arrival, then time ``send()`` as one turn."""
        self.next_at += random.expovariate(RATE / USERS)
        delay = self.next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        started, wall = time.perf_counter(), time.time()
        ok, result = True, None
        try:
            result = send()
        except Exception as exc:  # noqa: BLE001 - every failure is an error of this turn
            ok, result = False, exc
        latency = (time.perf_counter() - started) * 1000
        SAMPLES.append({"channel": channel, "step": step, "at": wall, "ms": latency, "ok": ok,
                        "error": None if ok else f"{type(result).__name__}: {str(result)[:80]}"})
        if not ok:
            raise StopConversation()
        return result

    @task
    def converse(self) -> None:
        kind = random.choices([k for k, _ in MIX], weights=[w for _, w in MIX])[0]
        try:
            if TARGET == "bare":
                self.rest(kind)
            elif random.random() < 0.5:
                self.call(kind)
            else:
                self.chat(kind)
        except StopConversation:
            pass
        self.client.cookies.clear()

    # ------------------------------------------------------------- web chat

    def chat(self, kind: str) -> None:
        headers = {"X-Forwarded-For": random_address(), "X-Forwarded-Proto": "https"}
        state = {"cid": None, "secure": False}
        identifier, password = random.choice(IDENTITIES)
        jar: dict[str, str] = {}

        def post(path: str, body: dict) -> dict:
            cookie = "; ".join(f"{name}={value}" for name, value in jar.items())
            response = once_more(lambda: self.client.post(
                path, json=body, headers={**headers, "Cookie": cookie}, name=path, timeout=10))
            if response.status_code != 200:
                raise TurnFailed(f"HTTP {response.status_code} {response.text[:60]}")
            jar.update(response.cookies.get_dict())
            answer = response.json()
            state["cid"], state["secure"] = answer["conversation_id"], answer.get("secure_step")
            return answer

        self.turn("chat", "session", lambda: post("/chat/api/session", {}))
        for step in CHAT[kind]:
            if step == "<verify>":
                def verify() -> dict:
                    if not state["secure"]:
                        raise TurnFailed("the secure step was not opened")
                    answer = post("/chat/api/verify", {"conversation_id": state["cid"],
                                                       "identifier": identifier, "password": password})
                    if not answer.get("verified"):
                        raise TurnFailed("verification did not succeed")
                    return answer
                self.turn("chat", step, verify)
            elif step == "<end>":
                self.turn("chat", step, lambda: post("/chat/api/end", {"conversation_id": state["cid"]}))
            else:
                self.turn("chat", step, lambda s=step: post("/chat/api/message",
                                                             {"conversation_id": state["cid"], "text": s}))

    # ------------------------------------------------------------- phone

    def call(self, kind: str) -> None:
        phone = Call(self.client, self.host, f"+86139{random.randrange(10**8):08d}")
        phone.headers = {"X-Forwarded-For": random_address(), "X-Forwarded-Proto": "https"}
        identifier, password = random.choice(IDENTITIES)
        self.turn("voice", "incoming", phone.dial)
        for step in VOICE[kind]:
            if phone.ended:
                break
            keys = {"<id>": f"#{identifier.replace('X', '*')}#", "<password>": f"#{password}#"}
            line = keys.get(step, step)
            self.turn("voice", step, lambda line=line: phone.act(line))
        phone.hang_up()

    # ------------------------------------------------------------- bare Rasa

    def rest(self, kind: str) -> None:
        if "<verify>" in CHAT[kind] and TOKENS:
            sender, outcome = TOKENS.pop()
        else:
            sender, outcome = uuid.uuid4().hex, None
        url = "/webhooks/rest/webhook"

        def say(text: str) -> list:
            response = self.client.post(url, json={"sender": sender, "message": text},
                                        name=url, timeout=10)
            if response.status_code != 200 or not isinstance(response.json(), list):
                raise TurnFailed(f"HTTP {response.status_code}")
            if not response.json():
                raise TurnFailed("empty answer")
            return response.json()

        for step in CHAT[kind]:
            if step == "<verify>":
                if outcome is None:
                    raise TurnFailed("no auth session left for the secure step")
                self.turn("rest", step, lambda: say(outcome))
            elif step == "<end>":
                self.turn("rest", step, lambda: say("/goodbye"))
            else:
                self.turn("rest", step, lambda s=step: say(s))


class StopConversation(Exception):
    """The turn failed: this person gives up and the next one comes."""


class Call:
    """A phone call as Twilio places it: signed webhooks, following <Redirect> and <Dial>."""

    def __init__(self, client, base_url: str, caller: str) -> None:
        self.client, self.host = client, base_url.rstrip("/")
        self.base = (PUBLIC_URL or self.host) + "/"
        self.headers: dict[str, str] = {}
        self.caller, self.sid = caller, "CA" + uuid.uuid4().hex
        self.gather: dict[str, str] | None = None
        self.silence_url: str | None = None
        self.ended = False

    def params(self, **extra: str) -> dict[str, str]:
        return {"CallSid": self.sid, "AccountSid": "AC" + "0" * 32, "From": self.caller,
                "To": "+862896319", "CallStatus": "in-progress", "Direction": "inbound",
                "ApiVersion": "2010-04-01", **extra}

    def post(self, url: str, params: dict[str, str]) -> str:
        """POST to the host what Twilio would post to ``url`` (the public URL), signed."""
        signature = twilio_signature(url, params, TWILIO_TOKEN)
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        response = once_more(lambda: self.client.post(
            self.host + path, data=params, name=parts.path, timeout=10,
            headers={**self.headers, "X-Twilio-Signature": signature}))
        if response.status_code != 200:
            raise TurnFailed(f"HTTP {response.status_code}")
        if VOICE_FAILURE in response.text:
            raise TurnFailed("the system-error apology")
        return response.text

    def request(self, url: str, params: dict[str, str], depth: int = 0) -> None:
        root = ET.fromstring(self.post(url, params))
        self.gather, self.silence_url = None, None
        verbs = list(root)
        for index, verb in enumerate(verbs):
            if verb.tag == "Gather":
                self.gather = dict(verb.attrib)
                self.gather["_url"] = urljoin(url, verb.get("action") or url)
                after = [v for v in verbs[index + 1:] if v.tag == "Redirect"]
                self.silence_url = urljoin(url, (after[0].text or "").strip()) if after else None
                return
            if verb.tag == "Redirect" and depth < 10:
                return self.request(urljoin(url, (verb.text or "").strip()), self.params(), depth + 1)
            if verb.tag == "Dial" and depth < 10:  # the agent answers, talks, hangs up
                action = urljoin(url, verb.get("action") or url)
                return self.request(action, self.params(DialCallStatus="completed"), depth + 1)
            if verb.tag == "Hangup":
                break
        self.hang_up()

    def dial(self) -> None:
        self.request(urljoin(self.base, "voice/incoming"), self.params())

    def act(self, line: str) -> None:
        if self.gather is None:
            raise TurnFailed("no prompt to answer")
        gather = self.gather
        if line.startswith("#"):
            finish, digits = gather.get("finishOnKey", "#"), ""
            for key in line[1:]:
                if finish and key == finish:
                    if digits:
                        break
                    continue
                digits += key
                if gather.get("numDigits") and len(digits) >= int(gather["numDigits"]):
                    break
            if not digits or "dtmf" not in gather.get("input", "dtmf"):
                self.silence()  # as on a phone: the key does nothing, the prompt times out
                return
            self.request(gather["_url"], self.params(Digits=digits))
        else:
            if "speech" not in gather.get("input", ""):
                self.silence()
                return
            self.request(gather["_url"], self.params(SpeechResult=line, Confidence="0.92"))

    def silence(self) -> None:
        if self.silence_url is None:
            raise TurnFailed("the prompt neither takes this input nor times out")
        self.request(self.silence_url, self.params())

    def hang_up(self) -> None:
        if not self.ended:
            self.ended = True
            url = urljoin(self.base, "voice/status")
            try:
                self.post(url, self.params(CallStatus="completed", CallDuration="60"))
            except Exception:  # noqa: BLE001 - the status callback is not a turn
                pass


@events.quitting.add_listener
def write_samples(environment, **_kwargs) -> None:
    path = os.environ.get("BENCH_SAMPLES")
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            for sample in SAMPLES:
                handle.write(json.dumps(sample, ensure_ascii=False) + "\n")
        with open(path + ".retries", "w", encoding="utf-8") as handle:
            handle.write("".join(f"{at}\n" for at in RETRIED))
