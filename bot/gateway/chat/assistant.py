"""HTTP client of the gateway for Rasa's ``webchat`` channel and tracker API.

One turn is one POST to ``/webhooks/webchat/webhook`` with the gateway secret
(see :mod:`bot.channels.gateway` for the wire format). The read timeout is short
on purpose: a visitor must get an answer, or the hotline number, within seconds.
Any failure (connection refused, timeout, HTTP error, a reply that is not a list,
or no reply at all, which is what Rasa returns when the action server is down)
raises :class:`AssistantUnavailable`; callers turn it into the apology.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any
from urllib.parse import quote

import requests

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 2.0
SECRET_HEADER = "X-Gateway-Secret"
CHANNEL = "webchat"


class AssistantUnavailable(RuntimeError):
    """Rasa or the action server did not answer in time, or answered nothing usable."""


class WebchatAssistant:
    """Talks to Rasa for the web chat; safe to share between request threads."""

    def __init__(self, rasa_url: str, *, channel_secret: str, api_token: str, timeout: float):
        self.webhook_url = f"{rasa_url.rstrip('/')}/webhooks/{CHANNEL}/webhook"
        self.rasa_url = rasa_url.rstrip("/")
        self.channel_secret = channel_secret
        self.api_token = api_token
        self.timeout = (CONNECT_TIMEOUT_SECONDS, float(timeout))
        self._local = threading.local()

    def _http(self) -> requests.Session:
        http = getattr(self._local, "http", None)
        if http is None:
            http = self._local.http = requests.Session()
        return http

    def send_text(
        self, sender: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Forward what the visitor typed (the channel strips any leading "/")."""
        return self._post(
            {"sender": sender, "kind": "text", "text": text, "metadata": metadata or {}}
        )

    def send_intent(
        self,
        sender: str,
        intent: str,
        entities: dict[str, str] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Send the gateway's own intent message (menu choice, secure-step outcome)."""
        return self._post(
            {
                "sender": sender,
                "kind": "intent",
                "intent": intent,
                "entities": entities or {},
                "metadata": metadata or {},
            }
        )

    def _post(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        started = time.monotonic()
        try:
            response = self._http().post(
                self.webhook_url,
                json=body,
                headers={SECRET_HEADER: self.channel_secret},
                timeout=self.timeout,
            )
            response.raise_for_status()
            messages = response.json()
        except (requests.RequestException, ValueError) as exc:
            logger.warning(
                "webchat turn failed after %.2f s: %s",
                time.monotonic() - started,
                type(exc).__name__,
            )
            raise AssistantUnavailable(type(exc).__name__) from exc
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            raise AssistantUnavailable("reply is not a list of messages")
        if not messages:
            # Rasa answers an empty list when a custom action could not run.
            logger.warning("webchat turn got no reply (action server down?)")
            raise AssistantUnavailable("empty reply")
        logger.info("webchat turn answered in %.3f s", time.monotonic() - started)
        return messages

    def events(self, sender: str) -> list[dict[str, Any]]:
        """The conversation's events since its last restart (for the history on reload)."""
        try:
            response = self._http().get(
                f"{self.rasa_url}/conversations/{quote(sender, safe='')}/tracker",
                params={"token": self.api_token, "include_events": "AFTER_RESTART"},
                timeout=self.timeout,
            )
            response.raise_for_status()
            tracker = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise AssistantUnavailable(type(exc).__name__) from exc
        events = tracker.get("events") if isinstance(tracker, dict) else None
        if not isinstance(events, list):
            raise AssistantUnavailable("tracker without events")
        return [event for event in events if isinstance(event, dict)]
