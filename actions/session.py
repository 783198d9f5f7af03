"""What the actions read from the current conversation session."""
from __future__ import annotations

import copy
from typing import Any, Callable, Dict, List, Optional, Set, Text

from rasa_sdk import Tracker

from bot import parsing

# The order the customer verified in this conversation and the email or ZIP code it was verified with (domain.yml;
# bot/parsing.py reads them from a message).
ORDER_ID_SLOT = parsing.ORDER_ID_SLOT
IDENTITY_SLOT = parsing.IDENTITY_SLOT
# What the customer wants done with the conversation's order (domain.yml).
TASK_SLOT = "order_task"
# A change that waits for the customer's yes ("cancel_order", "refund"; actions/confirmation.py).
PENDING_SLOT = "pending_confirmation"
# Bot message metadata: the reply took the customer's message as a detail of the request the order check waits
# on ("it was the water bottle" while the order number is asked for); the order actions read it with the request.
REQUEST_DETAIL = "request_detail"


def session_events(tracker: Tracker) -> List[Dict[Text, Any]]:
    """The events of the current session (after the last session_started)."""
    events = list(tracker.events or [])
    for i in range(len(events) - 1, -1, -1):
        if events[i].get("event") == "session_started":
            return events[i + 1 :]
    return events


def user_messages(tracker: Tracker) -> List[Dict[Text, Any]]:
    """The customer's message events of the current session, oldest first (the latest message last)."""
    return [e for e in session_events(tracker) if e.get("event") == "user"]


def _details(events: List[Dict[Text, Any]]) -> Set[int]:
    """Indices in ``events`` of the customer's messages the assistant took as details of their request
    (``REQUEST_DETAIL`` in the metadata of its reply)."""
    details, last_user = set(), None
    for i, event in enumerate(events):
        if event.get("event") == "user":
            last_user = i
        elif event.get("event") == "bot" and last_user is not None and (event.get("metadata") or {}).get(REQUEST_DETAIL):
            details.add(last_user)
    return details


def latest_user_message(tracker: Tracker, wanted: Callable[[Optional[Text]], bool]) -> Optional[Dict[Text, Any]]:
    """The customer's latest message event in this session whose intent name ``wanted`` accepts, or None.
    Details added to a request ("it was the water bottle") are not requests themselves and are skipped."""
    events = session_events(tracker)
    details = _details(events)
    for i in range(len(events) - 1, -1, -1):
        event = events[i]
        if (event.get("event") == "user" and i not in details
                and wanted(((event.get("parse_data") or {}).get("intent") or {}).get("name"))):
            return event
    return None


def with_details(tracker: Tracker, request: Optional[Dict[Text, Any]]) -> Optional[Text]:
    """The text of ``request`` (one of the customer's message events of this session) followed by the details
    they added after it ("i want to return something. it was the water bottle"); None for no request."""
    if request is None:
        return None
    events = session_events(tracker)
    start = next((i for i, event in enumerate(events) if event is request), len(events))
    parts = [request.get("text") or ""] + [events[i].get("text") or "" for i in sorted(_details(events)) if i > start]
    return ". ".join(part.strip().rstrip(".") for part in parts if part.strip())


def latest_request(tracker: Tracker, intent: Text) -> Optional[Text]:
    """The text of the customer's latest ``intent`` message in this session ("can I change order 10002?") with
    the details they added after it, or None when there is none."""
    return with_details(tracker, latest_user_message(tracker, lambda name: name == intent))


def with_slots(tracker: Tracker, **slots: Any) -> Tracker:
    """A copy of ``tracker`` whose slots hold ``slots`` too: for an action that goes on, within the same run, with
    values it also sets by events (another order of the conversation)."""
    changed = copy.copy(tracker)
    changed.slots = {**tracker.slots, **slots}
    return changed


def previous_bot_turn(tracker: Tracker) -> List[Dict[Text, Any]]:
    """The bot's message events between the customer's two latest messages in this session (its reply to the
    message before the latest one); empty when there is no earlier message."""
    return recent_bot_turns(tracker, 1)


def previous_reply_metadata(tracker: Tracker, key: Text) -> Any:
    """The value under ``key`` in the metadata of the bot's reply to the customer's previous message (its last
    message holding one), or None."""
    for event in reversed(previous_bot_turn(tracker)):
        value = (event.get("metadata") or {}).get(key)
        if value:
            return value
    return None


def previous_reply_was(tracker: Tracker, response: Text) -> bool:
    """Whether the bot's reply to the customer's previous message sent ``response`` ("utter_wrong_item")."""
    return any((e.get("metadata") or {}).get("utter_action") == response for e in previous_bot_turn(tracker))


def recent_bot_turns(tracker: Tracker, turns: int) -> List[Dict[Text, Any]]:
    """The bot's message events of its ``turns`` latest replies before the customer's latest message, oldest first."""
    events = session_events(tracker)
    users = [i for i, e in enumerate(events) if e.get("event") == "user"]
    if len(users) < 2:
        return []
    start = users[max(0, len(users) - 1 - turns)]
    return [e for e in events[start + 1 : users[-1]] if e.get("event") == "bot"]
