"""What the actions read from the current conversation session."""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Text

from rasa_sdk import Tracker

# The order the customer verified in this conversation, the email or ZIP code it was verified with, and what
# they want done with it (domain.yml).
ORDER_ID_SLOT = "order_id"
IDENTITY_SLOT = "order_identity"
TASK_SLOT = "order_task"
# A change that waits for the customer's yes ("cancel_order", "refund"; actions/confirmation.py).
PENDING_SLOT = "pending_confirmation"


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


def latest_user_message(tracker: Tracker, wanted: Callable[[Optional[Text]], bool]) -> Optional[Dict[Text, Any]]:
    """The customer's latest message event in this session whose intent name ``wanted`` accepts, or None."""
    for event in reversed(session_events(tracker)):
        if event.get("event") == "user" and wanted(((event.get("parse_data") or {}).get("intent") or {}).get("name")):
            return event
    return None


def latest_request(tracker: Tracker, intent: Text) -> Optional[Text]:
    """The text of the customer's latest ``intent`` message in this session ("can I change order 10002?"),
    or None when there is none."""
    event = latest_user_message(tracker, lambda name: name == intent)
    return (event.get("text") or "") if event else None


def previous_bot_turn(tracker: Tracker) -> List[Dict[Text, Any]]:
    """The bot's message events between the customer's two latest messages in this session (its reply to the
    message before the latest one); empty when there is no earlier message."""
    return recent_bot_turns(tracker, 1)


def recent_bot_turns(tracker: Tracker, turns: int) -> List[Dict[Text, Any]]:
    """The bot's message events of its ``turns`` latest replies before the customer's latest message, oldest first."""
    events = session_events(tracker)
    users = [i for i, e in enumerate(events) if e.get("event") == "user"]
    if len(users) < 2:
        return []
    start = users[max(0, len(users) - 1 - turns)]
    return [e for e in events[start + 1 : users[-1]] if e.get("event") == "bot"]
