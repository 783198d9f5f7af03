"""Follow-ups to a payment that wouldn't go through: the customer names the card they used ("it's a visa").

The wording comes from the help center's payment article (``data/kb/payment.md``, "Accepted payment methods"
and "If a payment fails").
"""
from __future__ import annotations

import re

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import CONNECT_BUTTONS
from actions.session import previous_reply_was
from bot.parsing import is_question

# Payment methods Brightbay accepts, as a customer names them, with the name the reply uses.
_ACCEPTED_METHODS = (
    (re.compile(r"\bvisa\b", re.IGNORECASE), "Visa"),
    (re.compile(r"\bmaster ?card\b|\bmc\b", re.IGNORECASE), "Mastercard"),
    (re.compile(r"\bamex\b|\bamerican express\b", re.IGNORECASE), "American Express"),
    (re.compile(r"\bdiscover\b", re.IGNORECASE), "Discover"),
    (re.compile(r"\bpay ?pal\b", re.IGNORECASE), "PayPal"),
    (re.compile(r"\bapple ?pay\b", re.IGNORECASE), "Apple Pay"),
)
ACCEPTED_BUT_DECLINED_TEXT = (
    "We accept {method}, so the type of payment isn't the problem. When a payment fails, check that the card number, "
    "expiry date and billing ZIP code match your bank's records, or try another payment method. If it still won't "
    "go through, a support agent can look at it. Would you like me to connect you with one?"
)


def said_method_is_accepted(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """"it's a visa" right after the reply to a payment that wouldn't go through (``utter_payment_issue``): that the
    method is accepted, what to check, and the offer of a person, and True; False, saying nothing, otherwise. Seen in
    a chat: it got the help center's passage on when a card is charged."""
    text = (tracker.latest_message or {}).get("text") or ""
    if is_question(text):
        return False  # "can i pay with paypal instead?" is the help center's
    if not previous_reply_was(tracker, "utter_payment_issue"):
        return False
    method = next((name for pattern, name in _ACCEPTED_METHODS if pattern.search(text)), None)
    if method is None:
        return False
    dispatcher.utter_message(text=ACCEPTED_BUT_DECLINED_TEXT.format(method=method), buttons=CONNECT_BUTTONS)
    return True
