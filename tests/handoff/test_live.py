"""The hand-back keeps the order details a customer typed while the conversation was paused."""
from __future__ import annotations

from typing import List

import pytest
from rasa.shared.core.events import ConversationPaused, Event, SlotSet, UserUttered
from rasa.shared.core.slots import TextSlot
from rasa.shared.core.trackers import DialogueStateTracker

from bot.handoff.live import order_details_while_paused, record_bot_back


def tracker_of(events: List[Event]) -> DialogueStateTracker:
    slots = [TextSlot(name, mappings=[{}]) for name in ("order_id", "order_identity")]
    return DialogueStateTracker.from_events("customer-1", events, slots=slots)


@pytest.mark.parametrize("before, while_paused, kept", [
    # Seen in a chat: the order check had asked for the email of 10002 when the customer asked for a person.
    ([SlotSet("order_id", "10002")], ["my email is bob@example.com"], {"order_identity": "bob@example.com"}),
    # A bare ZIP code answers the question the check had asked.
    ([SlotSet("order_id", "10004")], ["60614"], {"order_identity": "60614"}),
    # No order yet: the number and the email.
    ([], ["it's order 10004", "carol@example.com"], {"order_id": "10004", "order_identity": "carol@example.com"}),
    # Another order: the email given for the first one is dropped, not assumed to fit it.
    ([SlotSet("order_id", "10001"), SlotSet("order_identity", "alice@example.com")], ["actually it's order 10002"],
     {"order_id": "10002", "order_identity": None}),
    # Nothing typed that names an order: nothing changes.
    ([SlotSet("order_id", "10002")], ["hello? anyone there?"], {}),
])
def test_order_details_typed_while_paused_are_kept(before, while_paused, kept) -> None:
    events = [UserUttered("where is my order"), *before, ConversationPaused()]
    events += [UserUttered(text) for text in while_paused]
    tracker = tracker_of(events)
    assert {e.key: e.value for e in order_details_while_paused(tracker)} == kept


def test_details_typed_before_the_pause_are_left_to_the_order_check() -> None:
    tracker = tracker_of([UserUttered("bob@example.com"), SlotSet("order_id", "10002"), ConversationPaused()])
    assert order_details_while_paused(tracker) == []
    assert order_details_while_paused(tracker_of([UserUttered("bob@example.com")])) == []


def test_the_hand_back_sets_them_after_the_conversation_resumes() -> None:
    tracker = tracker_of([SlotSet("order_id", "10002"), ConversationPaused(), UserUttered("bob@example.com")])
    record_bot_back(tracker, "utter_handed_back", "I'm back.", {})
    assert not tracker.is_paused()
    assert tracker.get_slot("order_identity") == "bob@example.com"
    assert tracker.latest_bot_utterance.text == "I'm back."
