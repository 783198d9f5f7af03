"""Changing an order: orders can't be edited, so a change is a free cancellation while the order
hasn't shipped (the customer then orders again) or a return once it has."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.cancellation import why_not_cancellable
from actions.confirmation import CONFIRM_BUTTONS, PENDING_SLOT
from actions.session import session_events
from actions.verification import IDENTITY_SLOT, ORDER_ID_SLOT, VerifiedOrderAction
from bot.db.models import OrderStatus
from bot.formatting import money
from bot.orders import OrderSummary
from bot.parsing import ORDER_ID, find_entities

TASK_SLOT = "order_task"
CHANGE_TASK = "change"


def order_named_in_change_request(tracker: Tracker) -> Optional[Text]:
    """The order number in the customer's latest change request ("can I change order 10002?"), if any."""
    for event in reversed(session_events(tracker)):
        parse = event.get("parse_data") or {}
        if event.get("event") == "user" and (parse.get("intent") or {}).get("name") == "change_order":
            numbers = [s.value for s in find_entities(event.get("text")) if s.entity == ORDER_ID]
            return numbers[0] if numbers else None
    return None


class ActionStartOrderChange(Action):
    """The customer said yes to "Would you like me to check your order?": the order form runs for a change.

    An order number given with the request is kept, so the form only asks for the email or ZIP code
    (which it checks together with the number); an email given there is asked again rather than
    trusted unchecked.
    """

    def name(self) -> Text:
        return "action_start_order_change"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        events: List[EventType] = [SlotSet(TASK_SLOT, CHANGE_TASK)]
        named = order_named_in_change_request(tracker)
        if named and named != tracker.get_slot(ORDER_ID_SLOT):
            events += [SlotSet(ORDER_ID_SLOT, named), SlotSet(IDENTITY_SLOT, None), SlotSet(PENDING_SLOT, None)]
        return events


class ActionChangeOrder(VerifiedOrderAction):
    """Says what a change means for the verified order, and offers the free cancellation when there is one."""

    def name(self) -> Text:
        return "action_change_order"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, order: OrderSummary, identity: Text
    ) -> List[EventType]:
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
