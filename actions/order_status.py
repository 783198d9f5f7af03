"""Order status: where a verified order is and when it arrives."""
from __future__ import annotations

from datetime import date
from typing import List, Text

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.verification import VerifiedOrderAction
from bot.db.models import OrderStatus
from bot.formatting import day, items_list, money
from bot.orders import OrderSummary


def describe_status(order: OrderSummary, today: date) -> Text:
    """One paragraph a customer can act on: status, carrier, tracking, dates, and what is in it."""
    text = _status(order, today)
    # The items tell a customer with several orders that this is the one they mean.
    return f"{text} Items: {items_list(order.items)}." if order.items else text


def _status(order: OrderSummary, today: date) -> Text:
    head = f"Order {order.order_id} ({money(order.total)})"
    if order.status is OrderStatus.PROCESSING:
        return f"{head} was placed {day(order.placed_on, today)} and is being prepared; it hasn't shipped yet."
    if order.status is OrderStatus.SHIPPED:
        text = f"{head} shipped {day(order.shipped_on, today)} with {order.carrier}"
        text += f", tracking number {order.tracking_number}." if order.tracking_number else "."
        if order.eta:
            text += f" It's expected to arrive {day(order.eta, today)}."
        return text
    if order.status is OrderStatus.DELIVERED:
        return f"{head} was delivered {day(order.delivered_on, today)}."
    if order.status is OrderStatus.CANCELLED:
        return f"{head} was cancelled."
    return f"{head} was returned."


class ActionOrderStatus(VerifiedOrderAction):
    def name(self) -> Text:
        return "action_order_status"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, order: OrderSummary, identity: Text
    ) -> List[EventType]:
        dispatcher.utter_message(text=describe_status(order, self._service.today()))
        return []
