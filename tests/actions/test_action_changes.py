"""Changing an order: nothing is edited; a free cancellation is offered while it hasn't shipped."""
import pytest
from rasa_sdk import Tracker

from action_helpers import make_tracker, run_action, slot_sets, texts, verified
from actions.changes import ActionAddressChange, ActionChangeOrder, ActionStartAddressCheck, ActionStartOrderChange
from actions.verification import NOT_VERIFIED_TEXT
from bot.db.models import OrderStatus

YES_NO = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]


@pytest.fixture
def change(order_service):
    return ActionChangeOrder(order_service)


def _user(text, intent):
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}, "entities": []}}


def _after_yes(request: str, **slots) -> Tracker:
    """A conversation where ``request`` (a change_order message) got utter_change_order and then a yes."""
    events = [
        {"event": "session_started"},
        _user(request, "change_order"),
        {"event": "bot", "text": "Orders can't be edited once placed..."},
        _user("yes", "affirm"),
    ]
    tracker = make_tracker(slots, text="yes", intent="affirm")
    tracker.events = events
    return tracker


def test_processing_order_offers_the_free_cancellation(change, fresh_service):
    events, messages = run_action(change, make_tracker(verified(10002, order_task="change")))
    [message] = messages
    assert message["text"].startswith("Order 10002 ($1,249.00) hasn't shipped yet.")
    assert "cancel it free of charge" in message["text"] and message["text"].endswith("Shall I cancel it?")
    assert message["buttons"] == YES_NO
    # The yes goes to the cancellation's confirmation rule; nothing changes before it.
    assert slot_sets(events) == [("pending_confirmation", "cancel_order")]
    assert fresh_service.verify(10002, "bob@example.com").status is OrderStatus.PROCESSING


@pytest.mark.parametrize(
    "order_id, expected",
    [
        (10001, "Order 10001 has already shipped with UPS (tracking number 1Z999AA10123456784), so it can't be changed or cancelled."),
        (10003, "so it can't be changed or cancelled. You can return it within 30 days of delivery"),
        (10005, "Order 10005 is already cancelled."),
    ],
)
def test_an_order_past_processing_explains_instead(change, db_state, order_id, expected):
    before = db_state()
    events, messages = run_action(change, make_tracker(verified(order_id)))
    [reply] = texts(messages)
    assert expected in reply
    assert events == [] and messages[0]["buttons"] == []
    assert db_state() == before


def test_tampered_slots_change_nothing(change, db_state):
    before = db_state()
    events, messages = run_action(change, make_tracker(verified(10002, "alice@example.com")))
    assert texts(messages) == [NOT_VERIFIED_TEXT] and events == []
    assert db_state() == before


def test_yes_starts_the_check_for_a_change():
    events, messages = run_action(ActionStartOrderChange(), _after_yes("I want to change my order"))
    assert slot_sets(events) == [("order_task", "change")] and messages == []


def test_an_order_number_in_the_request_is_kept_but_its_owner_asked_for():
    tracker = _after_yes("can I change order #10002? I'm bob@example.com", **verified(10001))
    events, _ = run_action(ActionStartOrderChange(), tracker)
    # The email in the request is not trusted unchecked: the form asks for it and checks both together.
    assert slot_sets(events) == [
        ("order_task", "change"),
        ("order_id", "10002"),
        ("order_identity", None),
        ("pending_confirmation", None),
    ]


def test_the_order_already_verified_is_not_asked_for_again():
    events, _ = run_action(ActionStartOrderChange(), _after_yes("change order 10002 please", **verified(10002)))
    assert slot_sets(events) == [("order_task", "change")]


def test_an_address_change_for_a_named_order_starts_its_check():
    # Seen in a chat: "can I change the delivery address for order 10001?" got the help center's answer and
    # nothing about order 10001; the email given next was asked "What would you like to do with that order?".
    tracker = make_tracker(text="can I change the delivery address for order 10001?", intent="change_shipping_address")
    tracker.events = [{"event": "session_started"}, _user(tracker.latest_message["text"], "change_shipping_address")]
    events, messages = run_action(ActionStartAddressCheck(), tracker)
    assert slot_sets(events) == [("order_task", "address"), ("order_id", "10001"), ("order_identity", None),
                                 ("pending_confirmation", None)]
    assert messages == []


def test_a_new_address_given_to_the_offer_to_check_is_not_taken_for_the_orders_zip_code():
    # Seen in a chat: "it's 55 Oak Lane, Portland OR 97201" to "Would you like me to check your order?" (order 10001
    # checked earlier) was checked as 10001's ZIP code: "I couldn't find an order with that number...".
    text = "it's 55 Oak Lane, Portland OR 97201"
    tracker = make_tracker(verified(10001), text=text, intent="inform")
    tracker.events = [{"event": "session_started"}, _user(text, "inform")]
    events, messages = run_action(ActionStartAddressCheck(), tracker)
    assert slot_sets(events) == [("order_task", "address")] and messages == []
    # An order number alone is still the order to check.
    tracker = make_tracker(text="10002", intent="inform")
    tracker.events = [{"event": "session_started"}, _user("10002", "inform")]
    events, _ = run_action(ActionStartAddressCheck(), tracker)
    assert slot_sets(events) == [("order_task", "address"), ("order_id", "10002")]


@pytest.mark.parametrize(
    "order_id, expected, person",
    [
        (10002, 'Order 10002 hasn\'t shipped yet, so you can still change its delivery address: open it under '
                'Account > Orders at brightbay.example and choose "Change address".', False),
        (10001, "Order 10001 has already shipped with UPS (tracking number 1Z999AA10123456784), so its delivery "
                "address can't be changed anymore.", True),
        (10003, "Order 10003 was already delivered on ", True),
        (10005, "Order 10005 was cancelled, so there's no delivery to change.", False),
    ],
)
def test_the_address_answer_follows_the_orders_status(order_service, db_state, order_id, expected, person):
    before = db_state()
    events, messages = run_action(ActionAddressChange(order_service), make_tracker(verified(order_id, order_task="address")))
    [message] = messages
    assert message["text"].startswith(expected)
    assert bool(message["buttons"]) is person
    assert events == [] and db_state() == before


def test_an_address_answer_needs_the_owner(order_service):
    _, messages = run_action(ActionAddressChange(order_service), make_tracker(verified(10002, "alice@example.com")))
    assert texts(messages) == [NOT_VERIFIED_TEXT]


def test_an_order_number_answering_the_offer_to_check_the_order_starts_the_check():
    # Seen in a chat: "10002" to "Would you like me to check your order?" got "What would you like to do with
    # order 10002?". It is the yes, with the number kept for the check (an email kept for another order is not).
    slots = {"order_id": "10001", "order_identity": "alice@example.com"}
    events, messages = run_action(ActionStartOrderChange(), make_tracker(slots, text="10002", intent="inform"))
    assert slot_sets(events) == [("order_task", "change"), ("order_id", "10002"), ("order_identity", None)]
    assert messages == []
    # A number kept without its email: the answer to "check your order?" is still an order number.
    events, _ = run_action(ActionStartOrderChange(), make_tracker({"order_id": "10001"}, text="10002", intent="inform"))
    assert slot_sets(events) == [("order_task", "change"), ("order_id", "10002")]


def test_a_change_naming_a_product_the_order_does_not_hold_offers_nothing(change, fresh_service):
    # Seen in a chat: "can i change the color of the jacket i ordered", then order 10002 (a TV): the offer to
    # cancel the TV followed, and "ok cancel it then" cancelled it.
    tracker = make_tracker(verified(10002, order_task="change"), text="bob@example.com", intent="inform")
    tracker.events = [
        {"event": "user", "text": "can i change the color of the jacket i ordered", "parse_data": {"intent": {"name": "change_order"}}},
        {"event": "user", "text": "its order 10002", "parse_data": {"intent": {"name": "inform"}}},
        {"event": "user", "text": "bob@example.com", "parse_data": {"intent": {"name": "inform"}}},
    ]
    events, messages = run_action(change, tracker)
    [message] = messages
    assert message["text"] == ('I don\'t see that item in order 10002: it has Brightview 65" 4K QLED TV. If it came in '
                               "another order, tell me that order's number.")
    assert message["awaits_order_number"] == "change" and events == []
    assert fresh_service.verify(10002, "bob@example.com").status is OrderStatus.PROCESSING


def test_an_address_question_after_an_order_was_checked_answers_for_that_order(order_service, db_state):
    # Seen in a chat: "can i change the delivery address" right after order 10001's status got the general answer
    # and "Would you like me to check your order?" for the order just checked.
    from actions.answers import ActionAnswerQuestion
    from bot.catalog import ProductCatalog

    action = ActionAnswerQuestion(orders=order_service, catalog=ProductCatalog(order_service.session_factory))
    before = db_state()
    events, messages = run_action(
        action, make_tracker(verified(10001), text="can i change the delivery address", intent="change_shipping_address"))
    [message] = messages
    assert message["text"].startswith("Order 10001 has already shipped with UPS") and message["buttons"]
    # The rule's offer to check an order does not follow.
    assert events == [{"event": "followup", "name": "action_listen", "timestamp": None}]
    assert db_state() == before
    # Someone else's email in the slots: no order of theirs is told; the general answer and the offer follow.
    _, messages = run_action(action, make_tracker(
        verified(10001, "bob@example.com"), text="can i change the delivery address", intent="change_shipping_address"))
    assert "Order 10001" not in " ".join(m.get("text") or "" for m in messages)
    # Another order named: the rule for a named order checks that one.
    events, messages = run_action(action, make_tracker(
        verified(10001), text="can i change the delivery address for order 10002", intent="change_shipping_address"))
    assert not events and not any((m.get("text") or "").startswith("Order 10001") for m in messages)
    # Another intent keeps its own answer.
    _, messages = run_action(action, make_tracker(verified(10001), text="what are the delivery options", intent="delivery_options"))
    assert not any((m.get("text") or "").startswith("Order 10001") for m in messages)
