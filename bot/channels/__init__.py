"""Brightbay's Rasa input channels."""
# Tracker-store errors fail the turn on every channel, not only REST (bot/stores.py).
import bot.stores  # noqa: E402,F401
# Every incoming message is checked before Rasa reads it: rate limit, then card numbers (inbound.py).
from bot.channels import inbound  # noqa: E402,F401
# A customer writing while queued for an agent is told their place (queue_notice.py).
from bot.channels import queue_notice  # noqa: E402,F401
