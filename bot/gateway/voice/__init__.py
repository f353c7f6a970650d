"""The phone line: 96319 over Twilio, in Mandarin (issue 3).

- :mod:`.views`: the Twilio webhooks (blueprint ``voice`` under ``/voice``);
- :mod:`.webhook`: what one webhook tells the gateway (``Params``);
- :mod:`.call`: one call across its webhooks: claim the turn, run it once,
  save the state (``VoiceService.handle``);
- :mod:`.dialogue`: what the caller hears next (endpoint and key tables, menus
  from ``flows/``, the assistant, the keypad secure step);
- :mod:`.policy`: after a policy answer, its full text by SMS and its
  materials read a few at a time (issue 9);
- :mod:`.agents`: a person: transfer in agent hours, callbacks, apologies;
- :mod:`.render`: the assistant's messages as speech (buttons as "…请按N"),
  menus, and the next prompt's TwiML;
- :mod:`.twiml`: TwiML, only through ``twilio.twiml.voice_response``;
- :mod:`.readout`: numbers, dates and amounts read the way a clerk reads them;
- :mod:`.security`: signatures and the URL Twilio signed, log redaction;
- :mod:`.sms`: SMS to callers, the complaint ticket and a policy answer in
  full (the outbox; the first attempt at once, :mod:`bot.sms` retries), and
  their delivery reports (``POST /voice/sms-status``);
- :mod:`.store`: call records, call state, processed turns;
- :mod:`.simulator`: ``python -m bot.gateway.voice.simulator``, a phone on the terminal.

Rasa is reached through the gateway's one client, :class:`bot.gateway.rasa.RasaClient`
(channel ``voice``); the secure-step outcome and button payloads follow :mod:`bot.contract`.
"""
from __future__ import annotations

from pathlib import Path

from flask import Flask

from bot.flows import FLOWS_DIR, FlowsError, agent_hours, menus
from bot.flows.voice import check_voice_flows
from bot.gateway.voice.call import VoiceService
from bot.gateway.voice.views import bp

__all__ = ["bp", "init_app"]


def init_app(app: Flask) -> None:
    """Validate the call flows, build the voice service and register ``bp``.

    A broken file under ``flows/`` raises :class:`bot.flows.FlowsError` naming
    the file and the fault, so the gateway does not start.
    """
    flows_dir = Path(app.config.get("VOICE_FLOWS_DIR") or FLOWS_DIR)
    flow = check_voice_flows(flows_dir)
    try:
        service = VoiceService(
            app.config["HOTLINE_SETTINGS"], flow, menus(flows_dir), agent_hours(flows_dir)
        )
    except ValueError as exc:  # the transfer target
        raise FlowsError(f"{flows_dir / 'agents.yml'}: agents.transfer_target: {exc}") from exc
    app.extensions["voice"] = service
    app.register_blueprint(bp)
