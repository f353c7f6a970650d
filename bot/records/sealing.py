"""Sealing small secrets at rest: AES-GCM under a key derived from ``SECRET_KEY``.

A :class:`Seal` is made for one purpose (the purpose goes into the key, so a
value sealed for one use cannot be opened as another) and binds each sealed
value to a context (associated data, e.g. the staff member it belongs to).
Used for supervisors' TOTP keys (:mod:`bot.records.second_factor`) and the
identifier a caller keyed in before the password (:mod:`bot.gateway.voice.security`). Rotating
``SECRET_KEY`` makes every sealed value unreadable.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class Seal:
    """Encrypts short texts for one purpose; only a holder of ``secret_key`` can open them."""

    def __init__(self, secret_key: str, purpose: str) -> None:
        key = hmac.new(secret_key.encode("utf-8"), purpose.encode("utf-8"), hashlib.sha256)
        self._aead = AESGCM(key.digest())

    def seal(self, plain: str, context: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plain.encode("utf-8"), context.encode("utf-8"))
        return base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def open(self, sealed: object, context: str) -> str | None:
        """The text, or None if missing, tampered with, of another context or another key."""
        if not isinstance(sealed, str) or not sealed:
            return None
        try:
            raw = base64.urlsafe_b64decode(sealed.encode("ascii"))
            plain = self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:],
                                       context.encode("utf-8"))
        except (ValueError, InvalidTag):
            return None
        return plain.decode("utf-8")
