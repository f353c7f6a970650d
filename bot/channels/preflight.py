"""Start-up refusals of a production Rasa server, run when Rasa builds the gateway channels.

``rasa run`` builds every input channel of its credentials file (``from_credentials``)
before it binds a port or loads the model. The gateway channels call
:func:`refuse_unsafe_start` there, so a production Rasa stops at once, naming
the fault, when

- ``GATEWAY_CHANNEL_SECRET`` is unset, the development default (anyone who
  read the repository could then post to the channels as the gateway) or not
  at least 32 random bytes (:func:`bot.key_strength.secret_weakness`, the
  gateway's own rule);
- the HTTP API is enabled (``--enable-api``) without ``--auth-token`` or a JWT
  secret, or with the development token or a weak one (``RASA_TOKEN`` or
  ``--auth-token``);
- the credentials file names a channel other than the gateway's two: ``rest``
  (or any built-in channel) takes any sender id without authentication, so a
  host inside the network could speak in a verified depositor's conversation.

Production is ``HOTLINE_ENV=production`` in Rasa's environment, or
``production: true`` under a gateway channel in the credentials file
(``credentials.production.yml``): the production credentials refuse the
development secrets even if the variable was forgotten.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

import yaml

from bot.contract import DEFAULT_CHANNEL_SECRET, DEFAULT_RASA_TOKEN
from bot.key_strength import MAKE_KEY_COMMAND, secret_weakness

GATEWAY_CHANNELS = frozenset(
    {"bot.channels.webchat.WebchatInput", "bot.channels.voice.VoiceInput"}
)
"""The only input channels a production Rasa may serve (credentials keys)."""

RASA_DEFAULT_CREDENTIALS = "credentials.yml"  # ``rasa run``'s default --credentials


class UnsafeStart(RuntimeError):
    """Production Rasa refused to start; the message names what to fix."""


def cli_option(argv: Sequence[str], *names: str) -> Optional[str]:
    """The value given to a command-line option (the last one wins), or None.

    Understands ``--name value`` and ``--name=value``.
    """
    value: Optional[str] = None
    for index, arg in enumerate(argv):
        for name in names:
            if arg == name and index + 1 < len(argv):
                value = argv[index + 1]
            elif arg.startswith(name + "="):
                value = arg[len(name) + 1:]
    return value


def is_production(environ: Mapping[str, str], credentials: Optional[Mapping[str, Any]]) -> bool:
    """Production by the environment, or by the channel's own credentials."""
    if environ.get("HOTLINE_ENV", "").strip() == "production":
        return True
    return bool(credentials and credentials.get("production") is True)


def read_credentials(path: str) -> dict[str, Any]:
    """The channels a credentials file declares (an empty file declares none)."""
    loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return loaded if isinstance(loaded, dict) else {}


def unsafe_start_problems(
    environ: Mapping[str, str],
    argv: Sequence[str],
    read: Callable[[str], Mapping[str, Any]] = read_credentials,
) -> list[str]:
    """Everything that makes this Rasa process unfit for production, in words."""
    problems: list[str] = []
    secret = environ.get("GATEWAY_CHANNEL_SECRET", "")
    if not secret or secret == DEFAULT_CHANNEL_SECRET:
        problems.append(
            "GATEWAY_CHANNEL_SECRET is unset or the development default: set the "
            "gateway's secret (the same value in the gateway and in Rasa)"
        )
    elif weakness := secret_weakness(secret):
        problems.append(f"GATEWAY_CHANNEL_SECRET {weakness} (make one with {MAKE_KEY_COMMAND})")
    env_token = environ.get("RASA_TOKEN")
    if env_token == DEFAULT_RASA_TOKEN:
        problems.append("RASA_TOKEN is the development default: set a secret token")
    elif env_token and (weakness := secret_weakness(env_token)):
        problems.append(f"RASA_TOKEN {weakness} (make one with {MAKE_KEY_COMMAND})")
    if "--enable-api" in argv:
        token = cli_option(argv, "--auth-token", "-t")
        jwt = cli_option(argv, "--jwt-secret")
        if token is None and not jwt:
            problems.append("--enable-api without --auth-token: the HTTP API would be open")
        elif token is not None and (not token or token == DEFAULT_RASA_TOKEN):
            problems.append(
                "--auth-token is empty or the development default: pass the RASA_TOKEN secret"
            )
        elif token is not None and (weakness := secret_weakness(token)):
            problems.append(f"--auth-token {weakness} (make one with {MAKE_KEY_COMMAND})")
    path = cli_option(argv, "--credentials") or RASA_DEFAULT_CREDENTIALS
    try:
        declared = read(path)
    except (OSError, yaml.YAMLError) as exc:
        problems.append(f"cannot read the credentials file {path}: {exc}")
    else:
        others = sorted(set(declared) - GATEWAY_CHANNELS)
        if others:
            problems.append(
                f"the credentials file {path} declares {', '.join(others)}: production "
                "serves only the gateway's channels (use credentials.production.yml)"
            )
    return problems


def refuse_unsafe_start(
    credentials: Optional[Mapping[str, Any]],
    environ: Optional[Mapping[str, str]] = None,
    argv: Optional[Sequence[str]] = None,
) -> None:
    """Raise :class:`UnsafeStart` if this is production and anything above is wrong."""
    environ = os.environ if environ is None else environ
    if not is_production(environ, credentials):
        return
    problems = unsafe_start_problems(environ, sys.argv if argv is None else argv)
    if problems:
        raise UnsafeStart("production Rasa refuses to start: " + "; ".join(problems))
