"""Card numbers never enter a conversation: masked in every incoming message before Rasa reads it.

Customers paste card numbers into support chats. Nothing in this assistant needs one, and a stored
card number would put the tracker store, the event broker, agents' transcripts and debug logs in
PCI scope. Every incoming message passes through ``remove_card_numbers`` (``bot/channels/inbound.py``):
a Luhn-valid 13-19 digit number becomes ``CARD_PLACEHOLDER`` before the NLU, the tracker or any log
sees the text, and the customer is told why. Emails, order numbers and ZIP codes stay: the order form needs them.
"""
from __future__ import annotations

from rasa.core.channels.channel import UserMessage

from bot.llm.redaction import mask_card_numbers

CARD_PLACEHOLDER = "[card number removed]"
CARD_NOTICE = (
    "For your security, I've removed the card number from your message, so it isn't stored. "
    "Please don't share card details in this chat: we never need them to help you."
)

async def remove_card_numbers(message: UserMessage) -> None:
    """Masks the card numbers in ``message.text`` and tells the customer, if there were any."""
    if isinstance(message.text, str):
        masked, found = mask_card_numbers(message.text, CARD_PLACEHOLDER)
        if found:
            message.text = masked
            await message.output_channel.send_text_message(message.sender_id, CARD_NOTICE)
