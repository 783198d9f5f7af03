"""Cancelling an order: only while it is still processing, and only after a yes."""
from __future__ import annotations

import asyncio
import re
from datetime import date
from decimal import Decimal
from typing import List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.confirmation import CONFIRM_BUTTONS, PENDING_SLOT, answers_the_question, decline
from actions.products import other_order_holding, said_not_in_order
from actions.session import ORDER_ID_SLOT, latest_request, with_slots
from actions.several_orders import ANYTHING_ELSE_TEXT
from actions.verification import VerifiedOrderAction
from bot.db.models import OrderStatus
from bot.formatting import day, items_list, money
from bot.orders import CancelOutcome, OrderService, OrderSummary
from bot.parsing import items_named

RETURN_HINT = (
    "You can return it within 30 days of delivery if it's unused and in its original packaging; "
    "just ask me for a refund once it has arrived."
)


def shipped_text(order: OrderSummary, refused: Text = "cancelled") -> Text:
    """That the order shipped, with its carrier and tracking number, so it can't be ``refused``."""
    tracking = f" (tracking number {order.tracking_number})" if order.tracking_number else ""
    return f"Order {order.order_id} has already shipped with {order.carrier}{tracking}, so it can't be {refused}."


def why_not_cancellable(order: OrderSummary, today: date, refused: Text = "cancelled") -> Text:
    """Why the order can't be cancelled (or ``refused``: "changed or cancelled"), and what the customer can do."""
    if order.status is OrderStatus.SHIPPED:
        return f"{shipped_text(order, refused)} {RETURN_HINT}"
    if order.status is OrderStatus.DELIVERED:
        return (
            f"Order {order.order_id} was delivered {day(order.delivered_on, today)}, so it can't be {refused}. "
            "You can return it within 30 days of delivery instead; ask me for a refund and I'll start it."
        )
    if order.status is OrderStatus.CANCELLED:
        return f"Order {order.order_id} is already cancelled."
    return f"Order {order.order_id} was returned, so there's nothing to cancel."


# Part of an order asked for ("can i cancel just one item", "remove an item from my order"); an item named is read
# by items_named.
_PART_OF_ORDER = re.compile(
    r"\b(?:just|only) (?:one|1|some|part|a few|an?|a single) (?:of (?:the|my) )?(?:items?|things?|products?|of)\b"
    r"|\b(?:one|some|an?|a single) (?:items?|things?|products?) (?:from|of|in|on) (?:my|the|this|that) order\b"
    r"|\bremove (?:an?|one|some)? ?(?:items?|things?|products?)\b|\bpartial(?:ly)?\b",
    re.IGNORECASE,
)


def part_asked_for(request: Text, order: OrderSummary) -> Optional[Text]:
    """The part of an order of several items a cancellation request asks for, in words ("the USB-C Charging Cable
    (2 m)", "one item"); None for the whole order."""
    if len(order.items) < 2:
        return None
    named = items_named(request, [name for name, _ in order.items])
    if named:
        return f"the {items_list(named)}" if len(named) > 1 else f"the {named[0]}"
    return "part of it" if _PART_OF_ORDER.search(request) else None


class ActionCancelOrder(VerifiedOrderAction):
    """Explains what cancelling means for this order and asks for a yes."""

    def name(self) -> Text:
        return "action_cancel_order"

    task = "cancel"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, order: OrderSummary, identity: Text
    ) -> List[EventType]:
        request = latest_request(tracker, "cancel_order")
        other = await other_order_holding(self._catalog, self._service, tracker, request, order, identity)
        if other is not None:
            # "cancel the tent" after the status of two orders, the tent in the other one: that order's cancellation.
            switched = with_slots(tracker, **{ORDER_ID_SLOT: str(other.order_id)})
            return [SlotSet(ORDER_ID_SLOT, str(other.order_id)), *await self.act(dispatcher, switched, other, identity)]
        part = part_asked_for(latest_request(tracker, "cancel_order") or "", order)
        if order.status is OrderStatus.SHIPPED and part:
            # Seen in a chat: "can i cancel just one item from my order" got the whole order's refusal, and "the
            # cable" next was out of scope. Only a return can take back part of an order.
            return_part = "just that item" if part == "part of it" else f"just {part}"
            dispatcher.utter_message(text=(
                f"{shipped_text(order)} Once it's delivered, you can "
                f"return {return_part} within 30 days if it's unused and in its original packaging; ask me for a "
                "refund then."))
            return []
        if order.status is not OrderStatus.PROCESSING:
            dispatcher.utter_message(text=why_not_cancellable(order, self._service.today()))
            return []
        answer = answers_the_question(tracker, "cancel_order")
        # "cancel the jacket i ordered" about an order of a TV: nothing is offered for the wrong order.
        if answer is None and await said_not_in_order(
            dispatcher, self._catalog, latest_request(tracker, "cancel_order"), order, "cancel"
        ):
            return []
        if answer is not None:
            # Asked "Shall I cancel it?" and answered with the request itself: "ok yes cancel it" is the yes
            # (it was asked again), "no don't cancel it" the no.
            if answer:
                return await cancel_now(self._service, dispatcher, order, identity)
            return decline(dispatcher, tracker)
        # Orders can't be edited (help center, "Changing an order"): part of one is the whole order, said so.
        whole = (f"Orders can't be edited once they're placed, so I can't cancel only {part}, but I can cancel the whole "
                 "order and you can order again what you still want. ") if part else ""
        dispatcher.utter_message(
            text=(
                # The items say which order this is (seen in a chat: "ok cancel it then" about a jacket, after
                # being told order 10002 holds a TV, got "Order 10002 ($1,249.00)..." and a yes cancelled the TV).
                f"{whole}Order {order.order_id} ({money(order.total)}: {items_list(order.items)}) hasn't shipped yet, so I "
                f"can cancel it free of charge. Shall I cancel {'the whole order' if part else 'it'}?"
            ),
            buttons=CONFIRM_BUTTONS,
        )
        return [SlotSet(PENDING_SLOT, "cancel_order")]


class ActionConfirmCancelOrder(VerifiedOrderAction):
    """Cancels the order after the customer said yes."""

    def name(self) -> Text:
        return "action_confirm_cancel_order"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, order: OrderSummary, identity: Text
    ) -> List[EventType]:
        return await cancel_now(self._service, dispatcher, order, identity)


def never_charged_text(total: Decimal, just_now: bool = True) -> Text:
    """What happens to the money of an order cancelled before it shipped. Help center: the card is authorized when
    the order is placed and charged when it ships, and the bank drops an authorization within 3-5 business days
    (seen in a chat: the reply said the total "goes back ... within 5-7 business days", a refund's timing, right
    after the help center had said nothing was charged). ``just_now``: said as the order is cancelled, else about
    an order cancelled earlier."""
    if just_now:
        return (f"You haven't been charged (we charge when an order ships): the {money(total)} authorization on your "
                "payment method is released, and your bank removes it within 3-5 business days.")
    return (f"You weren't charged (we charge when an order ships): the {money(total)} authorization on your payment "
            "method was released when the order was cancelled, and your bank removes it within 3-5 business days of "
            "that.")


async def cancel_now(
    service: OrderService, dispatcher: CollectingDispatcher, order: OrderSummary, identity: Text
) -> List[EventType]:
    """Cancels the order (the service checks the identity and the status again) and says what happened."""
    result = await asyncio.to_thread(service.cancel, order.order_id, identity)
    if result.outcome is CancelOutcome.CANCELLED:
        dispatcher.utter_message(
            text=(
                f"Done: order {order.order_id} is cancelled, with no fee. " + never_charged_text(order.total) + " "
                + ANYTHING_ELSE_TEXT
            )
        )
    else:
        dispatcher.utter_message(text=why_not_cancellable(result.order or order, service.today()))
    return [SlotSet(PENDING_SLOT, None)]
