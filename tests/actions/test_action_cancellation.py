"""Cancelling: a prompt first, the database changes only after the yes."""
import pytest

from action_helpers import make_tracker, run_action, slot_sets, texts, verified
from actions.cancellation import ActionCancelOrder, ActionConfirmCancelOrder
from actions.verification import NOT_VERIFIED_TEXT
from bot.db.models import OrderStatus

YES_NO = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]


@pytest.fixture
def cancel(order_service):
    return ActionCancelOrder(order_service)


@pytest.fixture
def confirm(order_service):
    return ActionConfirmCancelOrder(order_service)


def test_processing_order_asks_for_confirmation(cancel, fresh_service):
    events, messages = run_action(cancel, make_tracker(verified(10002)))
    assert slot_sets(events) == [("pending_confirmation", "cancel_order")]
    [message] = messages
    assert message["text"] == (
        "Order 10002 ($1,249.00: Brightview 65\" 4K QLED TV) hasn't shipped yet, so I can cancel it free of charge. "
        "Shall I cancel it?"
    )
    assert message["buttons"] == YES_NO
    assert fresh_service.verify(10002, "bob@example.com").status is OrderStatus.PROCESSING


def test_confirmation_cancels_the_order(confirm, fresh_service):
    tracker = make_tracker(verified(10002, pending_confirmation="cancel_order"))
    events, messages = run_action(confirm, tracker)
    assert fresh_service.verify(10002, "bob@example.com").status is OrderStatus.CANCELLED
    [reply] = texts(messages)
    assert reply.startswith("Done: order 10002 is cancelled")
    # Not charged yet (help center: charged when it ships), so not a refund's 5-7 days.
    assert "the $1,249.00 authorization on your payment method is released" in reply and "5-7" not in reply
    assert slot_sets(events) == [("pending_confirmation", None)]


def test_second_confirmation_says_already_cancelled(confirm):
    tracker = make_tracker(verified(10002, pending_confirmation="cancel_order"))
    run_action(confirm, tracker)
    _, messages = run_action(confirm, tracker)
    assert texts(messages) == ["Order 10002 is already cancelled."]


def test_shipped_order_explains_returning(cancel, db_state):
    before = db_state()
    events, messages = run_action(cancel, make_tracker(verified(10001)))
    [reply] = texts(messages)
    assert reply.startswith(
        "Order 10001 has already shipped with UPS (tracking number 1Z999AA10123456784), so it can't be cancelled."
    )
    assert "return it within 30 days" in reply
    assert messages[0]["buttons"] == []
    assert events == []
    assert db_state() == before


def test_confirming_a_shipped_order_changes_nothing(confirm, db_state, fresh_service):
    before = db_state()
    events, messages = run_action(confirm, make_tracker(verified(10001, pending_confirmation="cancel_order")))
    assert "can't be cancelled" in texts(messages)[0]
    assert slot_sets(events) == [("pending_confirmation", None)]
    assert db_state() == before
    assert fresh_service.verify(10001, "alice@example.com").status is OrderStatus.SHIPPED


@pytest.mark.parametrize("action_class", [ActionCancelOrder, ActionConfirmCancelOrder])
def test_tampered_slots_cancel_nothing(order_service, db_state, fresh_service, action_class):
    # Bob's order with Alice's email, e.g. slots set by a crafted request.
    before = db_state()
    tracker = make_tracker(verified(10002, "alice@example.com", pending_confirmation="cancel_order"))
    events, messages = run_action(action_class(order_service), tracker)
    assert texts(messages) == [NOT_VERIFIED_TEXT]
    assert events == []
    assert db_state() == before
    assert fresh_service.verify(10002, "bob@example.com").status is OrderStatus.PROCESSING


@pytest.mark.parametrize("text", ["ok yes cancel it", "cancel it", "yes please cancel"])
def test_asking_to_cancel_while_the_question_waits_is_the_yes(cancel, fresh_service, text):
    # Seen in a chat: "ok yes cancel it" after "Shall I still cancel order 10002?" asked the question again.
    tracker = make_tracker(verified(10002, pending_confirmation="cancel_order"), text=text, intent="cancel_order")
    events, messages = run_action(cancel, tracker)
    assert texts(messages)[0].startswith("Done: order 10002 is cancelled,")
    assert slot_sets(events) == [("pending_confirmation", None)]
    assert fresh_service.verify(10002, "bob@example.com").status is OrderStatus.CANCELLED


@pytest.mark.parametrize("text", ["no don't cancel it", "wait don't cancel it yet", "dont cancel"])
def test_a_request_worded_against_itself_while_the_question_waits_is_the_no(cancel, fresh_service, text):
    # The NLU reads these as cancel_order (0.68-0.96).
    tracker = make_tracker(verified(10002, pending_confirmation="cancel_order"), text=text, intent="cancel_order")
    events, messages = run_action(cancel, tracker)
    assert texts(messages) == ["OK, I haven't changed anything on order 10002. Is there anything else I can help with?"]
    assert slot_sets(events) == [("pending_confirmation", None)]
    assert fresh_service.verify(10002, "bob@example.com").status is OrderStatus.PROCESSING


@pytest.mark.parametrize("text", ["is it too late to cancel?", "what happens if i cancel it", "should i cancel it"])
def test_a_question_about_the_cancellation_while_it_waits_is_not_the_yes(cancel, fresh_service, text):
    # Seen in a chat: "is it too late to cancel?" to "Shall I cancel it?" (read as cancel_order) cancelled the order.
    tracker = make_tracker(verified(10002, pending_confirmation="cancel_order"), text=text, intent="cancel_order")
    events, messages = run_action(cancel, tracker)
    # The offer again: it says the order hasn't shipped and costs nothing to cancel, and asks for the yes.
    assert texts(messages) == [
        "Order 10002 ($1,249.00: Brightview 65\" 4K QLED TV) hasn't shipped yet, so I can cancel it free of charge. "
        "Shall I cancel it?"
    ]
    assert slot_sets(events) == [("pending_confirmation", "cancel_order")]
    assert fresh_service.verify(10002, "bob@example.com").status is OrderStatus.PROCESSING


def _requested(text, order_ids, *later):
    entities = [{"entity": "order_id", "value": str(n)} for n in order_ids]
    return [{"event": "user", "text": text, "parse_data": {"intent": {"name": "cancel_order"}, "entities": entities}}] + [
        {"event": "user", "text": t, "parse_data": {"intent": {"name": "inform"}, "entities": []}} for t in later]


def test_a_request_naming_two_orders_says_the_other_waits_its_turn(cancel, fresh_service):
    # Seen in a chat: "cancel order 10002 and refund 10003" offered the cancellation and never mentioned 10003.
    tracker = make_tracker(verified(10002))
    tracker.events = _requested("cancel order 10002 and refund 10003", [10002, 10003], "bob@example.com")
    events, messages = run_action(cancel, tracker)
    assert texts(messages) == [
        "You also asked about order 10003 (a refund): I'll come to it once we're done with order 10002.",
        "Order 10002 ($1,249.00: Brightview 65\" 4K QLED TV) hasn't shipped yet, so I can cancel it free of charge. "
        "Shall I cancel it?",
    ]
    assert slot_sets(events)[0] == ("pending_confirmation", "cancel_order")
    assert slot_sets(events)[1][1]["todo"] == [["refund", "10003"]]  # the queue (tests/actions/test_several_orders.py)
    # Nothing of the other order is looked up or said (it may not be this customer's).
    tracker.events = _requested("cancel 10002, 10003 and 10004", [10002, 10003, 10004], "bob@example.com")
    first = texts(run_action(cancel, tracker)[1])[0]
    assert first == ("You also asked about order 10003 (to cancel it) and order 10004 (to cancel it): I'll come to "
                     "them once we're done with order 10002.")
    assert "$" not in first


def test_a_cancellation_naming_a_product_the_order_does_not_hold_offers_nothing(cancel, fresh_service):
    tracker = make_tracker(verified(10002))
    tracker.events = _requested("cancel the headphones i ordered, order 10002", [10002], "bob@example.com")
    events, messages = run_action(cancel, tracker)
    assert texts(messages) == ['I don\'t see that item in order 10002: it has Brightview 65" 4K QLED TV. If it came in '
                               "another order, tell me that order's number."]
    assert messages[0]["awaits_order_number"] == "cancel" and events == []
    # Naming what the order holds, or nothing, gets the offer.
    tracker.events = _requested("sorry, it's the tv, cancel it", [], "bob@example.com")
    assert texts(run_action(cancel, tracker)[1])[-1].endswith("Shall I cancel it?")


def _processing_order_of_several_items(db_url):
    """(order id, owner's email) of a seeded order still processing that holds two or more items."""
    from sqlalchemy import func, select

    from bot.db.models import Customer, Order, OrderItem
    from bot.db.session import session_scope

    with session_scope(db_url) as s:
        return s.execute(
            select(Order.id, Customer.email).join(Customer, Customer.id == Order.customer_id)
            .join(OrderItem, OrderItem.order_id == Order.id).where(Order.status == OrderStatus.PROCESSING)
            .group_by(Order.id, Customer.email).having(func.count(OrderItem.id) > 1).order_by(Order.id)
        ).first()


def _cancel_asked(text, slots):
    tracker = make_tracker(slots, text=text, intent="cancel_order")
    tracker.events = [{"event": "user", "text": text, "parse_data": {"intent": {"name": "cancel_order"}}}]
    return tracker


@pytest.mark.parametrize("text", ["can i cancel just one item from my order", "remove an item from my order"])
def test_part_of_an_order_that_has_not_shipped_is_offered_as_the_whole_order_said_so(cancel, fresh_service, db_url, text):
    order_id, email = _processing_order_of_several_items(db_url)
    events, messages = run_action(cancel, _cancel_asked(text, verified(order_id, email)))
    [reply] = texts(messages)
    assert reply.startswith("Orders can't be edited once they're placed, so I can't cancel only part of it, but I can "
                            "cancel the whole order")
    assert reply.endswith("Shall I cancel the whole order?")
    assert slot_sets(events) == [("pending_confirmation", "cancel_order")]
    assert fresh_service.verify(order_id, email).status is OrderStatus.PROCESSING


@pytest.mark.parametrize("text, part", [
    ("can i cancel just one item from my order", "just that item"),
    ("cancel the cable from my order please", "just the USB-C Charging Cable (2 m)"),
])
def test_part_of_a_shipped_order_hears_that_a_return_takes_back_just_that(cancel, text, part):
    # Seen in a chat: the whole order's refusal, then "the cable" was out of scope.
    [reply] = texts(run_action(cancel, _cancel_asked(text, verified(10001)))[1])
    assert reply.startswith("Order 10001 has already shipped with UPS (tracking number")
    assert f"you can return {part} within 30 days" in reply


def test_the_whole_order_or_an_order_of_one_item_is_asked_as_before(cancel):
    [reply] = texts(run_action(cancel, _cancel_asked("cancel just the tv", verified(10002)))[1])
    assert reply.endswith("so I can cancel it free of charge. Shall I cancel it?") and "can't be edited" not in reply
    [reply] = texts(run_action(cancel, _cancel_asked("cancel my order", verified(10001)))[1])
    assert reply.endswith("just ask me for a refund once it has arrived.")


def test_an_item_of_the_other_order_checked_in_the_conversation_gets_that_orders_cancellation(cancel, fresh_service):
    # "cancel the <item>" after the status of two of Diego's orders, the item in the one not kept: that order's prompt.
    email = "diego.rossi@example.net"
    kept, other = fresh_service.verify(10098, email), fresh_service.verify(10088, email)
    assert other.status is OrderStatus.PROCESSING
    item = next(name for name, _ in other.items if name not in {n for n, _ in kept.items})
    request = f"cancel the {item.lower()}"
    tracker = make_tracker(verified(10098, email), text=request, intent="cancel_order")
    tracker.events = [
        {"event": "user", "text": "where are 10098 and 10088", "parse_data": {"intent": {"name": "track_order"}}},
        {"event": "user", "text": email, "parse_data": {"intent": {"name": "inform"}}},
        {"event": "user", "text": request, "parse_data": {"intent": {"name": "cancel_order"}}},
    ]
    events, messages = run_action(cancel, tracker)
    [reply] = texts(messages)
    assert reply.startswith("Order 10088 (") and reply.endswith("Shall I cancel it?")
    assert slot_sets(events) == [("order_id", "10088"), ("pending_confirmation", "cancel_order")]
    assert fresh_service.verify(10088, email).status is OrderStatus.PROCESSING  # nothing cancelled before the yes
