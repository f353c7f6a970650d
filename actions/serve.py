"""Start the action server, on loopback unless a public interface is asked for explicitly.

    .venv/app/bin/python -m actions.serve [--interface 127.0.0.1] [--port 5055]

The action server answers whoever posts a tracker to it: a forged tracker
(any sender id, channel and slots) would read a depositor's account. rasa_sdk
binds every interface (``0.0.0.0``) by default; this launcher binds
``--interface`` (default ``SANIC_HOST``, else ``127.0.0.1``) and refuses
anything but loopback (``127.0.0.0/8``, ``::1``, ``localhost``) unless
``ACTIONS_ALLOW_PUBLIC=1`` says so explicitly *and* ``ACTION_SERVER_SECRET``
is set: then every request but ``/health`` must carry that secret in the
``X-Action-Secret`` header, which Rasa sends from ``endpoints.production.yml``.
On loopback the secret is checked too when it is set. The other options are
rasa_sdk's own (``--actions`` defaults to this package).
"""
from __future__ import annotations

import argparse
import hmac
import ipaddress
import os
import sys
from typing import Any, Awaitable, Callable, Mapping, Optional, Sequence

DEFAULT_INTERFACE = "127.0.0.1"
ALLOW_PUBLIC = "ACTIONS_ALLOW_PUBLIC"
SECRET_SETTING = "ACTION_SERVER_SECRET"
SECRET_HEADER = "X-Action-Secret"
OPEN_PATHS = frozenset({"/health"})  # readiness probes carry no secret


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
    if is_loopback(interface):
        return None
    if environ.get(ALLOW_PUBLIC, "").strip() != "1":
        return (
            f"the action server refuses to listen on {interface!r}: anyone who reaches it "
            f"can read depositors' accounts with a forged tracker. Listen on 127.0.0.1, or "
            f"set {ALLOW_PUBLIC}=1 (and {SECRET_SETTING}) if Rasa runs on another host."
        )
    if not environ.get(SECRET_SETTING, "").strip():
        return (
            f"{ALLOW_PUBLIC}=1 needs {SECRET_SETTING}: on {interface!r} the action server "
            f"answers only requests that carry it (Rasa sends it, endpoints.production.yml)"
        )
    return None


def require_secret(secret: str) -> Callable[[Any], Awaitable[Any]]:
    """Sanic request middleware: 403 for a request without ``secret`` in :data:`SECRET_HEADER`."""
    from sanic import response

    async def check(request: Any) -> Any:
        if request.path in OPEN_PATHS:
            return None
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode("utf-8"), secret.encode("utf-8")):
            return response.json({"error": "forbidden"}, status=403)
        return None

    return check


def build_app(args: argparse.Namespace, secret: str) -> Any:
    """rasa_sdk's action server app (as its ``run`` builds it), with the secret checked."""
    from rasa_sdk.endpoint import create_app
    from rasa_sdk.plugin import plugin_manager

    from actions.metrics import install as install_metrics

    app = create_app(args.actions, cors_origins=args.cors, auto_reload=args.auto_reload)
    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    install_metrics(app)  # GET /metrics and per-action latency, before the secret check
    if secret:
        app.register_middleware(require_secret(secret), "request")
    return app


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
    import logging

    from rasa_sdk import utils
    from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
    from rasa_sdk.endpoint import create_ssl_context

    environ = os.environ if environ is None else environ
    args = parser().parse_args(argv)
    interface = chosen_interface(args.interface, environ)
    reason = refusal(interface, environ)
    if reason is not None:
        print(reason, file=sys.stderr)
        return 2
    # What `python -m rasa_sdk` does, on the chosen interface and with the secret.
    utils.configure_colored_logging(args.loglevel)
    utils.configure_file_logging(logging.getLogger(APPLICATION_ROOT_LOGGER_NAME),
                                 args.log_file, args.loglevel, args.logging_config_file)
    utils.update_sanic_log_level()
    app = build_app(args, environ.get(SECRET_SETTING, "").strip())
    ssl = create_ssl_context(args.ssl_certificate, args.ssl_keyfile, args.ssl_password)
    app.run(interface, args.port, ssl=ssl, workers=utils.number_of_sanic_workers())
    return 0


if __name__ == "__main__":
    sys.exit(main())
