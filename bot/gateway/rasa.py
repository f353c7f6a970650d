"""The gateway's one HTTP client for Rasa: channel turns, tracker reads and moves.

Voice and web chat talk to Rasa through the gateway-only input channels
(:mod:`bot.channels.gateway`, wire format there); the chat history is read from
Rasa's tracker API, and a verified chat's tracker is copied to its new id there.
One class owns the wire format and the failure rule: every problem (refused
connection, timeout, HTTP error, a reply that is not a list of messages, an
empty reply, the failed-turn marker of :mod:`bot.contract` because an action
could not run) raises :class:`AssistantUnavailable`, which every caller turns
into the apology.
The header name comes from :mod:`bot.contract`, the owner of both ends.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Optional
from urllib.parse import quote

import requests

from bot.contract import SECRET_HEADER, SecureOutcome, turn_failure
from bot.metrics import observe_rasa

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 1.0


class AssistantUnavailable(RuntimeError):
    """Rasa (or the action server behind it) gave no usable answer in time.

    ``reason`` names the failure for the metrics (:data:`bot.metrics.RASA_REASONS`);
    without it they read the cause (a time-out, no connection).
    """

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason


class RasaClient:
    """Sends one channel's turns to Rasa; safe to share between request threads.

    Args:
        rasa_url: base URL of the Rasa server, e.g. ``http://127.0.0.1:5005``.
        channel: the gateway channel's name (``voice`` or ``webchat``).
        channel_secret: ``GATEWAY_CHANNEL_SECRET``, sent in :data:`SECRET_HEADER`.
        api_token: Rasa's HTTP API token (tracker reads).
        timeout: default read timeout of a turn, in seconds.
        http: a ``requests.Session`` to use instead of one per thread (tests, benchmarks).
    """

    def __init__(
        self,
        rasa_url: str,
        *,
        channel: str,
        channel_secret: str,
        api_token: str = "",
        timeout: float = 8.0,
        http: Optional[requests.Session] = None,
    ) -> None:
        self.rasa_url = rasa_url.rstrip("/")
        self.channel = channel
        self.webhook_url = f"{self.rasa_url}/webhooks/{channel}/webhook"
        self._secret = channel_secret
        self._api_token = api_token
        self.timeout = float(timeout)
        self._shared_http = http
        self._local = threading.local()

    def _http(self) -> requests.Session:
        if self._shared_http is not None:
            return self._shared_http
        http = getattr(self._local, "http", None)
        if http is None:
            http = self._local.http = requests.Session()
        return http

    def send_text(
        self,
        sender: str,
        text: str,
        *,
        metadata: Optional[dict[str, Any]] = None,
        timeout: Optional[float] = None,
    ) -> list[dict[str, Any]]:
        """What a person said or typed; Rasa's channel neutralises any leading "/"."""
        body = {"sender": sender, "kind": "text", "text": text, "metadata": metadata or {}}
        return self._post(body, timeout)

    def send_intent(
        self,
        sender: str,
        intent: str,
        entities: Optional[dict[str, str]] = None,
        *,
        metadata: Optional[dict[str, Any]] = None,
        timeout: Optional[float] = None,
    ) -> list[dict[str, Any]]:
        """A message of the gateway's own: a menu choice or a secure-step outcome."""
        body = {
            "sender": sender,
            "kind": "intent",
            "intent": intent,
            "entities": entities or {},
            "metadata": metadata or {},
        }
        return self._post(body, timeout)

    def send_outcome(
        self,
        sender: str,
        outcome: SecureOutcome,
        *,
        metadata: Optional[dict[str, Any]] = None,
        timeout: Optional[float] = None,
    ) -> list[dict[str, Any]]:
        """Tell Rasa how the secure step ended (:func:`bot.contract.secure_step_outcome`)."""
        return self.send_intent(
            sender, outcome.intent, outcome.entities, metadata=metadata, timeout=timeout
        )

    @observe_rasa
    def _post(self, body: dict[str, Any], timeout: Optional[float]) -> list[dict[str, Any]]:
        read_timeout = self.timeout if timeout is None else float(timeout)
        if read_timeout <= 0:
            raise AssistantUnavailable("no time left for Rasa within the turn deadline", "no_time")
        started = time.monotonic()
        try:
            response = self._http().post(
                self.webhook_url,
                json=body,
                headers={SECRET_HEADER: self._secret},
                timeout=(min(CONNECT_TIMEOUT_SECONDS, read_timeout), read_timeout),
            )
        except requests.Timeout as exc:
            raise AssistantUnavailable(f"Rasa did not answer within {read_timeout:.1f} s") from exc
        except requests.RequestException as exc:
            raise AssistantUnavailable(
                f"Rasa cannot be reached at {self.webhook_url}: {exc.__class__.__name__}"
            ) from exc
        if response.status_code == 403:
            raise AssistantUnavailable(
                "Rasa refused the gateway's channel secret: GATEWAY_CHANNEL_SECRET differs "
                "between the gateway and Rasa", "refused"
            )
        if response.status_code != 200:
            raise AssistantUnavailable(f"Rasa answered HTTP {response.status_code}", "http_error")
        try:
            messages = response.json()
        except ValueError as exc:
            raise AssistantUnavailable("Rasa's answer is not JSON") from exc
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            raise AssistantUnavailable("Rasa's answer is not a list of messages", "bad_reply")
        if not messages:
            # Rasa answers nothing when a custom action failed (action server down).
            raise AssistantUnavailable("Rasa answered no message (is the action server up?)",
                                      "no_reply")
        failure = turn_failure(messages)  # an action of the turn could not run (bot.contract)
        if failure:
            raise AssistantUnavailable(f"Rasa could not finish the turn: {failure}", failure)
        logger.info(
            "%s turn answered in %.3f s", self.channel, time.monotonic() - started
        )
        return messages

    def events(self, sender: str) -> list[dict[str, Any]]:
        """The conversation's events since its last restart (chat history on reload)."""
        try:
            response = self._http().get(
                f"{self.rasa_url}/conversations/{quote(sender, safe='')}/tracker",
                params={"token": self._api_token, "include_events": "AFTER_RESTART"},
                timeout=(CONNECT_TIMEOUT_SECONDS, self.timeout),
            )
            response.raise_for_status()
            tracker = response.json()
        except requests.Timeout as exc:
            raise AssistantUnavailable("Rasa's tracker did not answer in time") from exc
        except (requests.RequestException, ValueError) as exc:
            raise AssistantUnavailable(
                f"Rasa's tracker cannot be read: {exc.__class__.__name__}"
            ) from exc
        events = tracker.get("events") if isinstance(tracker, dict) else None
        if not isinstance(events, list):
            raise AssistantUnavailable("Rasa's tracker has no event list")
        return [event for event in events if isinstance(event, dict)]

    def replace_events(self, sender: str, events: list[dict[str, Any]]) -> None:
        """Make ``events`` the whole tracker of ``sender`` (a chat moved to a new id)."""
        try:
            response = self._http().put(
                f"{self.rasa_url}/conversations/{quote(sender, safe='')}/tracker/events",
                params={"token": self._api_token},
                json=events,
                timeout=(CONNECT_TIMEOUT_SECONDS, self.timeout),
            )
            response.raise_for_status()
        except requests.Timeout as exc:
            raise AssistantUnavailable("Rasa's tracker did not answer in time") from exc
        except requests.RequestException as exc:
            raise AssistantUnavailable(
                f"Rasa's tracker cannot be written: {exc.__class__.__name__}"
            ) from exc
