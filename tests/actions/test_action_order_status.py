"""ActionOrderStatus: what a verified customer is told, and what nobody else learns."""
import pytest

from action_helpers import make_tracker, run_action, texts, verified
from actions.order_status import ActionOrderStatus
from actions.fallback import OFFER_HUMAN_BUTTONS
from actions.verification import LOCKED_TEXT, NOT_VERIFIED_TEXT


@pytest.fixture
def action(order_service):
    return ActionOrderStatus(order_service)


# TODAY is Sunday, 2026-03-15.
@pytest.mark.parametrize(
    "order_id, expected",
    [
        (10001, "Order 10001 ($89.90) shipped yesterday with UPS, tracking number 1Z999AA10123456784. "
                "It's expected to arrive on Tuesday, March 17. "
                "Items: Portable Bluetooth Speaker; USB-C Charging Cable (2 m)."),
        (10002, "Order 10002 ($1,249.00) was placed yesterday and is being prepared; it hasn't shipped yet. "
                "Items: Brightview 65\" 4K QLED TV."),
        (10003, "Order 10003 ($34.50) was delivered on Tuesday, March 10. "
                "Items: Insulated Water Bottle, 1 L; Carabiner Set (3-pack)."),
        (10005, "Order 10005 ($120.00) was cancelled. Items: Wi-Fi Smart Thermostat."),
    ],
    ids=["shipped", "processing", "delivered", "cancelled"],
)
def test_status_reply(action, order_id, expected):
    events, messages = run_action(action, make_tracker(verified(order_id)))
    assert texts(messages) == [expected]
    assert events == []


def test_zip_code_verifies_too(action):
    _, messages = run_action(action, make_tracker(verified(10004, "60614")))
    assert texts(messages) == ["Order 10004 ($649.99) was delivered on Thursday, March 5. Items: Espresso Machine with Grinder."]


def test_wrong_email_leaks_nothing(action):
    events, messages = run_action(action, make_tracker(verified(10001, "bob@example.com")))
    assert texts(messages) == [NOT_VERIFIED_TEXT]
    reply = messages[0]["text"]
    assert "1Z999AA10123456784" not in reply and "89.90" not in reply and "UPS" not in reply
    assert messages[0]["buttons"] == []
    assert events == []


def test_locked_conversation_offers_a_person(action):
    tracker = make_tracker({"verification_failures": 3.0})
    events, messages = run_action(action, tracker)
    assert texts(messages) == [LOCKED_TEXT]
    assert messages[0]["buttons"] == OFFER_HUMAN_BUTTONS
    assert messages[0]["buttons"][0] == {"title": "Talk to a person", "payload": "/contact_human_agent"}
    assert events == []


def test_locked_conversation_with_tampered_slots_still_leaks_nothing(action):
    tracker = make_tracker(verified(10001, "carol@example.com", verification_failures=3.0))
    _, messages = run_action(action, tracker)
    assert texts(messages) == [LOCKED_TEXT]
    assert "1Z999AA10123456784" not in messages[0]["text"]


def test_items_list_shows_quantities_and_caps_long_orders():
    from bot.formatting import items_list

    assert items_list([("Folding Camp Chair", 2), ("Trail Headlamp, 400 lm", 1)]) == "2 x Folding Camp Chair; Trail Headlamp, 400 lm"
    five = [(f"Item {n}", 1) for n in range(5)]
    assert items_list(five) == "Item 0; Item 1; Item 2; and 2 more items"
    assert items_list(five[:4]) == "Item 0; Item 1; Item 2; and 1 more item"
