"""A message that asks for several orders at once ("cancel order 10002 and refund 10003").

The order actions work on one verified order at a time. The other orders of the request are kept in a queue
(``QUEUE_SLOT``) with what was asked for each; when the first order's action ends with nothing waiting for the
customer's answer, the next one is checked against the same email or ZIP code and its action runs in the same
reply, so the customer doesn't have to ask again. A new request naming an order number drops the rest of the
queue.
"""
from __future__ import annotations

import asyncio
from typing import Any, Callable, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.session import ORDER_ID_SLOT, PENDING_SLOT, TASK_SLOT, latest_user_message, session_events
from bot.orders import OrderService
from bot.parsing import ORDER_ID, tasks_by_order

QUEUE_SLOT = "queued_orders"
ACTION_LISTEN = "action_listen"
MAX_EXTRA_ORDERS = 4  # other order numbers taken from one message (a customer's handful, not a list)
_WHAT_WAS_ASKED = {
    "status": "where it is",
    "cancel": "to cancel it",
    "refund": "a refund",
    "refund_status": "its refund",
}
NEXT_TEXT = {
    "status": "Now order {order_id}, which you asked about:",
    "cancel": "Now order {order_id}, which you asked me to cancel:",
    "refund": "Now the refund you asked for on order {order_id}:",
    "refund_status": "Now the refund of order {order_id}, which you asked about:",
}
# Ends the reply of a finished change; dropped when another order follows.
ANYTHING_ELSE_TEXT = "Is there anything else I can help with?"
NOT_FOUND_TEXT = "I couldn't find order {order_id} with that email address or ZIP code, so I've left it out."


def order_request(tracker: Tracker) -> Optional[Dict[Text, Any]]:
    """The customer's latest message that asked for something, not just answered the order check
    (an ``inform`` such as the email)."""
    return latest_user_message(tracker, lambda name: name != "inform")


def orders_named(message: Optional[Dict[Text, Any]]) -> List[Text]:
    """The order numbers a message event names, in the order written, each once."""
    entities = ((message or {}).get("parse_data") or {}).get("entities") or []
    return list(dict.fromkeys(str(e.get("value")) for e in entities if e.get("entity") == ORDER_ID))


def other_orders_asked_with(tracker: Tracker, order_id: Text) -> List[Text]:
    """The other order numbers in the request that named ``order_id`` ("track 10001 and 10003").

    The request is the customer's latest message that is not just an answer to the order check (an
    ``inform`` such as the email); none when it did not name ``order_id`` ("where is it now?" later on),
    or when ``order_id`` is one of the request's later orders, taken from the queue.
    At most ``MAX_EXTRA_ORDERS``, in the order they were written.
    """
    request = order_request(tracker)
    named = orders_named(request)
    queue = _queue(tracker)
    if str(order_id) not in named or (queue.get("source") == _message_key(request) and queue.get("first") != str(order_id)):
        return []
    return [n for n in named if n != str(order_id)][:MAX_EXTRA_ORDERS]


def _message_key(message: Optional[Dict[Text, Any]]) -> Optional[Text]:
    """What tells one message event of the session from another (its time, and its text for trackers without)."""
    return f"{message.get('timestamp')}|{message.get('text')}" if message else None


def _queue(tracker: Tracker) -> Dict[Text, Any]:
    value = tracker.get_slot(QUEUE_SLOT)
    return value if isinstance(value, dict) else {}


def _latest_order_request(tracker: Tracker) -> Optional[Dict[Text, Any]]:
    """The customer's latest message of the session that names an order number and asks for something (not an
    answer to the order check: "94110" alone reads as an order number too)."""
    for event in reversed(session_events(tracker)):
        if event.get("event") == "user" and orders_named(event) and _intent(event) != "inform":
            return event
    return None


def _intent(message: Dict[Text, Any]) -> Optional[Text]:
    return ((message.get("parse_data") or {}).get("intent") or {}).get("name")


def _asked_text(queued: List[List[Text]], first: Text) -> Text:
    """"You also asked for a refund on order 10003: I'll come to it once we're done with order 10002."""
    parts = [f"order {order_id} ({_WHAT_WAS_ASKED[task]})" for task, order_id in queued]
    pronoun = "it" if len(parts) == 1 else "them"
    return f"You also asked about {' and '.join(parts)}: I'll come to {pronoun} once we're done with order {first}."


def _waits_for_answer(tracker: Tracker, events: List[EventType], dispatcher: CollectingDispatcher) -> bool:
    """Whether the action just run left a question for the customer: a change waiting for a yes, or buttons
    (an offer of a person, a choice)."""
    pending = tracker.get_slot(PENDING_SLOT)
    for event in events:
        if event.get("event") == "slot" and event.get("name") == PENDING_SLOT:
            pending = event.get("value")
    last = dispatcher.messages[-1] if dispatcher.messages else {}
    return bool(pending or last.get("buttons"))


# The action class that starts each order task (``VerifiedOrderAction`` subclasses register themselves by their
# ``task``; this module can't import them, they import it).
TASK_STARTERS: Dict[Text, Callable[..., Action]] = {}


def task_named_for(tracker: Tracker, order_id: Text) -> Optional[Text]:
    """"cancel 10001 and refund 10003", read as a refund request: the task the words of the request give this
    order ("cancel"), when the request names several orders and its queue isn't made yet; else None."""
    request = order_request(tracker)
    if len(orders_named(request)) < 2 or _queue(tracker).get("source") == _message_key(request):
        return None
    task = tasks_by_order((request or {}).get("text"), "").get(str(order_id))
    return task if task in TASK_STARTERS else None


async def run_task(
    task: Text, order_id: Text, service: OrderService, dispatcher: CollectingDispatcher, tracker: Tracker,
    domain: DomainDict, events: List[EventType],
) -> List[EventType]:
    """Runs the action that starts ``task`` on ``order_id`` in this same call, on the tracker as ``events`` (those
    of the action so far) leave it; returns ``events`` and the slots the task sets, then its own events."""
    events = events + [SlotSet(ORDER_ID_SLOT, str(order_id)), SlotSet(TASK_SLOT, task)]
    updated = tracker.copy()
    for event in events:
        if event.get("event") == "slot":
            updated.slots[event["name"]] = event.get("value")
    updated.events = list(updated.events) + list(events)
    done = await TASK_STARTERS[task](service).run(dispatcher, updated, domain)
    # The reply is complete: the customer answers next. (The policies were not trained on one action's reply
    # holding another's, e.g. a refund offer after a cancellation, and could predict a fallback instead.)
    return events + [e for e in done if e.get("event") != "followup"] + [FollowupAction(ACTION_LISTEN)]


async def continue_with_other_orders(
    service: OrderService,
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: DomainDict,
    events: List[EventType],
    order_id: Text,
    task: Optional[Text],
    identity: Text,
) -> List[EventType]:
    """``events`` (those of the order action that just ran on ``order_id`` for ``task``), then what follows.

    When the request named other orders, they are queued with their own tasks (those the status action has
    already answered are left out); while a question waits, the customer is told they were heard. Once nothing
    waits, the next queued order verified with ``identity`` becomes the conversation's order and its task's
    action runs (``run_task``); one that doesn't match is said so and skipped.
    """
    request = order_request(tracker)
    queue = _queue(tracker)
    events = list(events)
    others = other_orders_asked_with(tracker, order_id) if task in TASK_STARTERS else []
    if others and queue.get("source") != _message_key(request):
        tasks = tasks_by_order((request or {}).get("text"), task)
        todo = [[tasks.get(n, task), n] for n in others]
        if task == "status":
            # The status action already gave every other order's status, or said it couldn't find the order.
            todo = [entry for entry in todo if entry[0] != "status"
                    and await asyncio.to_thread(service.verify, int(entry[1]), identity) is not None]
        queue = {"source": _message_key(request), "first": str(order_id), "todo": todo}
        events.append(SlotSet(QUEUE_SLOT, queue))
        if todo and _waits_for_answer(tracker, events, dispatcher):
            # Said before the question, which stays the last message.
            dispatcher.messages.insert(len(dispatcher.messages) - 1, _text_message(_asked_text(todo, str(order_id))))
            return events
    if not queue.get("todo") or _waits_for_answer(tracker, events, dispatcher):
        return events
    if queue.get("source") != _message_key(_latest_order_request(tracker)):
        return events + [SlotSet(QUEUE_SLOT, None)]  # a newer request named an order: this one is over
    todo = list(queue["todo"])
    last = dispatcher.messages[-1] if dispatcher.messages else {}
    if (last.get("text") or "").endswith(" " + ANYTHING_ELSE_TEXT):
        last["text"] = last["text"][: -len(ANYTHING_ELSE_TEXT) - 1]
    while todo:
        next_task, next_id = todo.pop(0)
        order = await asyncio.to_thread(service.verify, int(next_id), identity)
        if order is None:
            dispatcher.utter_message(text=NOT_FOUND_TEXT.format(order_id=next_id))
            continue
        dispatcher.utter_message(text=NEXT_TEXT[next_task].format(order_id=next_id))
        events.append(SlotSet(QUEUE_SLOT, {**queue, "todo": todo}))
        return await run_task(next_task, next_id, service, dispatcher, tracker, domain, events)
    return events + [SlotSet(QUEUE_SLOT, {**queue, "todo": []})]


def _text_message(text: Text) -> Dict[Text, Any]:
    """A dispatcher message holding only ``text`` (the shape ``CollectingDispatcher.utter_message`` stores)."""
    dispatcher = CollectingDispatcher()
    dispatcher.utter_message(text=text)
    return dispatcher.messages[0]
