"""Brightbay's Rasa input channels."""
# Every incoming message passes through Rasa's MessageProcessor.handle_message; importing any of
# these channels masks card numbers there first (see card_numbers.py).
from bot.channels import card_numbers  # noqa: E402,F401
