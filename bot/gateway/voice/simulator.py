"""A phone on the terminal: plays Twilio against the local gateway.

    python -m bot.gateway.voice.simulator                       # talk, line by line
    python -m bot.gateway.voice.simulator --script call.txt     # a scripted call
    python -m bot.gateway.voice.simulator --script-text '#1|#510104198503150017#|#135790#'

It posts the webhooks Twilio would post (``/voice/incoming``, the ``<Gather>``
actions, ``<Redirect>``, ``<Dial>`` and status callbacks), each signed with
``X-Twilio-Signature`` like Twilio does, and prints what the caller would hear.

What you type:

- ``#`` followed by keys presses them: ``#1``, ``#0``, ``#*`` (repeat),
  ``##`` (the # key), ``#510104198503150017#`` (digits ending with #; an ID's
  X is ``*``);
- an empty line or ``.`` stays silent until the prompt times out;
- ``!hangup`` hangs up;
- anything else is said (as Twilio's speech recognition would write it).

In script files, lines starting with ``;`` are comments. The gateway must be
running (``make run``); ``--url`` says where (default ``http://127.0.0.1:8000``).
"""
from __future__ import annotations

import argparse
import secrets
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Iterable, TextIO
from urllib.parse import urljoin

import requests

from bot.gateway.voice.security import SIGNATURE_HEADER, sign

ACCOUNT_SID = "AC" + "0" * 32
MAX_FOLLOW = 10


@dataclass
class Heard:
    """What the caller heard after one action, and what the line expects next."""

    texts: list[str] = field(default_factory=list)
    gather: dict[str, str] | None = None
    transferred_to: str | None = None
    ended: bool = False
    documents: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.texts)


class CallEnded(RuntimeError):
    """The line is dead: nothing more can be pressed or said."""


class PhoneSimulator:
    """One simulated call to the gateway."""

    def __init__(self, base_url: str, auth_token: str, *, from_number: str = "+8613800000001",
                 to_number: str = "+862896319", call_sid: str | None = None,
                 agent: str = "answer", session: requests.Session | None = None,
                 timeout: float = 20.0) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.auth_token = auth_token
        self.from_number = from_number
        self.to_number = to_number
        self.call_sid = call_sid or "CA" + secrets.token_hex(16)
        self.agent = agent
        self.http = session or requests.Session()
        self.timeout = timeout
        self.started = time.monotonic()
        self.gather: dict[str, str] | None = None
        self._gather_url = ""
        self._silence_url: str | None = None
        self.ended = False
        self.transcript: list[tuple[str, str]] = []
        self.latencies_ms: list[float] = []
        self.last_request: tuple[str, dict[str, str]] | None = None

    # ------------------------------------------------------------ the wire

    def _params(self, **extra: str) -> dict[str, str]:
        params = {
            "CallSid": self.call_sid, "AccountSid": ACCOUNT_SID, "From": self.from_number,
            "To": self.to_number, "CallStatus": "in-progress", "Direction": "inbound",
            "ApiVersion": "2010-04-01",
        }
        params.update(extra)
        return params

    def post(self, url: str, params: dict[str, str], *, signature: str | None = None) -> requests.Response:
        """POST signed form parameters to ``url`` (absolute), as Twilio does."""
        headers = {SIGNATURE_HEADER: signature if signature is not None
                   else sign(url, params, self.auth_token)}
        started = time.monotonic()
        response = self.http.post(url, data=params, headers=headers, timeout=self.timeout)
        self.latencies_ms.append((time.monotonic() - started) * 1000)
        return response

    def _request(self, url: str, params: dict[str, str], heard: Heard, depth: int = 0) -> Heard:
        self.last_request = (url, dict(params))
        response = self.post(url, params)
        if response.status_code != 200:
            raise RuntimeError(f"gateway answered HTTP {response.status_code} for {url}")
        heard.documents.append(response.text)
        heard.latencies_ms.append(self.latencies_ms[-1])
        return self._play(ET.fromstring(response.content), url, heard, depth)

    def _play(self, root: ET.Element, url: str, heard: Heard, depth: int) -> Heard:
        self.gather, self._silence_url = None, None
        children = list(root)
        for index, verb in enumerate(children):
            if verb.tag == "Say":
                heard.texts.append(_spoken(verb))
            elif verb.tag == "Gather":
                heard.texts.extend(_spoken(say) for say in verb.iter("Say"))
                self.gather = dict(verb.attrib)
                self._gather_url = urljoin(url, verb.get("action") or url)
                after = [v for v in children[index + 1:] if v.tag == "Redirect"]
                self._silence_url = urljoin(url, (after[0].text or "").strip()) if after else None
                heard.gather = self.gather
                return heard
            elif verb.tag == "Redirect":
                if depth >= MAX_FOLLOW:
                    raise RuntimeError("too many redirects")
                return self._request(urljoin(url, (verb.text or "").strip()), self._params(),
                                     heard, depth + 1)
            elif verb.tag == "Dial":
                target = "".join(verb.itertext()).strip()
                heard.transferred_to = target
                # The agent answers and later hangs up (completed), or never answers.
                status = "completed" if self.agent == "answer" else self.agent
                action = urljoin(url, verb.get("action") or url)
                return self._request(action, self._params(DialCallStatus=status), heard, depth + 1)
            elif verb.tag == "Hangup":
                self._end(heard)
                return heard
        # A document without Gather, Dial or Hangup ends the call, as on Twilio.
        self._end(heard)
        return heard

    def _end(self, heard: Heard) -> None:
        heard.ended = self.ended = True
        self.gather = None
        self.status_callback("completed")

    # ------------------------------------------------------------ the caller

    def dial(self) -> Heard:
        """The call comes in."""
        return self._request(urljoin(self.base_url, "voice/incoming"), self._params(), Heard())

    def press(self, keys: str) -> Heard:
        """Press keys at the current prompt (Twilio stops at finishOnKey or numDigits)."""
        gather = self._current()
        finish = gather.get("finishOnKey", "#")
        digits = ""
        for key in keys:
            if finish and key == finish:
                if digits:
                    break
                continue  # a finish key with nothing before it does nothing
            digits += key
            if gather.get("numDigits") and len(digits) >= int(gather["numDigits"]):
                break
        if "dtmf" not in gather.get("input", "dtmf") or not digits:
            return self.silence()
        self.transcript.append(("keys", keys))
        return self._request(self._gather_url, self._params(Digits=digits), Heard())

    def say(self, text: str) -> Heard:
        """Speak at the current prompt (ignored, like silence, where only keys are taken)."""
        gather = self._current()
        if "speech" not in gather.get("input", ""):
            return self.silence()
        self.transcript.append(("speech", text))
        return self._request(self._gather_url,
                             self._params(SpeechResult=text, Confidence="0.92"), Heard())

    def silence(self) -> Heard:
        """Stay silent until the prompt times out."""
        self._current()
        self.transcript.append(("silence", ""))
        if self._silence_url is None:
            self._end(Heard())
            return Heard(ended=True)
        return self._request(self._silence_url, self._params(), Heard())

    def resend(self) -> str:
        """Post the last webhook again, as Twilio does when an answer is late or lost.

        Returns the TwiML answered (not played: the call goes on where it was).
        """
        if self.last_request is None:
            raise RuntimeError("nothing was sent yet")
        url, params = self.last_request
        response = self.post(url, params)
        if response.status_code != 200:
            raise RuntimeError(f"gateway answered HTTP {response.status_code} for {url}")
        return response.text

    def hang_up(self) -> None:
        """The caller hangs up."""
        if not self.ended:
            self.ended = True
            self.gather = None
            self.status_callback("completed")

    def status_callback(self, status: str) -> None:
        duration = str(int(time.monotonic() - self.started))
        url = urljoin(self.base_url, "voice/status")
        self.post(url, self._params(CallStatus=status, CallDuration=duration))

    def _current(self) -> dict[str, str]:
        if self.ended or self.gather is None:
            raise CallEnded("the call has ended")
        return self.gather

    def act(self, line: str) -> Heard | None:
        """One line of the simulator's input language (see the module doc)."""
        line = line.strip()
        if line.startswith("!"):
            self.hang_up()
            return None
        if line in ("", "."):
            return self.silence()
        if line.startswith("#"):
            return self.press(line[1:])
        return self.say(line)


def _spoken(say: ET.Element) -> str:
    """The text of a <Say>, with its SSML breaks as spaces."""
    pieces = [say.text or ""]
    for child in say:
        pieces.append(" " if child.tag == "break" else "".join(child.itertext()))
        pieces.append(child.tail or "")
    return "".join(pieces).strip()


def _describe_gather(gather: dict[str, str]) -> str:
    wants = []
    if "dtmf" in gather.get("input", ""):
        if gather.get("numDigits") == "1":
            wants.append("一个按键")
        else:
            wants.append("按键，以#结束" if gather.get("finishOnKey") == "#" else "按键")
    if "speech" in gather.get("input", ""):
        wants.append("说话")
    return "（请" + "或".join(wants) + "）"


def run(phone: PhoneSimulator, lines: Iterable[str] | None, out: TextIO, echo: bool) -> int:
    """Play a call; ``lines`` None means interactive input."""
    def show(heard: Heard | None) -> None:
        if heard is None:
            return
        for text in heard.texts:
            if text:
                print(f"热线：{text}", file=out)
        if heard.transferred_to:
            print(f"（转接 {heard.transferred_to}）", file=out)
        if heard.ended:
            print("（通话结束）", file=out)
        elif heard.gather:
            print(_describe_gather(heard.gather), file=out)

    show(phone.dial())
    source = iter(lines) if lines is not None else None
    while not phone.ended:
        if source is None:
            try:
                line = input("> ")
            except EOFError:
                phone.hang_up()
                break
        else:
            try:
                line = next(source)
            except StopIteration:
                phone.hang_up()
                print("（来电者挂机）", file=out)
                break
            if line.lstrip().startswith(";"):
                continue
            if echo:
                print(f"来电：{line.strip() or '（沉默）'}", file=out)
        show(phone.act(line))
    return 0


def main(argv: list[str] | None = None) -> int:
    from bot.settings import load_settings

    parser = argparse.ArgumentParser(prog="python -m bot.gateway.voice.simulator",
                                     description="Call the 96319 hotline on the local gateway.")
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the gateway's base URL")
    parser.add_argument("--from", dest="from_number", default="+8613800000001",
                        help="the caller's number (E.164)")
    parser.add_argument("--agent", choices=["answer", "busy", "no-answer"], default="answer",
                        help="what the agents do when the call is transferred")
    parser.add_argument("--auth-token", help="Twilio auth token to sign with (default: TWILIO_AUTH_TOKEN)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--script", type=argparse.FileType("r", encoding="utf-8"),
                       help="a file with one input per line")
    group.add_argument("--script-text", help="inputs separated by |")
    args = parser.parse_args(argv)
    token = args.auth_token or load_settings().twilio_auth_token
    phone = PhoneSimulator(args.url, token, from_number=args.from_number, agent=args.agent)
    lines: list[str] | None = None
    if args.script:
        lines = args.script.read().splitlines()
    elif args.script_text is not None:
        lines = args.script_text.split("|")
    try:
        return run(phone, lines, sys.stdout, echo=lines is not None)
    except requests.RequestException as exc:
        print(f"cannot reach the gateway at {args.url}: {exc.__class__.__name__} "
              "(is `make run` running?)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
