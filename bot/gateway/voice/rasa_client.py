"""The gateway's HTTP client for Rasa's ``voice`` channel (bot/channels/voice.py).

One small class owns the wire format and the failure rules: every problem
(refused connection, timeout, HTTP error, a reply that is not a list of
messages, an empty reply because the action server failed) becomes
:class:`RasaUnavailable`, so the caller hears an apology instead of silence.
"""
from __future__ import annotations

import logging
from typing import Any

import requests

logger = logging.getLogger(__name__)

# The header bot.channels.gateway checks (that module needs Rasa, which the
# gateway's environment does not have).
SECRET_HEADER = "X-Gateway-Secret"

WEBHOOK_PATH = "/webhooks/voice/webhook"
CONNECT_TIMEOUT = 1.0


class RasaUnavailable(RuntimeError):
    """Rasa (or the action server behind it) gave no usable answer in time."""


class RasaVoiceClient:
    """Sends a caller's turn to Rasa and returns the assistant's messages."""

    def __init__(self, rasa_url: str, channel_secret: str,
                 session: requests.Session | None = None) -> None:
        self.url = rasa_url.rstrip("/") + WEBHOOK_PATH
        self._secret = channel_secret
        self._session = session or requests.Session()

    def send_text(self, sender: str, text: str, *, metadata: dict[str, Any],
                  timeout: float) -> list[dict[str, Any]]:
        """What the caller said (or keyed in as an answer), as their message."""
        return self._post({"sender": sender, "kind": "text", "text": text,
                           "metadata": metadata}, timeout)

    def send_intent(self, sender: str, intent: str, entities: dict[str, str] | None = None, *,
                    metadata: dict[str, Any], timeout: float) -> list[dict[str, Any]]:
        """A message of the gateway's own: a keypad choice or a secure-step outcome."""
        return self._post({"sender": sender, "kind": "intent", "intent": intent,
                           "entities": entities or {}, "metadata": metadata}, timeout)

    def _post(self, body: dict[str, Any], timeout: float) -> list[dict[str, Any]]:
        if timeout <= 0:
            raise RasaUnavailable("no time left for Rasa within the turn deadline")
        try:
            response = self._session.post(
                self.url,
                json=body,
                headers={SECRET_HEADER: self._secret},
                timeout=(min(CONNECT_TIMEOUT, timeout), timeout),
            )
        except requests.Timeout as exc:
            raise RasaUnavailable(f"Rasa did not answer within {timeout:.1f} s") from exc
        except requests.RequestException as exc:
            raise RasaUnavailable(f"Rasa cannot be reached at {self.url}: {exc.__class__.__name__}") from exc
        if response.status_code == 403:
            raise RasaUnavailable(
                "Rasa refused the gateway's channel secret: GATEWAY_CHANNEL_SECRET differs "
                "between the gateway and Rasa"
            )
        if response.status_code != 200:
            raise RasaUnavailable(f"Rasa answered HTTP {response.status_code}")
        try:
            messages = response.json()
        except ValueError as exc:
            raise RasaUnavailable("Rasa's answer is not JSON") from exc
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            raise RasaUnavailable("Rasa's answer is not a list of messages")
        if not messages:
            # Rasa answers nothing when a custom action failed (action server down).
            raise RasaUnavailable("Rasa answered no message (is the action server up?)")
        return messages
