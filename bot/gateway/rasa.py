"""The gateway's one HTTP client for Rasa: channel turns, tracker reads and moves.

Voice and web chat talk to Rasa through the gateway-only input channels
(:mod:`bot.channels.gateway`, wire format there); the chat history is read from
Rasa's tracker API, and a verified chat's tracker is copied to its new id there.
One class owns the wire format and the failure rule: every problem (refused
connection, timeout, HTTP error, a reply that is not a list of messages, an
empty reply because the action server could not run an action) raises
:class:`AssistantUnavailable`, which every caller turns into the apology.
The header name comes from :mod:`bot.contract`, the owner of both ends.

Several Rasa replicas (``RASA_URLS``) share one tracker store and one lock
store. Each conversation id goes to one replica, chosen by rendezvous
(highest-random-weight) hashing, so that removing a replica moves only its own
conversations. When the chosen replica certainly did not get the request
(connection refused, connect timeout, HTTP 502/503 from a proxy in front of a
dead replica), the turn goes to the next replica in that conversation's order,
and the failed replica is skipped for :data:`DOWN_SECONDS`. After a read
timeout or any other error the turn may have been processed: it is never sent
again (nothing may be said twice); the caller hears the apology instead.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from typing import Any, Optional, Sequence, Union
from urllib.parse import quote

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from bot.contract import SECRET_HEADER, SecureOutcome

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 1.0
DOWN_SECONDS = 5.0  # a replica that did not answer is skipped this long
# Answers of a proxy whose replica is gone: the turn did not reach Rasa.
NOT_DELIVERED_STATUSES = frozenset({502, 503})


class AssistantUnavailable(RuntimeError):
    """Rasa (or the action server behind it) gave no usable answer in time."""


class NotDelivered(AssistantUnavailable):
    """No replica got the request: each one refused it or could not be reached."""


def rendezvous_order(replicas: Sequence[str], sender: str) -> list[str]:
    """``replicas`` in the order a conversation tries them: highest hash weight first.

    The weight of a replica depends only on the replica and the conversation
    id, so removing or adding a replica moves only the conversations whose
    first choice it is.
    """
    def weight(replica: str) -> int:
        digest = hashlib.blake2b(f"{replica}\n{sender}".encode("utf-8"), digest_size=8)
        return int.from_bytes(digest.digest(), "big")

    return sorted(replicas, key=weight, reverse=True)


def not_delivered(exc: requests.RequestException) -> bool:
    """True when the request certainly did not reach the server (safe to send elsewhere).

    A refused connection or a connect timeout is; a read timeout or a connection
    dropped after the request was sent is not: Rasa may have processed the turn.
    """
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError):
        return False
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
    return isinstance(reason, (NewConnectionError, ConnectTimeoutError))


class RasaClient:
    """Sends one channel's turns to Rasa's replicas; safe to share between request threads.

    Args:
        rasa_url: base URL of the Rasa server, e.g. ``http://127.0.0.1:5005``,
            or every replica's (``Settings.replica_urls``).
        channel: the gateway channel's name (``voice`` or ``webchat``).
        channel_secret: ``GATEWAY_CHANNEL_SECRET``, sent in :data:`SECRET_HEADER`.
        api_token: Rasa's HTTP API token (tracker reads).
        timeout: default read timeout of a turn, in seconds.
        http: a ``requests.Session`` to use instead of one per thread (tests, benchmarks).
        down_seconds: how long a replica that did not answer is skipped.
    """

    def __init__(
        self,
        rasa_url: Union[str, Sequence[str]],
        *,
        channel: str,
        channel_secret: str,
        api_token: str = "",
        timeout: float = 8.0,
        http: Optional[requests.Session] = None,
        down_seconds: float = DOWN_SECONDS,
    ) -> None:
        urls = [rasa_url] if isinstance(rasa_url, str) else list(rasa_url)
        self.replicas = tuple(dict.fromkeys(url.rstrip("/") for url in urls if url))
        if not self.replicas:
            raise ValueError("RasaClient needs at least one Rasa URL")
        self.rasa_url = self.replicas[0]
        self.channel = channel
        self.webhook_url = self._webhook(self.rasa_url)
        self._secret = channel_secret
        self._api_token = api_token
        self.timeout = float(timeout)
        self.down_seconds = float(down_seconds)
        self._shared_http = http
        self._local = threading.local()
        self._down_until: dict[str, float] = {}
        self._down_lock = threading.Lock()

    def _webhook(self, replica: str) -> str:
        return f"{replica}/webhooks/{self.channel}/webhook"

    def _http(self) -> requests.Session:
        if self._shared_http is not None:
            return self._shared_http
        http = getattr(self._local, "http", None)
        if http is None:
            http = self._local.http = requests.Session()
        return http

    # ------------------------------------------------------------------ routing

    def route(self, sender: str) -> list[str]:
        """The replicas to try for ``sender``: its rendezvous order, replicas marked down last."""
        order = rendezvous_order(self.replicas, sender)
        now = time.monotonic()
        with self._down_lock:
            up = [r for r in order if self._down_until.get(r, 0.0) <= now]
        return up + [r for r in order if r not in up]

    def mark_down(self, replica: str) -> None:
        with self._down_lock:
            self._down_until[replica] = time.monotonic() + self.down_seconds
        logger.warning("Rasa replica %s did not answer; skipped for %.0f s", replica,
                       self.down_seconds)

    def _mark_up(self, replica: str) -> None:
        if replica in self._down_until:
            with self._down_lock:
                self._down_until.pop(replica, None)

    def _request(self, method: str, sender: str, path: str, read_timeout: float,
                 **kwargs: Any) -> requests.Response:
        """Send to the first replica of ``sender``'s route that gets it; fail over only
        when a replica certainly did not (see :func:`not_delivered`).

        ``path`` is appended to the replica's base URL. Raises the last
        :class:`requests.RequestException` when the failure may have reached
        Rasa, and :class:`NotDelivered` when no replica got the request.
        """
        started = time.monotonic()
        failures = []
        for replica in self.route(sender):
            left = read_timeout - (time.monotonic() - started)
            if left <= 0:
                break
            try:
                response = self._http().request(
                    method, f"{replica}{path}",
                    timeout=(min(CONNECT_TIMEOUT_SECONDS, left), left), **kwargs,
                )
            except requests.RequestException as exc:
                if not not_delivered(exc):
                    raise
                failures.append(f"{replica}: {exc.__class__.__name__}")
                self.mark_down(replica)
                continue
            if response.status_code in NOT_DELIVERED_STATUSES:
                failures.append(f"{replica}: HTTP {response.status_code}")
                self.mark_down(replica)
                continue
            self._mark_up(replica)
            return response
        raise NotDelivered("no Rasa replica could be reached (" + "; ".join(failures) + ")")

    # ------------------------------------------------------------------ turns

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

    def _post(self, body: dict[str, Any], timeout: Optional[float]) -> list[dict[str, Any]]:
        read_timeout = self.timeout if timeout is None else float(timeout)
        if read_timeout <= 0:
            raise AssistantUnavailable("no time left for Rasa within the turn deadline")
        started = time.monotonic()
        try:
            response = self._request(
                "POST", str(body.get("sender", "")), f"/webhooks/{self.channel}/webhook",
                read_timeout, json=body, headers={SECRET_HEADER: self._secret},
            )
        except requests.Timeout as exc:
            raise AssistantUnavailable(f"Rasa did not answer within {read_timeout:.1f} s") from exc
        except NotDelivered as exc:
            raise AssistantUnavailable(f"Rasa cannot be reached: {exc}") from exc
        except requests.RequestException as exc:
            raise AssistantUnavailable(
                f"Rasa cannot be reached (the turn may have reached it): {exc.__class__.__name__}"
            ) from exc
        if response.status_code == 403:
            raise AssistantUnavailable(
                "Rasa refused the gateway's channel secret: GATEWAY_CHANNEL_SECRET differs "
                "between the gateway and Rasa"
            )
        if response.status_code != 200:
            raise AssistantUnavailable(f"Rasa answered HTTP {response.status_code}")
        try:
            messages = response.json()
        except ValueError as exc:
            raise AssistantUnavailable("Rasa's answer is not JSON") from exc
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            raise AssistantUnavailable("Rasa's answer is not a list of messages")
        if not messages:
            # Rasa answers nothing when a custom action failed (action server down).
            raise AssistantUnavailable("Rasa answered no message (is the action server up?)")
        logger.info(
            "%s turn answered in %.3f s", self.channel, time.monotonic() - started
        )
        return messages

    # ------------------------------------------------------------------ tracker

    def events(self, sender: str) -> list[dict[str, Any]]:
        """The conversation's events since its last restart (chat history on reload)."""
        try:
            response = self._request(
                "GET", sender, f"/conversations/{quote(sender, safe='')}/tracker", self.timeout,
                params={"token": self._api_token, "include_events": "AFTER_RESTART"},
            )
            response.raise_for_status()
            tracker = response.json()
        except requests.Timeout as exc:
            raise AssistantUnavailable("Rasa's tracker did not answer in time") from exc
        except NotDelivered as exc:
            raise AssistantUnavailable(f"Rasa's tracker cannot be read: {exc}") from exc
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
            response = self._request(
                "PUT", sender, f"/conversations/{quote(sender, safe='')}/tracker/events",
                self.timeout, params={"token": self._api_token}, json=events,
            )
            response.raise_for_status()
        except requests.Timeout as exc:
            raise AssistantUnavailable("Rasa's tracker did not answer in time") from exc
        except NotDelivered as exc:
            raise AssistantUnavailable(f"Rasa's tracker cannot be written: {exc}") from exc
        except requests.RequestException as exc:
            raise AssistantUnavailable(
                f"Rasa's tracker cannot be written: {exc.__class__.__name__}"
            ) from exc
