"""The Twilio webhooks of the phone line, under ``/voice``.

Configure the Twilio number with:

- "A call comes in": ``POST {PUBLIC_BASE_URL}/voice/incoming``
- "Call status changes": ``POST {PUBLIC_BASE_URL}/voice/status`` (completed)

``POST /voice/sms-status`` is each SMS's delivery report: the sender names it
as the message's StatusCallback, nothing to configure in the console.

The other endpoints are reached through the TwiML the gateway answers
(``<Gather action>``, ``<Redirect>``, ``<Dial action>``), as relative URLs.
Every request must carry a valid ``X-Twilio-Signature`` (403 otherwise);
everything else, however odd, gets spoken TwiML, never a server error.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, current_app, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import RequestEntityTooLarge

from bot.gateway.voice.call import Params, VoiceService
from bot.gateway.voice.security import public_url, signature_ok
from bot.gateway.voice.sms import sms_status_callback

logger = logging.getLogger("bot.gateway.voice")

bp = Blueprint("voice", __name__, url_prefix="/voice")

# Twilio's form posts are small; a very long recognition result (10,000 Chinese
# characters are 90 KB URL-encoded) is still read, so that it can be answered.
MAX_WEBHOOK_BYTES = 256 * 1024
TWIML = "text/xml; charset=utf-8"


def service() -> VoiceService:
    return current_app.extensions["voice"]


@bp.before_request
def _limits_and_signature() -> None:
    request.max_content_length = MAX_WEBHOOK_BYTES
    request.max_form_memory_size = MAX_WEBHOOK_BYTES
    settings = current_app.config["HOTLINE_SETTINGS"]
    if not signature_ok(request, settings):
        # The URL, never the parameters: they may hold what a caller keyed in.
        logger.warning("voice: refused a request without a valid Twilio signature for %s",
                       public_url(request, settings).split("?")[0])
        abort(403)


def _answer(endpoint: str) -> Response:
    params = Params.from_request(request.form, request.args)
    return Response(service().handle(endpoint, params), mimetype="text/xml",
                    content_type=TWIML)


@bp.post("/incoming")
def incoming() -> Response:
    """A call comes in: greeting and the main menu."""
    return _answer("incoming")


@bp.post("/turn")
def turn() -> Response:
    """The caller pressed keys or spoke at a prompt."""
    return _answer("turn")


@bp.post("/secure")
def secure() -> Response:
    """Keypad entry of the secure step (identifier, then query password)."""
    return _answer("secure")


@bp.post("/noinput")
def no_input() -> Response:
    """The caller stayed silent at a prompt."""
    return _answer("noinput")


@bp.post("/dial")
def dial() -> Response:
    """The transfer to the agents ended (answered, busy, no answer)."""
    return _answer("dial")


@bp.post("/status")
def status() -> Response:
    """Twilio's status callback: the call ended (duration, final status)."""
    return _answer("status")


@bp.post("/sms-status")
def sms_status() -> Response:
    """Twilio's delivery report for one SMS (the sender sets this StatusCallback)."""
    try:
        sms_status_callback(current_app.config["HOTLINE_SETTINGS"], request.form, request.args)
    except SQLAlchemyError:
        logger.exception("voice: an SMS delivery report could not be recorded")
        return Response(status=503)
    return Response(status=204)


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_error: RequestEntityTooLarge) -> Response:
    # Nothing of the body was read, so nothing is done: the caller is asked again.
    flow = service().flow
    turn_number = request.args.get("t", "")
    endpoint = request.path.rsplit("/", 1)[-1]
    target = f"{endpoint}?t={turn_number}" if turn_number.isdigit() else "noinput?t=0"
    twiml = service().twiml.wait(service().say(flow.prompt("speech_too_long")), target)
    return Response(twiml, content_type=TWIML)
