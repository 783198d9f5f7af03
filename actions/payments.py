"""Payment problems: a charge that shouldn't be there (twice, or without an order) needs a person who can
see the payment; a payment that won't go through gets what the customer can try themselves; a promo code
that won't apply, or a payment shown as pending, is a help-center question (``data/kb/promo-codes.md``,
``data/kb/payment.md``).

The first two wordings come from the help center's payment article (``data/kb/payment.md``).
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import ActionAnswerQuestion
from actions.card_declines import said_method_is_accepted
from actions.verification import conversation_order
from bot.db.models import OrderStatus
from bot.orders import OrderService
from bot.parsing import says_charged

# Charged twice: the help center explains the usual cause (a pending authorization from a failed attempt, released
# by the bank), and only a support agent can refund a second charge that went through.
_DOUBLE_CHARGE = re.compile(
    r"\b(?:charged|billed|paid|taken|debited|deducted)\b[^.?!]{0,25}\b(?:twice|two times|2 times|double|again|extra|more than once)\b"
    r"|\b(?:double|duplicate|two|2|second|extra)[ -](?:charges?|payments?|transactions?|billing)\b",
    re.IGNORECASE,
)
# Charged for an order that doesn't exist: a support agent checks the payment.
_CHARGE_WITHOUT_ORDER = re.compile(
    r"\bcharged\b[^.?!]{0,40}\b(?:no|without an?|never got an?|did ?n[o']?t get an?|have ?n[o']?t got an?) "
    r"(?:order|confirmation|email)\b"
    r"|\bcharged\b[^.?!]{0,30}\b(?:cancel+ed|returned) order\b",
    re.IGNORECASE,
)


def is_wrong_charge(text: Optional[Text]) -> bool:
    """A charge that shouldn't be there: twice, or without an order."""
    return bool(text and (_DOUBLE_CHARGE.search(text) or _CHARGE_WITHOUT_ORDER.search(text)))

# "my promo code isn't working", "the coupon won't apply", "the code SAVE10 says expired": not a card problem
# (a ZIP, security or verification code, or an error code, is).
_PROMO_CODE = re.compile(
    r"\b(?:promo(?:tion(?:al)?)?|coupon|discount|voucher)s?\b"
    r"|(?<!zip )(?<!postal )(?<!security )(?<!cvv )(?<!cvc )(?<!verification )(?<!sms )(?<!card )(?<!error )\bcodes?\b",
    re.IGNORECASE,
)


# "my order says payment pending", "there's a hold on my card": the authorization taken until the order ships,
# which the help center explains (``data/kb/payment.md``, "When you're charged"); not a failed payment.
_PENDING = re.compile(r"\b(?:pending|authori[sz](?:ation|ed)|on hold|a hold)\b", re.IGNORECASE)


def payment_response(text: Optional[Text]) -> Text:
    """``utter_double_charge`` for a charge taken twice, ``utter_wrong_charge`` for one without an order, else
    ``utter_payment_issue``."""
    if text and _DOUBLE_CHARGE.search(text):
        return "utter_double_charge"
    return "utter_wrong_charge" if is_wrong_charge(text) else "utter_payment_issue"


def about_promo_code(text: Optional[Text]) -> bool:
    return bool(text and _PROMO_CODE.search(text))


class ActionAnswerPaymentIssue(Action):
    """Answers a payment problem; a wrong charge gets the offer of a person (a "yes" or the button hands off);
    a promo code problem gets the help center's answer."""

    def __init__(self, help_center: Optional[Action] = None, orders: Optional[OrderService] = None) -> None:
        self._help_center = help_center or ActionAnswerQuestion()
        self._orders = orders or OrderService()

    def name(self) -> Text:
        return "action_answer_payment_issue"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        text = (tracker.latest_message or {}).get("text")
        if about_promo_code(text) or (text and _PENDING.search(text) and not is_wrong_charge(text)):
            return await self._help_center.run(dispatcher, tracker, domain)
        response = payment_response(text)
        if response == "utter_payment_issue" and said_method_is_accepted(dispatcher, tracker):
            return []  # "it was paypal" right after this same reply: not the same paragraph again
        if response == "utter_payment_issue" and says_charged(text):
            # A charge taken for the cancelled order checked in the conversation is one they shouldn't have.
            # Seen in a chat: "but i was charged!" right after "Order 10005 was cancelled... You haven't been
            # charged" got the declined-card advice.
            order = await conversation_order(tracker, self._orders)
            if order is not None and order.status is OrderStatus.CANCELLED:
                response = "utter_wrong_charge"
        dispatcher.utter_message(response=response)
        return []
