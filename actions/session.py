"""What the actions read from the current conversation session."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Tracker


def session_events(tracker: Tracker) -> List[Dict[Text, Any]]:
    """The events of the current session (after the last session_started)."""
    events = list(tracker.events or [])
    for i in range(len(events) - 1, -1, -1):
        if events[i].get("event") == "session_started":
            return events[i + 1 :]
    return events
