"""Helpers for running the custom actions the way the action server does (imported by the tests)."""
import asyncio
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

DOMAIN = yaml.safe_load((Path(__file__).resolve().parents[2] / "domain.yml").read_text())

# Who each demo order belongs to.
OWNER = {
    10001: "alice@example.com",
    10002: "bob@example.com",
    10003: "alice@example.com",
    10004: "carol@example.com",
    10005: "dave@example.com",
}


def make_tracker(
    slots: Optional[Dict[str, Any]] = None,
    text: Optional[str] = "",
    intent: str = "inform",
    requested_slot: Optional[str] = None,
    **message_extra: Any,
) -> Tracker:
    """A tracker whose latest message is ``text`` with ``intent``; extra keys go into the parse data."""
    all_slots = {
        "order_id": None,
        "order_identity": None,
        "order_task": None,
        "pending_confirmation": None,
        "refund_items": None,
        "queued_orders": None,
        "verification_failures": 0.0,
        "requested_slot": requested_slot,
    }
    all_slots.update(slots or {})
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": [], **message_extra}
    active_loop = {"name": "order_form"} if requested_slot else {}
    return Tracker("test-user", all_slots, latest, [], False, None, active_loop, "action_listen")


def verified(order_id: int, identity: Optional[str] = None, **slots: Any) -> Dict[str, Any]:
    """Slots of a conversation that verified ``order_id`` (with its owner's email by default)."""
    return {"order_id": str(order_id), "order_identity": identity or OWNER[order_id], **slots}


def run_action(action, tracker: Tracker) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """Run ``action`` like the SDK executor does; returns (events, messages)."""
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, DOMAIN))
    return events, dispatcher.messages


def slot_sets(events: List[Dict[str, Any]]) -> List[Tuple[str, Any]]:
    """(name, value) of every SlotSet event, in order; fails on any other event type."""
    assert all(e["event"] == "slot" for e in events), events
    return [(e["name"], e["value"]) for e in events]


def texts(messages: List[Dict[str, Any]]) -> List[str]:
    return [m["text"] for m in messages]
