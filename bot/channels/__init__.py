"""Brightbay's Rasa input channels."""
# Tracker-store errors fail the turn on every channel, not only REST (bot/stores.py).
import bot.stores  # noqa: E402,F401
# Every incoming message passes through Rasa's MessageProcessor.handle_message; importing any of
# these channels wraps it: card numbers are masked (card_numbers.py)...
from bot.channels import card_numbers  # noqa: E402,F401
# Then the rate limit, which wraps the result, so an over-rate message is refused before anything else.
from bot.channels import rate_limit  # noqa: E402,F401
# A customer writing while queued for an agent is told their place (queue_notice.py).
from bot.channels import queue_notice  # noqa: E402,F401
