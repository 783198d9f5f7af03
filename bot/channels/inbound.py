"""Checks on every incoming message before Rasa reads it, in one place and in a fixed order.

``MessageProcessor.handle_message`` is the entry of every channel (REST and ``rasa shell``, the
widget, Slack, Messenger); it is wrapped here on import:

1. the rate limit (``rate_limit.over_rate``): a message over its conversation's rate is refused
   before anything else, and only the slow-down notice is returned;
2. card numbers (``card_numbers.remove_card_numbers``): masked before the NLU, the tracker or any
   log sees the text;
3. Rasa's own handle_message.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.processor import MessageProcessor

from bot.channels.card_numbers import remove_card_numbers
from bot.channels.rate_limit import over_rate

_rasa_handle_message = MessageProcessor.handle_message


async def _handle_checked_message(self: MessageProcessor, message: UserMessage) -> Optional[List[Dict[str, Any]]]:
    if await over_rate(message):
        if isinstance(message.output_channel, CollectingOutputChannel):
            return message.output_channel.messages
        return None
    await remove_card_numbers(message)
    return await _rasa_handle_message(self, message)


MessageProcessor.handle_message = _handle_checked_message  # type: ignore[method-assign]
