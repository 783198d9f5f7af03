"""Card numbers never enter a conversation: masked in every incoming message before Rasa reads it.

Customers paste card numbers into support chats. Nothing in this assistant needs one, and a stored
card number would put the tracker store, the event broker, agents' transcripts and debug logs in
PCI scope. ``MessageProcessor.handle_message`` (the entry of every channel: REST and ``rasa shell``,
the widget, Slack, Messenger) is wrapped on import: a Luhn-valid 13-19 digit number becomes
``CARD_PLACEHOLDER`` before the NLU, the tracker or any log sees the text, and the customer is told
why. Emails, order numbers and ZIP codes stay: the order form needs them.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor

from bot.llm.redaction import mask_card_numbers

CARD_PLACEHOLDER = "[card number removed]"
CARD_NOTICE = (
    "For your security, I've removed the card number from your message, so it isn't stored. "
    "Please don't share card details in this chat: we never need them to help you."
)

_rasa_handle_message = MessageProcessor.handle_message


async def _handle_message_without_card_numbers(
    self: MessageProcessor, message: UserMessage
) -> Optional[List[Dict[str, Any]]]:
    """Rasa's handle_message, on the message's text with its card numbers masked."""
    if isinstance(message.text, str):
        masked, found = mask_card_numbers(message.text, CARD_PLACEHOLDER)
        if found:
            message.text = masked
            await message.output_channel.send_text_message(message.sender_id, CARD_NOTICE)
    return await _rasa_handle_message(self, message)


MessageProcessor.handle_message = _handle_message_without_card_numbers  # type: ignore[method-assign]
