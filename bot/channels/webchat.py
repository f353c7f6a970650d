"""The ``webchat`` Rasa input channel: the website's chat widget, through the gateway.

The browser never talks to Rasa. The gateway's chat blueprint (``bot.gateway.chat``)
posts each turn to ``/webhooks/webchat/webhook`` with the shared secret, as
:class:`bot.channels.gateway.GatewayInput` describes: what a visitor typed as
``kind: text`` (neutralised, so it can never pose as an intent) and the gateway's
own messages (secure-step outcome, quick-reply menu choices) as ``kind: intent``.
The verification password stays in the gateway; Rasa only learns the outcome.
"""

from __future__ import annotations

from typing import Text

from bot.channels.gateway import GatewayInput


class WebchatInput(GatewayInput):
    """Channel of the web chat widget (``input_channel == "webchat"`` in the tracker)."""

    @classmethod
    def name(cls) -> Text:
        return "webchat"
