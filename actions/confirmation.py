"""Changes that wait for the customer's yes: the shared slot, buttons and the "no" path."""
from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.several_orders import ANYTHING_ELSE_TEXT, continue_with_other_orders
from actions.session import IDENTITY_SLOT, ORDER_ID_SLOT, PENDING_SLOT
from bot.formatting import day
from bot.orders import OrderService, OrderStatus, OrderSummary

CONFIRM_BUTTONS = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
# "don't cancel it", "wait, no refund yet": a request worded against itself is a no, whatever intent it got.
_AGAINST = re.compile(r"\b(?:no|not|don'?t|dont|do not|never|stop|wait|hold on|keep it)\b", re.IGNORECASE)
# "is it too late to cancel?", "what happens if i cancel it": a question about the change, not the yes to it.
# "can you cancel it?", "yes do it", "please just refund it" ask for it.
_ASKS_ABOUT_IT = re.compile(
    r"\?|^\s*(?:\w+[\s,]+){0,2}?(?:is|are|was|will|would|does|did|should|what|how|why|when|where|if|do(?! (?:it|that)\b))\b(?! you\b)",
    re.IGNORECASE,
)
_ASKS_FOR_IT = re.compile(
    r"\b(?:yes|yeah|yep|yup|sure|please|pls|go ahead|(?:can|could|would|will) you)\b", re.IGNORECASE
)
# "is it too late?", "am i still in time?", "how long do i have?": whether the change can still be made.
_ASKS_IF_IN_TIME = re.compile(
    r"\btoo late\b|\bin time\b|\bstill (?:eligible|qualify|able to|possible|ok|okay|allowed)\b|\bdeadline\b"
    r"|\bhow (?:long|many days|much time) do i (?:still )?have\b|\bwindow (?:close|end)|\blast day\b|\bexpired?\b",
    re.IGNORECASE,
)


def answers_the_question(tracker: Tracker, pending: Text) -> Optional[bool]:
    """Whether the latest message, a request for the change that already waits for a yes ("ok yes cancel
    it" to "Shall I cancel it?"), answers the question: True for yes, False for no ("don't cancel it"),
    None when nothing of that kind was waiting or the message asks about the change ("is it too late to
    cancel?"), which the offer, made again, answers."""
    if tracker.get_slot(PENDING_SLOT) != pending:
        return None
    text = (tracker.latest_message or {}).get("text") or ""
    if _ASKS_ABOUT_IT.search(text) and not _ASKS_FOR_IT.search(text):
        return None
    return not _AGAINST.search(text)


def decline(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    """Nothing changes; the question is dropped."""
    order_id = tracker.get_slot(ORDER_ID_SLOT)
    what = f"order {order_id}" if order_id else "your order"
    dispatcher.utter_message(text=f"OK, I haven't changed anything on {what}. {ANYTHING_ELSE_TEXT}")
    return [SlotSet(PENDING_SLOT, None)]


def still_waiting_question(tracker: Tracker) -> Optional[Text]:
    """The confirmation question to ask again after answering something else, or None when nothing waits."""
    order_id = tracker.get_slot(ORDER_ID_SLOT)
    pending = tracker.get_slot(PENDING_SLOT)
    if not order_id or pending not in ("cancel_order", "refund"):
        return None
    if pending == "cancel_order":
        return f"Shall I still cancel order {order_id}?"
    return f"Shall I still request the refund for order {order_id}?"


def asks_if_in_time(text: Text) -> bool:
    return bool(_ASKS_IF_IN_TIME.search(text))


def in_time_text(order: OrderSummary, pending: Text, today: date, window_days: int) -> Optional[Text]:
    """"is it too late?" while the change waits for a yes: the dates that say it isn't (the change was offered
    because the order qualifies), or None when the order's facts don't say."""
    if pending == "refund" and order.delivered_on is not None:
        closes = order.delivered_on + timedelta(days=window_days)
        return (
            f"There's still time: order {order.order_id} was delivered {day(order.delivered_on, today)}, and its "
            f"{window_days}-day return window ends {day(closes, today)}."
        )
    if pending == "cancel_order" and order.status is OrderStatus.PROCESSING:
        return f"There's still time: order {order.order_id} hasn't shipped yet, so it can be cancelled free of charge."
    return None


class ActionDeclineChange(Action):
    """The customer said no to a cancellation or refund: nothing changes, and the other orders the request
    named, if any, follow."""

    def __init__(self, service: Optional[OrderService] = None) -> None:
        self._service = service or OrderService()

    def name(self) -> Text:
        return "action_decline_change"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        events = decline(dispatcher, tracker)
        order_id, identity = tracker.get_slot(ORDER_ID_SLOT), tracker.get_slot(IDENTITY_SLOT)
        if not (order_id and identity):
            return events
        return await continue_with_other_orders(
            self._service, dispatcher, tracker, domain, events, str(order_id), None, identity
        )
