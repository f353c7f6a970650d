"""The ``voice`` Rasa input channel: phone calls, through the gateway's Twilio webhooks.

Twilio never talks to Rasa. The gateway's voice blueprint (``bot.gateway.voice``)
posts each turn to ``/webhooks/voice/webhook`` with the shared secret, as
:class:`bot.channels.gateway.GatewayInput` describes; the sender is the Twilio
CallSid. The caller's number stays in the gateway (its call record): no action
needs it, so the channel drops it from the metadata (:data:`PERSONAL_METADATA`)
and it is in no tracker event. The query password stays in the gateway; Rasa
hears only the outcome of the secure step.

The replies are collected by :class:`VoiceOutput`, an output channel named
``voice``: Rasa picks a response variant by the *output* channel's name, so
responses can have ``channel: voice`` variants written for the ear. Each reply
message keeps its response name (``"response": "utter_goodbye"``), which the
gateway uses to end the call or to know that the caller may answer freely.
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from sanic import Blueprint

from bot.channels.gateway import GatewayInput

REPLY_FIELDS = ("text", "buttons", "custom")
PERSONAL_METADATA = frozenset({"caller_number", "from_number", "From", "callback_phone"})
"""Metadata keys that would put a caller's number into the tracker: never kept."""


class VoiceOutput(CollectingOutputChannel):
    """Collects the assistant's messages for one turn, one entry per message."""

    @classmethod
    def name(cls) -> Text:
        return "voice"

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        entry: Dict[Text, Any] = {"recipient_id": recipient_id}
        for key in REPLY_FIELDS:
            if message.get(key):
                entry[key] = message[key]
        # Images and attachments are links: never read out on the phone.
        if len(entry) == 1:
            return
        if message.get("utter_action"):
            entry["response"] = message["utter_action"]
        self.messages.append(entry)


class VoiceInput(GatewayInput):
    """Channel of the phone line (``input_channel == "voice"`` in the tracker)."""

    @classmethod
    def name(cls) -> Text:
        return "voice"

    def tracker_metadata(self, metadata: Optional[Dict[Text, Any]]) -> Optional[Dict[Text, Any]]:
        if not metadata:
            return metadata
        return {key: value for key, value in metadata.items() if key not in PERSONAL_METADATA}

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        async def with_voice_output(message: UserMessage) -> None:
            # The base channel collects into a plain collector; run the turn with
            # the voice output channel instead and hand its messages back.
            collector = message.output_channel
            voice = VoiceOutput()
            message.output_channel = voice
            await on_new_message(message)
            collector.messages.extend(voice.messages)

        return super().blueprint(with_voice_output)
