"""Changes that wait for the customer's yes: the shared slot, buttons and the "no" path."""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

PENDING_SLOT = "pending_confirmation"
CONFIRM_BUTTONS = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
# "don't cancel it", "wait, no refund yet": a request worded against itself is a no, whatever intent it got.
_AGAINST = re.compile(r"\b(?:no|not|don'?t|dont|do not|never|stop|wait|hold on|keep it)\b", re.IGNORECASE)


def answers_the_question(tracker: Tracker, pending: Text) -> Optional[bool]:
    """Whether the latest message, a request for the change that already waits for a yes ("ok yes cancel
    it" to "Shall I cancel it?"), answers the question: True for yes, False for no ("don't cancel it"),
    None when nothing of that kind was waiting."""
    if tracker.get_slot(PENDING_SLOT) != pending:
        return None
    return not _AGAINST.search((tracker.latest_message or {}).get("text") or "")


def decline(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    """Nothing changes; the question is dropped."""
    order_id = tracker.get_slot("order_id")
    what = f"order {order_id}" if order_id else "your order"
    dispatcher.utter_message(text=f"OK, I haven't changed anything on {what}. Is there anything else I can help with?")
    return [SlotSet(PENDING_SLOT, None)]


def still_waiting_question(tracker: Tracker) -> Optional[Text]:
    """The confirmation question to ask again after answering something else, or None when nothing waits."""
    order_id = tracker.get_slot("order_id")
    pending = tracker.get_slot(PENDING_SLOT)
    if not order_id or pending not in ("cancel_order", "refund"):
        return None
    if pending == "cancel_order":
        return f"Shall I still cancel order {order_id}?"
    return f"Shall I still request the refund for order {order_id}?"


class ActionDeclineChange(Action):
    """The customer said no to a cancellation or refund: nothing changes."""

    def name(self) -> Text:
        return "action_decline_change"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        return decline(dispatcher, tracker)
