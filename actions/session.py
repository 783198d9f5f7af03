"""What the actions read from the current conversation session."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker


def session_events(tracker: Tracker) -> List[Dict[Text, Any]]:
    """The events of the current session (after the last session_started)."""
    events = list(tracker.events or [])
    for i in range(len(events) - 1, -1, -1):
        if events[i].get("event") == "session_started":
            return events[i + 1 :]
    return events


def latest_request(tracker: Tracker, intent: Text) -> Optional[Text]:
    """The text of the customer's latest ``intent`` message in this session ("can I change order 10002?"),
    or None when there is none."""
    for event in reversed(session_events(tracker)):
        parse = event.get("parse_data") or {}
        if event.get("event") == "user" and (parse.get("intent") or {}).get("name") == intent:
            return event.get("text") or ""
    return None
