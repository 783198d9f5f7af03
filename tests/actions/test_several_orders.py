"""A request naming several orders ("cancel order 10002 and refund 10003"): each order's task in turn, against a
real SQLite database, with the events the action server would apply between the actions."""
import pytest
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from action_helpers import make_tracker, run_action, texts, verified
from actions.cancellation import ActionCancelOrder, ActionConfirmCancelOrder
from actions.confirmation import ActionDeclineChange
from actions.order_status import ActionOrderStatus
from actions.refunds import ActionConfirmRefund, ActionRequestRefund
from bot.db.models import Customer, Order, OrderStatus
from bot.db.session import session_scope
from bot.orders import OrderService


@pytest.fixture
def actions(order_service):
    return {
        action.name(): action
        for action in (
            ActionCancelOrder(order_service), ActionConfirmCancelOrder(order_service), ActionOrderStatus(order_service),
            ActionRequestRefund(order_service), ActionConfirmRefund(order_service), ActionDeclineChange(order_service),
        )
    }


@pytest.fixture
def alice_owns_10002(db_url):
    """Bob's TV order (being prepared) moved to Alice, who also has 10001 (shipped) and 10003 (delivered)."""
    with session_scope(db_url) as session:
        alice = session.query(Customer).filter_by(email="alice@example.com").one()
        session.execute(update(Order).where(Order.id == 10002).values(customer_id=alice.id))


def _user(text, intent, orders=(), at=None):
    entities = [{"entity": "order_id", "value": str(n)} for n in orders]
    return {"event": "user", "text": text, "timestamp": at, "parse_data": {"intent": {"name": intent}, "entities": entities}}


def _conversation(*messages, **slots):
    """A tracker whose events are ``messages`` (the last one is the latest message) and whose slots are ``slots``."""
    last = messages[-1]
    tracker = make_tracker(slots, text=last["text"], intent=last["parse_data"]["intent"]["name"])
    tracker.events = list(messages)
    return tracker


def _apply(tracker, events):
    """Sets the slots as the server does from the action's events; returns whether the action ended the turn
    (a follow-up ``action_listen``, sent when another order's action ran in the same reply)."""
    listens = False
    for event in events:
        if event["event"] == "followup":
            assert event["name"] == "action_listen" and event is events[-1], events
            listens = True
        else:
            assert event["event"] == "slot", event
            tracker.slots[event["name"]] = event["value"]
    return listens


def test_the_second_request_follows_the_first_change_once_it_is_done(actions, alice_owns_10002, fresh_service):
    # Seen in a chat: "cancel order 10002 and refund 10003", the cancellation done, and the customer had to ask
    # for the refund again.
    request = _user("cancel order 10002 and refund 10003", "cancel_order", [10002, 10003], at=1.0)
    tracker = _conversation(request, _user("alice@example.com", "inform", at=2.0), **verified(10002, "alice@example.com"))
    events, messages = run_action(actions["action_cancel_order"], tracker)
    assert texts(messages) == [
        "You also asked about order 10003 (a refund): I'll come to it once we're done with order 10002.",
        'Order 10002 ($1,249.00: Brightview 65" 4K QLED TV) hasn\'t shipped yet, so I can cancel it free of charge. '
        "Shall I cancel it?",
    ]
    _apply(tracker, events)
    assert tracker.slots["queued_orders"]["todo"] == [["refund", "10003"]]

    tracker.events.append(_user("yes", "affirm", at=3.0))
    events, messages = run_action(actions["action_confirm_cancel_order"], tracker)
    done, now, offer = texts(messages)
    assert done == ("Done: order 10002 is cancelled, with no fee. You haven't been charged (we charge when an order "
                    "ships): the $1,249.00 authorization on your payment method is released, and your bank removes it "
                    "within 3-5 business days.")
    assert now == "Now the refund you asked for on order 10003:"
    assert offer.startswith("Order 10003 was delivered") and offer.endswith("Shall I go ahead?")
    assert messages[-1]["buttons"][0]["payload"] == "/affirm"
    assert _apply(tracker, events)
    assert (tracker.slots["order_id"], tracker.slots["order_task"], tracker.slots["pending_confirmation"]) == (
        "10003", "refund", "refund")
    assert fresh_service.verify(10002, "alice@example.com").status is OrderStatus.CANCELLED
    assert fresh_service.refunds(10003, "alice@example.com") == []

    tracker.events.append(_user("yes", "affirm", at=4.0))
    events, messages = run_action(actions["action_confirm_refund"], tracker)
    assert texts(messages)[0].startswith("I've requested refund #") and len(messages) == 1
    assert len(fresh_service.refunds(10003, "alice@example.com")) == 1
    assert not _apply(tracker, events)
    assert tracker.slots["queued_orders"]["todo"] == []


def test_a_no_to_the_first_change_goes_on_with_the_next_order(actions, fresh_service):
    request = _user("i want a refund for order 10003 and where is 10001?", "get_refund", [10003, 10001], at=1.0)
    tracker = _conversation(request, _user("alice@example.com", "inform", at=2.0), **verified(10003))
    events, messages = run_action(actions["action_request_refund"], tracker)
    assert texts(messages)[0] == (
        "You also asked about order 10001 (where it is): I'll come to it once we're done with order 10003.")
    _apply(tracker, events)
    tracker.events.append(_user("no", "deny", at=3.0))
    events, messages = run_action(actions["action_decline_change"], tracker)
    declined, now, status = texts(messages)
    assert (declined, now) == ("OK, I haven't changed anything on order 10003.", "Now order 10001, which you asked about:")
    # Only 10001's status: 10003 was the request's first order, not one to look up again.
    assert status.startswith("Order 10001 ($") and "10003" not in status
    assert _apply(tracker, events)
    assert tracker.slots["order_id"] == "10001" and tracker.slots["pending_confirmation"] is None
    assert fresh_service.refunds(10003, "alice@example.com") == []


def test_an_order_that_ends_at_once_goes_straight_on_to_the_next(actions):
    # 10001 has shipped, so there is nothing to confirm: the refund of 10003 follows in the same reply, without
    # "You also asked about order 10001" for the order just answered.
    request = _user("cancel 10001 and refund 10003", "cancel_order", [10001, 10003], at=1.0)
    tracker = _conversation(request, _user("alice@example.com", "inform", at=2.0), **verified(10001))
    events, messages = run_action(actions["action_cancel_order"], tracker)
    shipped, now, offer = texts(messages)
    assert shipped.startswith("Order 10001 has already shipped with") and now == "Now the refund you asked for on order 10003:"
    assert offer.startswith("Order 10003 was delivered")
    assert _apply(tracker, events)
    assert tracker.slots["order_id"] == "10003" and tracker.slots["pending_confirmation"] == "refund"


def test_a_request_read_as_the_other_orders_task_does_each_orders_own(actions):
    # Seen in a chat: "cancel 10001 and refund 10003" was read as a refund request, and 10001 (still on its way)
    # was told it can't be refunded yet.
    request = _user("cancel 10001 and refund 10003", "get_refund", [10001, 10003], at=1.0)
    tracker = _conversation(request, _user("94110", "inform", [94110], at=2.0), **verified(10001, "94110"))  # "94110" reads as an order number too
    events, messages = run_action(actions["action_request_refund"], tracker)
    shipped, now, offer = texts(messages)
    assert shipped.startswith("Order 10001 has already shipped") and "can't be cancelled" in shipped
    assert now == "Now the refund you asked for on order 10003:" and offer.startswith("Order 10003 was delivered")


def test_someone_elses_order_in_the_request_is_left_out(actions, db_state):
    before = db_state()
    request = _user("cancel 10001 and refund 10004", "cancel_order", [10001, 10004], at=1.0)
    tracker = _conversation(request, _user("alice@example.com", "inform", at=2.0), **verified(10001))
    events, messages = run_action(actions["action_cancel_order"], tracker)
    assert texts(messages)[1:] == ["I couldn't find order 10004 with that email address or ZIP code, so I've left it out."]
    # Carol's order is not the conversation's order, and nothing of it was said or changed.
    assert not _apply(tracker, events)
    assert tracker.slots["order_id"] == "10001" and tracker.slots["queued_orders"]["todo"] == []
    assert "$649.99" not in " ".join(texts(messages)) and db_state() == before


def test_a_status_request_names_every_status_and_queues_only_the_changes(actions):
    request = _user("where is 10001 and i want to return 10003", "track_order", [10001, 10003], at=1.0)
    tracker = _conversation(request, _user("alice@example.com", "inform", at=2.0), **verified(10001))
    _, messages = run_action(actions["action_order_status"], tracker)
    assert [s[:14] for s in texts(messages)] == ["Order 10001 ($", "Order 10003 ($", "Now the refund", "Order 10003 wa"]
    # "track 10001 and 10003": both statuses, nothing queued.
    request = _user("track 10001 and 10003", "track_order", [10001, 10003], at=5.0)
    tracker = _conversation(request, _user("94110", "inform", [94110], at=6.0), **verified(10001, "94110"))
    events, messages = run_action(actions["action_order_status"], tracker)
    assert len(texts(messages)) == 2
    _apply(tracker, events)
    assert tracker.slots["queued_orders"]["todo"] == []
    # Someone else's order is said not found once, by the status (seen in a chat: twice, the queue said it too).
    request = _user("where is 10001? also cancel 10002", "track_order", [10001, 10002], at=7.0)
    tracker = _conversation(request, _user("94110", "inform", [94110], at=8.0), **verified(10001, "94110"))
    events, messages = run_action(actions["action_order_status"], tracker)
    assert texts(messages)[1:] == ["I couldn't find order 10002 with that email address or ZIP code."]
    _apply(tracker, events)
    assert tracker.slots["queued_orders"]["todo"] == []


def test_a_new_request_naming_an_order_drops_the_rest_of_the_queue(actions, alice_owns_10002):
    request = _user("cancel order 10002 and refund 10003", "cancel_order", [10002, 10003], at=1.0)
    tracker = _conversation(request, _user("alice@example.com", "inform", at=2.0), **verified(10002))
    _apply(tracker, run_action(actions["action_cancel_order"], tracker)[0])
    # Instead of answering, the customer asks about another order, then says no to the cancellation.
    tracker.events += [_user("actually where is 10001", "track_order", [10001], at=3.0), _user("no", "deny", at=4.0)]
    events, messages = run_action(actions["action_decline_change"], tracker)
    assert texts(messages) == ["OK, I haven't changed anything on order 10002. Is there anything else I can help with?"]
    assert not _apply(tracker, events)
    assert tracker.slots["queued_orders"] is None


def test_the_first_orders_work_stands_when_the_next_order_cannot_be_read(order_service, alice_owns_10002, fresh_service):
    class DownForTheSecond(OrderService):
        def verify(self, order_id, identity):
            if order_id == 10003:
                raise OperationalError("SELECT 1", {}, Exception("database is locked"))
            return super().verify(order_id, identity)

    flaky = DownForTheSecond(session_factory=order_service.session_factory, today=order_service.today)
    request = _user("cancel order 10002 and refund 10003", "cancel_order", [10002, 10003], at=1.0)
    tracker = _conversation(request, _user("alice@example.com", "inform", at=2.0), **verified(10002, "alice@example.com"))
    _apply(tracker, run_action(ActionCancelOrder(flaky), tracker)[0])
    tracker.events.append(_user("yes", "affirm", at=3.0))
    events, messages = run_action(ActionConfirmCancelOrder(flaky), tracker)
    done, sorry = texts(messages)
    assert done.startswith("Done: order 10002 is cancelled,") and sorry.startswith("Sorry, I can't reach our order system")
    assert not _apply(tracker, events) and tracker.slots["pending_confirmation"] is None
    assert fresh_service.verify(10002, "alice@example.com").status is OrderStatus.CANCELLED
