"""Changing an order: orders can't be edited, so a change is a free cancellation while the order
hasn't shipped (the customer then orders again) or a return once it has. The delivery address is the
exception: the customer changes it in their account until the order ships."""
from __future__ import annotations

from datetime import date
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.cancellation import why_not_cancellable
from actions.confirmation import CONFIRM_BUTTONS, PENDING_SLOT
from actions.fallback import OFFER_HUMAN_BUTTONS
from actions.products import said_not_in_order
from actions.session import latest_request
from actions.verification import (
    IDENTITY_SLOT,
    ORDER_ID_SLOT,
    TASK_SLOT,
    VerifiedOrderAction,
    conversation_order,
    order_values_kept,
)
from bot.db.models import OrderStatus
from bot.formatting import day, money
from bot.orders import OrderService, OrderSummary
from bot.parsing import ORDER_ID, find_entities, has_street_address

CHANGE_TASK = "change"
ADDRESS_TASK = "address"


def order_named_in_request(tracker: Tracker, intent: Text) -> Optional[Text]:
    """The order number in the customer's latest ``intent`` message ("can I change order 10002?"), if any."""
    numbers = [s.value for s in find_entities(latest_request(tracker, intent)) if s.entity == ORDER_ID]
    return numbers[0] if numbers else None


def check_named_order(tracker: Tracker, task: Text, intent: Text) -> List[EventType]:
    """Sets the order form's task; an order number given with the request is kept, so the form only asks for
    the email or ZIP code (which it checks together with the number). An email given there is asked again
    rather than trusted unchecked."""
    events: List[EventType] = [SlotSet(TASK_SLOT, task)]
    named = order_named_in_request(tracker, intent)
    if named and named != tracker.get_slot(ORDER_ID_SLOT):
        events += [SlotSet(ORDER_ID_SLOT, named), SlotSet(IDENTITY_SLOT, None), SlotSet(PENDING_SLOT, None)]
    return events


class ActionStartOrderChange(Action):
    """The customer said yes to "Would you like me to check your order?", or answered it with the order number
    ("10002", kept for the check): the order form runs for a change."""

    def name(self) -> Text:
        return "action_start_order_change"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        if ((tracker.latest_message or {}).get("intent") or {}).get("name") == "inform":
            return [SlotSet(TASK_SLOT, CHANGE_TASK)] + order_values_kept(tracker, bare_digits_as_zip=False)
        return check_named_order(tracker, CHANGE_TASK, "change_order")


class ActionStartAddressCheck(Action):
    """An address change asked about a named order ("can I change the delivery address for order 10001?"), or a
    yes (or the order number) to the offer to check: the order form runs to say whether that order's address
    can still change."""

    def name(self) -> Text:
        return "action_start_address_check"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        if has_street_address((tracker.latest_message or {}).get("text")):
            # "it's 55 Oak Lane, Portland OR 97201" to "Would you like me to check your order?": the new address, not
            # the order's ZIP code (seen in a chat: checked against order 10001 as its ZIP, a failed check). The
            # order kept from earlier, if any, is checked; otherwise the form asks for it.
            return [SlotSet(TASK_SLOT, ADDRESS_TASK)]
        if ((tracker.latest_message or {}).get("intent") or {}).get("name") == "inform":
            return [SlotSet(TASK_SLOT, ADDRESS_TASK)] + order_values_kept(tracker, bare_digits_as_zip=False)
        return check_named_order(tracker, ADDRESS_TASK, "change_shipping_address")


class ActionChangeOrder(VerifiedOrderAction):
    """Says what a change means for the verified order, and offers the free cancellation when there is one."""

    def name(self) -> Text:
        return "action_change_order"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, order: OrderSummary, identity: Text
    ) -> List[EventType]:
        # Seen in a chat: "can i change the color of the jacket i ordered" then order 10002, a TV: the offer to
        # cancel the TV followed, and "ok cancel it then" cancelled it.
        if await said_not_in_order(dispatcher, self._catalog, latest_request(tracker, "change_order"), order, CHANGE_TASK):
            return []
        if order.status is not OrderStatus.PROCESSING:
            dispatcher.utter_message(text=why_not_cancellable(order, self._service.today(), "changed or cancelled"))
            return []
        dispatcher.utter_message(
            text=(
                f"Order {order.order_id} ({money(order.total)}) hasn't shipped yet. I can't edit it, but I can "
                "cancel it free of charge so you can place a new order with the changes. Shall I cancel it?"
            ),
            buttons=CONFIRM_BUTTONS,
        )
        return [SlotSet(PENDING_SLOT, "cancel_order")]


def address_change_reply(order: OrderSummary, today: date) -> Tuple[Text, Optional[List[Dict[Text, Text]]]]:
    """Whether ``order``'s delivery address can still be changed, and how: the text and its buttons."""
    number = order.order_id
    if order.status is OrderStatus.PROCESSING:
        return (
            f"Order {number} hasn't shipped yet, so you can still change its delivery address: open it under "
            'Account > Orders at brightbay.example and choose "Change address".'
        ), None
    if order.status is OrderStatus.SHIPPED:
        tracking = f" (tracking number {order.tracking_number})" if order.tracking_number else ""
        return (
            f"Order {number} has already shipped with {order.carrier}{tracking}, so its delivery address can't "
            "be changed anymore. If no one will be at that address, a support agent can look into what's possible."
        ), OFFER_HUMAN_BUTTONS
    if order.status is OrderStatus.DELIVERED:
        return (
            f"Order {number} was already delivered {day(order.delivered_on, today)}. "
            "If it went to the wrong address, a support agent can help."
        ), OFFER_HUMAN_BUTTONS
    return f"Order {number} was {order.status.value}, so there's no delivery to change.", None


async def said_checked_orders_address_change(
    dispatcher: CollectingDispatcher, tracker: Tracker, orders: OrderService
) -> bool:
    """"can i change the delivery address?" (no order named) after an order was checked in this conversation:
    that order's answer, and True; False, saying nothing, otherwise (the general answer and the offer to check
    an order follow). Seen in a chat: after order 10001's status, the question got the offer to check an order."""
    message = tracker.latest_message or {}
    if (message.get("intent") or {}).get("name") != "change_shipping_address" or (tracker.active_loop or {}).get("name"):
        return False
    if any(s.entity == ORDER_ID for s in find_entities(message.get("text"))):
        return False  # "...for order 10002": the rule for a named order checks that one
    order = await conversation_order(tracker, orders)
    if order is None:
        return False
    text, buttons = address_change_reply(order, orders.today())
    dispatcher.utter_message(text=text, buttons=buttons)
    return True


class ActionAddressChange(VerifiedOrderAction):
    """Says whether the verified order's delivery address can still be changed, and how."""

    def name(self) -> Text:
        return "action_address_change"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, order: OrderSummary, identity: Text
    ) -> List[EventType]:
        text, buttons = address_change_reply(order, self._service.today())
        dispatcher.utter_message(text=text, buttons=buttons)
        return []
