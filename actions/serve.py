"""Start the action server, on loopback unless a public interface is asked for explicitly.

    .venv/app/bin/python -m actions.serve [--interface 127.0.0.1] [--port 5055]

The action server answers whoever posts a tracker to it: a forged tracker
(any sender id, any slots) would read a depositor's account. rasa_sdk binds
every interface (``0.0.0.0``) by default; this launcher binds ``--interface``
(default ``SANIC_HOST``, else ``127.0.0.1``) and refuses anything but loopback
(``127.0.0.0/8``, ``::1``, ``localhost``) unless ``ACTIONS_ALLOW_PUBLIC=1``
says that a private network and its firewall keep strangers out. The other
options are rasa_sdk's own (``--actions`` defaults to this package).
"""
from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from typing import Mapping, Optional, Sequence

DEFAULT_INTERFACE = "127.0.0.1"
ALLOW_PUBLIC = "ACTIONS_ALLOW_PUBLIC"


def is_loopback(interface: str) -> bool:
    """True for an interface only this machine can reach."""
    if interface.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(interface.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def chosen_interface(given: Optional[str], environ: Mapping[str, str]) -> str:
    return given or environ.get("SANIC_HOST") or DEFAULT_INTERFACE


def refusal(interface: str, environ: Mapping[str, str]) -> Optional[str]:
    """Why the action server must not bind ``interface``, or None when it may."""
    if is_loopback(interface) or environ.get(ALLOW_PUBLIC, "").strip() == "1":
        return None
    return (
        f"the action server refuses to listen on {interface!r}: anyone who reaches it can "
        f"read depositors' accounts with a forged tracker. Listen on 127.0.0.1, or set "
        f"{ALLOW_PUBLIC}=1 if a private network keeps everyone but Rasa out."
    )


def parser() -> argparse.ArgumentParser:
    from rasa_sdk.endpoint import create_argument_parser

    parsed = create_argument_parser()
    parsed.prog = "python -m actions.serve"
    parsed.add_argument(
        "--interface",
        default=None,
        help=f"interface to listen on (default: SANIC_HOST, else {DEFAULT_INTERFACE})",
    )
    parsed.set_defaults(actions="actions")
    return parsed


def main(argv: Optional[Sequence[str]] = None, environ: Optional[Mapping[str, str]] = None) -> int:
    from rasa_sdk.__main__ import main_from_args

    environ = os.environ if environ is None else environ
    args = parser().parse_args(argv)
    interface = chosen_interface(args.interface, environ)
    reason = refusal(interface, environ)
    if reason is not None:
        print(reason, file=sys.stderr)
        return 2
    os.environ["SANIC_HOST"] = interface  # rasa_sdk's run() binds SANIC_HOST
    main_from_args(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
