"""Webhook signatures, the public URL behind a proxy, sealing, log redaction.

- :func:`public_url` rebuilds the URL Twilio requested (and signed): from
  ``PUBLIC_BASE_URL`` when set, else from the request's scheme and host, which
  behind ``TRUSTED_PROXIES`` proxies are their ``X-Forwarded-Proto``/``-Host``
  (ProxyFix, applied by :func:`bot.gateway.create_app`).
- :func:`signature_ok` checks ``X-Twilio-Signature`` with twilio's own
  :class:`~twilio.request_validator.RequestValidator`. It fails closed: no
  signature, no token, or a production gateway still on the development token
  is a refusal.
- :func:`identifier_seal` keeps the identifier typed before the password
  (ID, account or card number) encrypted at rest for the seconds between two
  webhooks (:class:`bot.records.sealing.Seal`: AES-GCM, key derived from
  ``SECRET_KEY``, bound to the CallSid).
- :func:`describe_input` is what the request log says about a caller's input:
  key values only at menus, never during the secure step or number entry.
- :func:`throttled_words`: what a caller hears when the calling number failed
  verification too often (:mod:`bot.records.throttle`).
"""
from __future__ import annotations

from flask import Request
from twilio.request_validator import RequestValidator

from bot.flows.voice import Secure
from bot.records.sealing import Seal
from bot.records.throttle import wait_span
from bot.settings import Settings

SIGNATURE_HEADER = "X-Twilio-Signature"
_DEV_TOKEN = Settings().twilio_auth_token


def public_url(request: Request, settings: Settings) -> str:
    """The absolute URL Twilio used for this request, query string included."""
    query = request.query_string.decode("latin-1")
    suffix = request.path + (f"?{query}" if query else "")
    if settings.public_base_url:
        return settings.public_base_url + suffix
    return f"{request.scheme}://{request.host}{suffix}"


def signature_ok(request: Request, settings: Settings) -> bool:
    """True only for a request signed by Twilio with our auth token."""
    signature = request.headers.get(SIGNATURE_HEADER, "")
    token = settings.twilio_auth_token
    if not signature or not token:
        return False
    if settings.is_production and token == _DEV_TOKEN:
        return False
    params = request.form.to_dict(flat=True) if request.method == "POST" else {}
    return RequestValidator(token).validate(public_url(request, settings), params, signature)


def sign(url: str, params: dict[str, str], auth_token: str) -> str:
    """The ``X-Twilio-Signature`` Twilio would send (for the simulator and tests)."""
    return RequestValidator(auth_token).compute_signature(url, params)


def identifier_seal(secret_key: str) -> Seal:
    """Encrypts an identifier for one call (the call SID is the context); only
    this gateway's key can open it, and never for another call."""
    return Seal(secret_key, "voice-identifier-seal")


def describe_input(digits: str | None, speech: str | None, *, reveal_keys: bool) -> str:
    """A log-safe summary of what the caller pressed or said."""
    pieces = []
    if digits is not None:
        if reveal_keys and len(digits) <= 1:
            pieces.append(f"keys={digits!r}")
        else:
            pieces.append(f"keys=[redacted, {len(digits)}]")
    if speech is not None:
        pieces.append(f"speech=[{len(speech)} chars]")
    return " ".join(pieces) or "no input"


def throttled_words(secure: Secure, retry_after_seconds: int) -> str:
    """The wait a throttled caller is told, in minutes up to two hours, else hours."""
    unit, amount = wait_span(retry_after_seconds)
    if unit == "minutes":
        return secure.throttled_minutes.format(minutes=amount)
    return secure.throttled_hours.format(hours=amount)
