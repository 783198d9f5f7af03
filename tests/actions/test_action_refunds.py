"""Refunds: eligibility prompt, filing after the yes, duplicates and status."""
from decimal import Decimal

import pytest

from action_helpers import make_tracker, run_action, slot_sets, texts, verified
from actions.answers import ActionAnswerQuestion
from actions.refunds import (
    ActionConfirmRefund, ActionRefundMoreItems, ActionRefundStatus, ActionRequestRefund, return_shipping_text,
)
from actions.session import REQUEST_DETAIL
from bot.db.models import RefundStatus
from bot.kb.documents import Chunk
from bot.kb.grounded import ExtractiveAnswerer
from bot.kb.index import Hit
from bot.kb.source import KnowledgeSource

YES_NO = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]


@pytest.fixture
def request_refund(order_service):
    return ActionRequestRefund(order_service)


@pytest.fixture
def confirm(order_service):
    return ActionConfirmRefund(order_service)


@pytest.fixture
def status(order_service):
    return ActionRefundStatus(order_service)


def test_small_refund_prompt_writes_nothing(request_refund, fresh_service):
    events, messages = run_action(request_refund, make_tracker(verified(10003)))
    assert slot_sets(events) == [("pending_confirmation", "refund")]
    [message] = messages
    assert message["text"] == (
        "Order 10003 was delivered on Tuesday, March 10, so it's within our 30-day return window. "
        "I can request a refund of $34.50 to your original payment method for the whole order (Insulated Water "
        "Bottle, 1 L; Carabiner Set (3-pack)); if you're returning only some of it, tell me which item. Shall I go ahead?"
    )
    assert message["buttons"] == YES_NO
    assert fresh_service.refunds(10003, "alice@example.com") == []


def test_confirm_files_a_requested_refund(confirm, fresh_service):
    events, messages = run_action(confirm, make_tracker(verified(10003, pending_confirmation="refund")))
    [refund] = fresh_service.refunds(10003, "alice@example.com")
    assert (refund.status, refund.amount) == (RefundStatus.REQUESTED, Decimal("34.50"))
    assert texts(messages)[0].startswith(f"I've requested refund #{refund.refund_id} of $34.50 for order 10003.")
    # What comes back after the return shipping fee, so the customer doesn't work it out.
    assert texts(messages)[0].endswith("otherwise $6.95 is deducted, so you'd get $27.55 back.")
    assert slot_sets(events) == [("pending_confirmation", None)]


def test_large_refund_prompt_mentions_agent_approval(request_refund, fresh_service):
    events, messages = run_action(request_refund, make_tracker(verified(10004)))
    [reply] = texts(messages)
    assert "$649.99" in reply
    assert "Refunds over $500 need a support agent's approval" in reply
    assert slot_sets(events) == [("pending_confirmation", "refund")]
    assert fresh_service.refunds(10004, "carol@example.com") == []


def test_confirm_large_refund_waits_for_an_agent(confirm, fresh_service):
    _, messages = run_action(confirm, make_tracker(verified(10004, pending_confirmation="refund")))
    [refund] = fresh_service.refunds(10004, "carol@example.com")
    assert (refund.status, refund.amount) == (RefundStatus.PENDING_AGENT_APPROVAL, Decimal("649.99"))
    assert "pending agent approval" in texts(messages)[0]
    assert f"#{refund.refund_id}" in texts(messages)[0]


def test_second_request_says_already_and_adds_no_row(request_refund, confirm, fresh_service):
    run_action(confirm, make_tracker(verified(10003, pending_confirmation="refund")))
    [refund] = fresh_service.refunds(10003, "alice@example.com")
    events, messages = run_action(request_refund, make_tracker(verified(10003)))
    [reply] = texts(messages)
    assert reply.startswith(
        f"There's already a refund for this order. Refund #{refund.refund_id} for $34.50 on order 10003"
    )
    assert messages[0]["buttons"] == []
    assert events == []
    assert len(fresh_service.refunds(10003, "alice@example.com")) == 1


def test_second_confirm_adds_no_row(confirm, fresh_service):
    tracker = make_tracker(verified(10004, pending_confirmation="refund"))
    run_action(confirm, tracker)
    _, messages = run_action(confirm, tracker)
    assert texts(messages)[0].startswith("There's already a refund for this order.")
    assert len(fresh_service.refunds(10004, "carol@example.com")) == 1


def test_processing_order_suggests_cancelling(request_refund, db_state):
    before = db_state()
    events, messages = run_action(request_refund, make_tracker(verified(10002)))
    [reply] = texts(messages)
    assert reply.startswith("Order 10002 hasn't shipped yet, so there's nothing to refund")
    assert "cancel it free of charge" in reply
    assert events == []
    assert db_state() == before


def test_refund_status_before_and_after(status, confirm):
    _, before = run_action(status, make_tracker(verified(10003)))
    # Delivered, nothing filed: the customer may believe they sent it back, so a person is offered.
    [message] = before
    assert message["text"].startswith("I don't see a return or refund for order 10003.")
    assert "a support agent can look into it" in message["text"] and "just ask me for a refund" in message["text"]
    assert message["buttons"] == [{"title": "Talk to a person", "payload": "/contact_human_agent"}]
    run_action(confirm, make_tracker(verified(10003, pending_confirmation="refund")))
    events, after = run_action(status, make_tracker(verified(10003)))
    [reply] = texts(after)
    assert reply.startswith("Refund #") and "for $34.50 on order 10003" in reply
    assert "is requested; it's paid to your original payment method" in reply
    assert events == []


@pytest.mark.parametrize(
    "order_id, expected",
    [
        (10002, "It hasn't shipped yet, so there's nothing to refund, but I can cancel it free of charge."),
        (10001, "It's still on its way; once it's delivered, you can ask me for a refund within 30 days."),
        (10005, "Order 10005 was cancelled, so there's no refund to track"),
    ],
)
def test_refund_status_of_an_order_that_was_never_delivered(status, order_id, expected):
    _, messages = run_action(status, make_tracker(verified(order_id)))
    [message] = messages
    assert expected in message["text"] and message["buttons"] == []


def test_money_back_for_a_cancelled_order_the_customer_says_was_charged_is_an_agents_to_refund(status):
    # Seen in a chat: "when will i get it back" after "but i was charged" about cancelled order 10005 got "there's no
    # refund to track... You weren't charged" again.
    tracker = make_tracker(verified(10005), text="when will i get it back", intent="track_refund")
    tracker.events = [{"event": "user", "text": t} for t in ("order 10005", "73301", "but i was charged",
                                                             "when will i get it back")]
    [message] = run_action(status, tracker)[1]
    assert message["text"].startswith("Order 10005 was cancelled and has no refund on file")
    assert "a support agent checks the payment and refunds it" in message["text"]
    assert [b["payload"] for b in message["buttons"]] == ["/contact_human_agent", "/deny"]
    # Nothing said of a charge: the cancelled order's own answer.
    tracker.events = [{"event": "user", "text": t} for t in ("order 10005", "73301", "when will i get it back")]
    assert run_action(status, tracker)[1][0]["text"].startswith("Order 10005 was cancelled, so there's no refund to track")


def test_a_refund_asked_for_a_cancelled_order_the_customer_says_they_paid_for(request_refund):
    # Seen in a chat: "but i paid for it" (read as get_refund) about cancelled order 10005 got "its payment was already
    # returned to you", right after "You weren't charged".
    tracker = make_tracker(verified(10005), text="but i paid for it", intent="get_refund")
    tracker.events = [{"event": "user", "text": t} for t in ("where's my refund", "10005", "73301", "but i paid for it")]
    [message] = run_action(request_refund, tracker)[1]
    assert message["text"].startswith("Order 10005 was cancelled and has no refund on file")
    assert [b["payload"] for b in message["buttons"]] == ["/contact_human_agent", "/deny"]
    # Asked for without a word of payment: it was never charged, nothing moved.
    tracker.events = [{"event": "user", "text": t} for t in ("i want a refund", "10005", "73301")]
    tracker.latest_message["text"] = "i want a refund"
    [message] = run_action(request_refund, tracker)[1]
    assert message["text"] == ("Order 10005 was cancelled before it shipped, so there's nothing to refund: we charge when "
                               "an order ships, and the authorization on your payment method was released.")


def _refund_turns(*turns):
    """Session events: each turn is ("user", text) read as get_refund, or ("bot", text)."""
    return [{"event": "user", "text": t, "parse_data": {"intent": {"name": "get_refund"}}} if who == "user"
            else {"event": "bot", "text": t} for who, t in turns]


def test_a_shipped_orders_refund_asked_with_its_cancellation_says_it_cannot_be_cancelled(request_refund, db_state):
    # Seen in a chat: "i want to cancel order 10001 and get a refund" (read as get_refund) heard only that it could
    # be returned once delivered, not that the cancellation it asked for can't be done.
    before = db_state()
    tracker = make_tracker(verified(10001), text="i want to cancel order 10001 and get a refund", intent="get_refund")
    tracker.events = _refund_turns(("user", "i want to cancel order 10001 and get a refund"))
    events, messages = run_action(request_refund, tracker)
    assert texts(messages) == ["Order 10001 has already shipped, so it can't be cancelled anymore. Once it's delivered "
                               "you can return it within 30 days and I can start the refund then."]
    assert events == [] and db_state() == before


@pytest.mark.parametrize("earlier, latest", [
    # Seen in a chat: "ok so how do i return it" right after that reply got the same reply again.
    (True, "ok so how do i return it"),
    (True, "i want a refund"),
    (False, "how do i return order 10001"),
])
def test_a_shipped_orders_refund_asked_again_or_how_gets_how_to_return_it(request_refund, earlier, latest):
    said = "Order 10001 is still on its way. Once it's delivered you can return it within 30 days and I can start the refund then."
    turns = [("user", "i want a refund for 10001"), ("bot", said)] if earlier else []
    tracker = make_tracker(verified(10001), text=latest, intent="get_refund")
    tracker.events = _refund_turns(*turns, ("user", latest))
    [reply] = texts(run_action(request_refund, tracker)[1])
    assert reply.startswith("Order 10001 is still on its way, so it can't be returned yet. Once it's delivered, tell me "
                            "here and I'll start the refund, or go to Account > Orders")
    # Asked once, without "how": the short answer.
    tracker = make_tracker(verified(10001), text="i want a refund", intent="get_refund")
    tracker.events = _refund_turns(("user", "i want a refund"))
    assert texts(run_action(request_refund, tracker)[1]) == [said]


@pytest.mark.parametrize("earlier, latest", [
    ([], "when will i get the extra charge back?"),
    (["i was charged twice for order 10002", "bob@example.com"], "when do i get it back?"),
])
def test_money_back_for_a_second_charge_is_not_a_return(status, earlier, latest):
    # Seen in a chat: "when will i get the extra charge back?" after "i was charged twice for order 10002" got
    # "It hasn't shipped yet, so there's nothing to refund, but I can cancel it".
    tracker = make_tracker(verified(10002), text=latest, intent="track_refund")
    tracker.events = [{"event": "user", "text": t} for t in (*earlier, latest)]
    _, messages = run_action(status, tracker)
    [message] = messages
    assert message["text"].startswith("Order 10002 has no refund on file: a second charge isn't refunded through a return.")
    assert "refunds the extra charge to the same card within 5-7 business days" in message["text"]
    assert [b["payload"] for b in message["buttons"]] == ["/contact_human_agent", "/deny"]
    # Long after the charge was mentioned, the order's own answer.
    tracker.events = [{"event": "user", "text": t} for t in ("i was charged twice", "ok", "thanks", "where is my refund")]
    assert "nothing to refund" in texts(run_action(status, tracker)[1])[0]


@pytest.mark.parametrize("amount, tail", [
    ("10.00", ", so you'd get $3.05 back."), ("6.95", ", which would take all of the $6.95."),
    ("4.99", ", which would take all of the $4.99."),
])
def test_the_return_shipping_fee_says_what_it_leaves(amount, tail) -> None:
    assert return_shipping_text(Decimal(amount)) == (
        "Return shipping is free for defective items; otherwise $6.95 is deducted" + tail)


def test_tampered_slots_file_no_refund(confirm, db_state):
    before = db_state()
    _, messages = run_action(confirm, make_tracker(verified(10004, "alice@example.com")))
    assert "couldn't find" in texts(messages)[0]
    assert db_state() == before


def test_asking_for_the_refund_while_the_question_waits_is_the_yes(request_refund, fresh_service):
    tracker = make_tracker(verified(10003, pending_confirmation="refund"), text="yes refund it", intent="get_refund")
    events, messages = run_action(request_refund, tracker)
    [refund] = fresh_service.refunds(10003, "alice@example.com")
    assert texts(messages)[0].startswith(f"I've requested refund #{refund.refund_id} of $34.50 for order 10003.")
    assert slot_sets(events) == [("pending_confirmation", None)]


def test_a_refund_request_worded_against_itself_files_nothing(request_refund, fresh_service):
    tracker = make_tracker(verified(10003, pending_confirmation="refund"), text="wait, no refund yet", intent="get_refund")
    _, messages = run_action(request_refund, tracker)
    assert texts(messages)[0].startswith("OK, I haven't changed anything on order 10003.")
    assert fresh_service.refunds(10003, "alice@example.com") == []


def test_a_refund_that_needs_an_agent_is_still_asked_for_and_confirmed_by_its_own_action(request_refund, fresh_service):
    # action_confirm_refund is what hands a high-value refund to an agent (HandoffPolicy, high_value).
    tracker = make_tracker(verified(10004, pending_confirmation="refund"), text="yes refund it", intent="get_refund")
    events, messages = run_action(request_refund, tracker)
    assert texts(messages)[0].endswith("Shall I go ahead?")
    assert slot_sets(events) == [("pending_confirmation", "refund")]
    assert fresh_service.refunds(10004, "carol@example.com") == []


def _asked(text, **slots):
    """A verified conversation whose refund request was ``text``."""
    tracker = make_tracker(slots, text=text, intent="get_refund")
    tracker.events = [{"event": "user", "text": text, "parse_data": {"intent": {"name": "get_refund"}}}]
    return tracker


@pytest.mark.parametrize("text, order_id", [
    ("I want to return the headphones I bought", 10003),  # seen in a chat: offered the whole order's refund
    ("i want to send back the water bottle", 10001),
    ("refund for the tent please", 10004),
])
def test_a_request_naming_a_product_the_order_does_not_hold_says_what_it_holds(request_refund, db_state, text, order_id):
    before = db_state()
    events, messages = run_action(request_refund, _asked(text, **verified(order_id)))
    [reply] = texts(messages)
    assert reply.startswith(f"I don't see that item in order {order_id}: it has ")
    assert "tell me that order's number" in reply and events == [] and db_state() == before


def _after_two_orders(request, asked_about, identity):
    """A conversation that checked ``asked_about`` orders' status with ``identity`` (the first kept), then asks
    ``request``, read as get_refund."""
    first, *_ = asked_about
    tracker = make_tracker(verified(first, identity), text=request, intent="get_refund")
    tracker.events = [
        {"event": "user", "text": f"i have two orders, {' and '.join(map(str, asked_about))}, where are they",
         "parse_data": {"intent": {"name": "track_order"}}},
        {"event": "user", "text": identity, "parse_data": {"intent": {"name": "inform"}}},
        {"event": "bot", "text": "(the two orders' status)"},
        {"event": "user", "text": request, "parse_data": {"intent": {"name": "get_refund"}}},
    ]
    return tracker


def test_an_item_of_the_other_order_checked_in_the_conversation_gets_that_orders_refund(request_refund, db_state):
    # Seen in a chat: "return the water bottle from the second one" after the status of 10001 and 10003 was told the
    # bottle isn't in 10001.
    before = db_state()
    tracker = _after_two_orders("return the water bottle from the second one", [10001, 10003], "alice@example.com")
    events, messages = run_action(request_refund, tracker)
    [reply] = texts(messages)
    assert reply.startswith("Order 10003 was delivered") and "refund of $24.50 for the Insulated Water Bottle" in reply
    assert slot_sets(events) == [("order_id", "10003"), ("refund_items", None), ("pending_confirmation", "refund"),
                                 ("refund_items", ["Insulated Water Bottle, 1 L"])]
    assert db_state() == before


def test_an_item_of_another_customers_order_named_in_the_conversation_is_not_looked_up_for_them(request_refund, db_state):
    # 10002 (Bob's TV) was named, but Alice's email doesn't verify it: nothing of it shows, and 10001 stays the order.
    tracker = _after_two_orders("i want to return the tv", [10001, 10002], "alice@example.com")
    events, messages = run_action(request_refund, tracker)
    [reply] = texts(messages)
    assert reply.startswith("I don't see that item in order 10001: it has ")
    assert "10002" not in reply and "1,249" not in reply and events == []


def _asked_then_named(request, detail, **slots):
    """A verified conversation whose refund request ``request`` was followed, while the order check waited, by
    ``detail``, which the check took as a detail of it."""
    tracker = _asked(request, **slots)
    tracker.events += [
        {"event": "user", "text": detail, "parse_data": {"intent": {"name": "complaint"}}},
        {"event": "bot", "text": "Got it.", "metadata": {REQUEST_DETAIL: True}},
        {"event": "user", "text": "10003", "parse_data": {"intent": {"name": "inform"}}},
    ]
    return tracker


def test_the_item_named_while_the_check_waited_narrows_the_refund(request_refund):
    _, messages = run_action(request_refund, _asked_then_named("i want to return something", "it was the water bottle",
                                                              **verified(10003)))
    assert "a refund of $24.50 for the Insulated Water Bottle, 1 L" in texts(messages)[0]
    # The same words without the check's acknowledgement are not read as the request's detail.
    tracker = _asked("i want to return something", **verified(10003))
    tracker.events.append({"event": "user", "text": "it was the water bottle", "parse_data": {"intent": {"name": "complaint"}}})
    assert "for the whole order" in texts(run_action(request_refund, tracker)[1])[0]


def test_an_item_named_while_the_check_waited_that_the_order_does_not_hold_is_said(request_refund, db_state):
    before = db_state()
    events, messages = run_action(request_refund, _asked_then_named("i want to return something", "the headphones",
                                                                   **verified(10003)))
    assert texts(messages)[0].startswith("I don't see that item in order 10003: it has ")
    assert events == [] and db_state() == before


@pytest.mark.parametrize("text, order_id", [
    ("I want to return the speaker", 10001), ("refund my order", 10003), ("i want to return the tv", 10002),
])
def test_a_request_naming_the_orders_own_products_or_none_gets_the_refund_answer(request_refund, text, order_id):
    # 10003 is refundable; 10001 is on its way and 10002 not shipped: each gets its own answer, not "I don't see".
    _, messages = run_action(request_refund, _asked(text, **verified(order_id)))
    assert texts(messages)[0].startswith(f"Order {order_id} ")


def test_a_request_for_one_item_asks_about_that_item_only(request_refund, confirm, fresh_service):
    # Seen in a chat: "i want to return just the water bottle" was offered, and filed, a refund of the whole
    # order ($34.50).
    events, messages = run_action(request_refund, _asked("i want to return just the water bottle", **verified(10003)))
    [reply] = texts(messages)
    assert "I can request a refund of $24.50 for the Insulated Water Bottle, 1 L to your original payment method." in reply
    assert slot_sets(events) == [("pending_confirmation", "refund"), ("refund_items", ["Insulated Water Bottle, 1 L"])]
    assert fresh_service.refunds(10003, "alice@example.com") == []
    # The yes files that item only.
    slots = verified(10003, pending_confirmation="refund", refund_items=["Insulated Water Bottle, 1 L"])
    events, messages = run_action(confirm, make_tracker(slots))
    [refund] = fresh_service.refunds(10003, "alice@example.com")
    assert (refund.amount, refund.items) == (Decimal("24.50"), ("Insulated Water Bottle, 1 L",))
    assert texts(messages)[0].startswith(
        f"I've requested refund #{refund.refund_id} of $24.50 for the Insulated Water Bottle, 1 L for order 10003.")
    assert slot_sets(events) == [("pending_confirmation", None), ("refund_items", None)]
    # Its status names the item.
    _, messages = run_action(ActionRefundStatus(fresh_service), make_tracker(verified(10003)))
    assert "for $24.50 (Insulated Water Bottle, 1 L) on order 10003" in texts(messages)[0]


def test_naming_other_items_while_a_refund_waits_asks_again(request_refund, fresh_service):
    waiting = verified(10003, pending_confirmation="refund", refund_items=["Insulated Water Bottle, 1 L"])
    events, messages = run_action(request_refund, _asked("actually refund just the carabiners", **waiting))
    assert "$10.00 for the Carabiner Set (3-pack)" in texts(messages)[0] and "Shall I go ahead?" in texts(messages)[0]
    assert slot_sets(events) == [("pending_confirmation", "refund"), ("refund_items", ["Carabiner Set (3-pack)"])]
    assert fresh_service.refunds(10003, "alice@example.com") == []
    # "yes refund it" names nothing: it is the yes to the question waiting, for its item.
    run_action(request_refund, _asked("yes refund it", **waiting))
    [refund] = fresh_service.refunds(10003, "alice@example.com")
    assert refund.items == ("Insulated Water Bottle, 1 L",)


def test_another_item_after_a_refund_is_offered_for_a_yes(order_service, fresh_service):
    # "and the carabiners too" right after the bottle's refund (AnotherItemPolicy sends it here).
    order_service.request_refund(10003, "alice@example.com", items=["Insulated Water Bottle, 1 L"])
    more = ActionRefundMoreItems(order_service)
    events, messages = run_action(more, make_tracker(verified(10003), text="and the carabiners too", intent="place_order"))
    assert texts(messages) == ["I can also request a refund of $10.00 for the Carabiner Set (3-pack) on order 10003 to "
                               "your original payment method. Shall I go ahead?"]
    assert slot_sets(events) == [("pending_confirmation", "refund"), ("refund_items", ["Carabiner Set (3-pack)"])]
    assert len(fresh_service.refunds(10003, "alice@example.com")) == 1  # nothing filed before the yes
    # The item already refunded is not offered again; a message naming no item asks which.
    _, messages = run_action(more, make_tracker(verified(10003), text="and the bottle too", intent="place_order"))
    assert texts(messages)[0].startswith("There's already a refund for this order. Refund #")
    _, messages = run_action(more, make_tracker(verified(10003), text="and that one too", intent="place_order"))
    assert texts(messages) == ['Which item of order 10003 would you like to return as well? Say, for example, '
                               '"return the Carabiner Set (3-pack)".']


def test_an_item_named_alone_while_the_whole_orders_refund_waits_narrows_the_offer(order_service, fresh_service):
    # Seen in a chat: "just the carabiners" to the offer of order 10003's whole refund got how to place an order
    # (AnotherItemPolicy now sends it here).
    more = ActionRefundMoreItems(order_service)
    waiting = verified(10003, pending_confirmation="refund")
    events, messages = run_action(more, make_tracker(waiting, text="just the carabiners", intent="place_order"))
    assert texts(messages) == ["OK, just that: I can request a refund of $10.00 for the Carabiner Set (3-pack) on order "
                               "10003 to your original payment method instead. Shall I go ahead?"]
    assert slot_sets(events) == [("pending_confirmation", "refund"), ("refund_items", ["Carabiner Set (3-pack)"])]
    assert fresh_service.refunds(10003, "alice@example.com") == []
    # Naming no item of the order asks which one, without "as well".
    _, messages = run_action(more, make_tracker(waiting, text="just that one", intent="place_order"))
    assert texts(messages)[0].startswith("Which item of order 10003 would you like to return? Say")


def test_an_item_said_broken_while_the_whole_orders_refund_waits_narrows_the_offer_to_it(order_service, fresh_service):
    # Seen in a chat: "the bottle is broken" to the offer of order 10003's whole refund got the damaged-item apology,
    # and the "yes" that followed handed the customer to a person instead of filing the bottle's refund.
    more = ActionRefundMoreItems(order_service)
    waiting = verified(10003, pending_confirmation="refund")
    events, messages = run_action(more, make_tracker(waiting, text="the bottle is broken", intent="complaint"))
    assert texts(messages) == ["I'm sorry about that. I can request a refund of $24.50 for the Insulated Water Bottle, 1 L "
                               "on order 10003 to your original payment method instead; return shipping is free for a "
                               "damaged or defective item. If you'd rather have a replacement, a support agent can "
                               "arrange one. Shall I go ahead?"]
    assert slot_sets(events) == [("pending_confirmation", "refund"), ("refund_items", ["Insulated Water Bottle, 1 L"])]
    assert fresh_service.refunds(10003, "alice@example.com") == []
    # About an order of one item, it is the whole order's refund, as offered (it asked "which item?").
    waiting = verified(10004, pending_confirmation="refund")
    events, messages = run_action(more, make_tracker(waiting, text="the machine doesn't work", intent="complaint"))
    assert texts(messages)[0].startswith("I'm sorry about that. I can request a refund of $649.99 on order 10004 to your "
                                         "original payment method; return shipping is free")
    assert slot_sets(events) == [("pending_confirmation", "refund")]
    _, messages = run_action(more, make_tracker(waiting, text="just the espresso machine", intent="place_order"))
    assert texts(messages)[0].startswith("That's the only item of order 10004: I can request a refund of $649.99 to your "
                                         "original payment method.")
    assert fresh_service.refunds(10004, "carol@example.com") == []


def test_another_size_asked_for_gets_the_exchange_way_and_the_refund_offer(request_refund, fresh_service):
    # Seen in a chat: "my boots are too big, can i swap them for a smaller pair?" was told orders can't be edited
    # and offered a cancellation. An exchange is a return for a refund plus a new order; the yes files the refund.
    events, messages = run_action(request_refund, _asked("the machine is too big, can i swap it for a smaller model?",
                                                         **verified(10004)))
    [message] = messages
    assert message["text"].startswith("We don't swap items directly: return it for a refund and place a new order for "
                                      "the one you want, which ships right away. Order 10004 was delivered")
    assert "I can request a refund of $649.99" in message["text"] and message["text"].endswith("Shall I go ahead?")
    assert slot_sets(events) == [("pending_confirmation", "refund")] and fresh_service.refunds(10004, "carol@example.com") == []


def test_the_exchange_way_said_when_the_number_was_asked_is_not_said_again(request_refund):
    from actions.verification import EXCHANGE_TEXT

    tracker = _asked("can i swap the water bottle for a bigger size", **verified(10003))
    tracker.events.append({"event": "bot", "text": EXCHANGE_TEXT})
    [message] = run_action(request_refund, tracker)[1]
    assert message["text"].startswith("Order 10003 was delivered") and "a refund of $24.50 for the Insulated" in message["text"]
    # Not said before: the swap's way first.
    [message] = run_action(request_refund, _asked("can i swap the water bottle for a bigger size", **verified(10003)))[1]
    assert message["text"].startswith("We don't swap items directly")


def test_a_replacement_asked_for_gets_who_can_arrange_one_and_files_nothing(request_refund, fresh_service):
    # Seen in a chat: "can i get a replacement instead of a refund?" was offered a refund of the whole order.
    events, messages = run_action(request_refund, _asked("can i get a replacement instead of a refund?", **verified(10004)))
    [message] = messages
    assert "I can't send a replacement for order 10004 myself, but a support agent can arrange one" in message["text"]
    assert 'say "refund it"' in message["text"] and "$649.99" in message["text"]
    assert {"title": "Yes, connect me", "payload": "/contact_human_agent"} in message["buttons"]
    assert events == [] and fresh_service.refunds(10004, "carol@example.com") == []
    # "refund it" then offers the refund itself; a refund asked for without a replacement is unchanged.
    events, messages = run_action(request_refund, _asked("no replacement, just refund it", **verified(10004)))
    assert "Shall I go ahead?" in texts(messages)[0] and slot_sets(events) == [("pending_confirmation", "refund")]


class _ReturnsPolicy(KnowledgeSource):
    """The help center's return-window passage, whatever is asked."""

    def search(self, query, history=()):
        chunk = Chunk("help/returns", "Returns and exchanges", "Return window",
                      "You can return unused items in their original packaging within 30 days from delivery.")
        return [Hit(chunk, 0.03, 0.7, 5.0)]


def test_asking_whether_an_item_of_the_verified_order_can_go_back_offers_its_return(order_service, fresh_service):
    # Seen in a chat: "can i return just the carabiners?" about verified order 10003 got the return window only.
    action = ActionAnswerQuestion(_ReturnsPolicy(), ExtractiveAnswerer(), orders=order_service)
    tracker = make_tracker(verified(10003), text="can i return just the carabiners?", intent="check_refund_policy")
    events, messages = run_action(action, tracker)
    policy, offer = messages
    assert "within 30 days from delivery" in policy["text"]
    assert offer["text"] == ("For order 10003, I can start that return now: a refund of $10.00 for the Carabiner Set "
                             "(3-pack) to your original payment method. Shall I go ahead?")
    assert slot_sets(events) == [("pending_confirmation", "refund"), ("refund_items", ["Carabiner Set (3-pack)"])]
    assert fresh_service.refunds(10003, "alice@example.com") == []
    # Read as out of scope (it was, the next day), the same.
    tracker = make_tracker(verified(10003), text="could i send the carabiners back?", intent="out_of_scope")
    assert "Carabiner Set" in run_action(action, tracker)[1][1]["text"]
    # Without a verified order, naming nothing of it, or not about sending it back, the answer stands alone.
    for slots, text in (({}, "can i return just the carabiners?"), (verified(10003), "can i return opened headphones?"),
                        (verified(10003), "how do i clip the carabiners to my bag?")):
        _, messages = run_action(action, make_tracker(slots, text=text, intent="check_refund_policy"))
        assert len(messages) == 1


@pytest.mark.parametrize("slots, text, reply", [
    (verified(10004, pending_confirmation="refund"), "is it too late?",
     "There's still time: order 10004 was delivered on Thursday, March 5, and its 30-day return window ends on "
     "Saturday, April 4."),
    (verified(10004, pending_confirmation="refund"), "how long do i have?", "return window ends on Saturday, April 4."),
    (verified(10002, pending_confirmation="cancel_order"), "is it too late?",
     "There's still time: order 10002 hasn't shipped yet, so it can be cancelled free of charge."),
])
def test_asking_if_it_is_too_late_while_a_change_waits_gets_the_orders_dates(order_service, fresh_service, slots, text, reply):
    # Seen in a chat: "is it too late?" while the refund of order 10004 waited found no passage ("Sorry, I didn't
    # get that").
    action = ActionAnswerQuestion(_ReturnsPolicy(), ExtractiveAnswerer(), orders=order_service)
    events, messages = run_action(action, make_tracker(slots, text=text, intent="check_refund_policy"))
    answer, question = texts(messages)
    assert reply in answer
    assert question.startswith("Shall I still") and messages[1]["buttons"] == YES_NO
    assert events == [] and fresh_service.refunds(10004, "carol@example.com") == []
    # Without a change waiting, the help center answers.
    _, messages = run_action(action, make_tracker(verified(10004), text=text, intent="check_refund_policy"))
    assert "within 30 days from delivery" in texts(messages)[0]


@pytest.mark.parametrize("slots, text, reply", [
    (verified(10003, pending_confirmation="refund", refund_items=["Insulated Water Bottle, 1 L"]),
     "how much will i get back?",
     "The refund would be $24.50 for the Insulated Water Bottle, 1 L. Return shipping is free for defective items; "
     "otherwise $6.95 is deducted, so you'd get $17.55 back."),
    (verified(10003, pending_confirmation="refund"), "what would the refund be?",
     "The refund would be $34.50. Return shipping is free for defective items; otherwise $6.95 is deducted, so you'd "
     "get $27.55 back."),
])
def test_asking_how_much_comes_back_while_a_refund_waits_gets_its_amount(order_service, fresh_service, slots, text, reply):
    # Seen in a chat: "how much will i get back?" while the bottle's refund waited got the help center's general rules.
    action = ActionAnswerQuestion(_ReturnsPolicy(), ExtractiveAnswerer(), orders=order_service)
    events, messages = run_action(action, make_tracker(slots, text=text, intent="check_refund_policy"))
    assert texts(messages) == [reply, "Shall I still request the refund for order 10003?"] and events == []
    assert fresh_service.refunds(10003, "alice@example.com") == []
    # Without a refund waiting, the help center answers.
    _, messages = run_action(action, make_tracker(verified(10003), text=text, intent="check_refund_policy"))
    assert not texts(messages)[0].startswith("The refund would be")


def test_the_amount_question_is_answered_by_the_help_center_when_the_orders_cannot_be_read(order_service):
    class Down(type(order_service)):
        def refund_eligibility(self, *args, **kwargs):
            raise ConnectionError("orders database down")

    service = Down(session_factory=order_service.session_factory, today=order_service.today)
    action = ActionAnswerQuestion(_ReturnsPolicy(), ExtractiveAnswerer(), orders=service)
    slots = verified(10003, pending_confirmation="refund")
    _, messages = run_action(action, make_tracker(slots, text="how much will i get back?", intent="check_refund_policy"))
    assert messages and not any((m.get("text") or "").startswith("The refund would be") for m in messages)


@pytest.mark.parametrize("text", ["is it too late to return it?", "what happens if i return it"])
def test_a_question_about_the_refund_while_it_waits_is_not_the_yes(request_refund, fresh_service, text):
    # Like "is it too late to cancel?", which cancelled the order it asked about: read as get_refund, a
    # question is answered by the offer, made again, and files nothing.
    events, messages = run_action(request_refund, _asked(text, **verified(10003, pending_confirmation="refund")))
    [offer] = texts(messages)
    assert "so it's within our 30-day return window" in offer and offer.endswith("Shall I go ahead?")
    assert ("pending_confirmation", "refund") in slot_sets(events)
    assert fresh_service.refunds(10003, "alice@example.com") == []


def test_a_refund_request_naming_two_orders_says_the_other_waits_its_turn(request_refund):
    tracker = _asked("refund 10003 and 10001 please", **verified(10003))
    tracker.events[0]["parse_data"]["entities"] = [{"entity": "order_id", "value": "10003"}, {"entity": "order_id", "value": "10001"}]
    _, messages = run_action(request_refund, tracker)
    also, offer = texts(messages)
    assert also == "You also asked about order 10001 (a refund): I'll come to it once we're done with order 10003."
    assert offer.endswith("Shall I go ahead?")


@pytest.mark.parametrize("text, intent", [("how long until i see the money?", "delivery_period"),
                                          ("when will my money be back", "check_refund_policy")])
def test_asking_when_the_money_comes_back_after_a_cancellation_gets_the_cancelled_orders_answer(
    order_service, fresh_service, text, intent
):
    # Seen in a chat: "how long until i see the money?" right after order 10002 was cancelled got the refund timing
    # of a return ("after the return reaches our warehouse").
    from bot.catalog import ProductCatalog

    action = ActionAnswerQuestion(_ReturnsPolicy(), ExtractiveAnswerer(), orders=order_service,
                                  catalog=ProductCatalog(order_service.session_factory))
    assert order_service.cancel(10002, "bob@example.com").outcome.name == "CANCELLED"
    _, messages = run_action(action, make_tracker(verified(10002), text=text, intent=intent))
    assert texts(messages) == [
        "Order 10002 was cancelled, so there's no refund to track. You weren't charged (we charge when an order "
        "ships): the $1,249.00 authorization on your payment method was released when the order was cancelled, and "
        "your bank removes it within 3-5 business days of that."]
    # An order that isn't cancelled, or no order checked: the help center answers.
    for slots in (verified(10003), {}):
        _, messages = run_action(action, make_tracker(slots, text=text, intent=intent))
        assert "within 30 days from delivery" in texts(messages)[0]
    # Said to have been charged for it just before: a charge that went through is an agent's to refund.
    tracker = make_tracker(verified(10002), text=text, intent=intent)
    tracker.events = [{"event": "user", "text": t} for t in ("but i was charged", text)]
    [message] = run_action(action, tracker)[1]
    assert message["text"].startswith("Order 10002 was cancelled and has no refund on file")
    assert message["buttons"][0]["payload"] == "/contact_human_agent"


@pytest.mark.parametrize("text, intent", [("actually can i return both the bottle and the carabiners?", "check_refund_policy"),
                                          ("actually return both the bottle and the carabiners", "out_of_scope"),
                                          ("no wait, refund the whole order", "get_refund")])
def test_the_whole_order_asked_for_while_one_items_refund_waits_replaces_the_offer(
    order_service, request_refund, fresh_service, text, intent
):
    # Seen in a chat: "actually can i return both the bottle and the carabiners" while the bottle's refund waited got
    # the return steps and "Shall I still request the refund?", whose yes refunded the bottle alone.
    from bot.catalog import ProductCatalog

    waiting = verified(10003, pending_confirmation="refund", refund_items=["Insulated Water Bottle, 1 L"])
    action = (request_refund if intent == "get_refund" else
              ActionAnswerQuestion(_ReturnsPolicy(), ExtractiveAnswerer(), orders=order_service,
                                   catalog=ProductCatalog(order_service.session_factory)))
    tracker = _asked(text, **waiting) if intent == "get_refund" else make_tracker(waiting, text=text, intent=intent)
    events, messages = run_action(action, tracker)
    assert texts(messages) == ["OK: I can request a refund of $34.50 for the whole order (Insulated Water Bottle, 1 L; "
                               "Carabiner Set (3-pack)) on order 10003 to your original payment method instead. "
                               "Shall I go ahead?"]
    assert slot_sets(events) == [("pending_confirmation", "refund"), ("refund_items", None)]
    assert fresh_service.refunds(10003, "alice@example.com") == []
    # The same items again are not a new offer (a policy question gets its answer and the question again).
    if intent != "get_refund":
        same = make_tracker(waiting, text="can i return the bottle?", intent=intent)
        assert "Shall I go ahead?" not in " ".join(texts(run_action(action, same)[1]))


def test_asking_about_a_charge_while_a_cancellation_waits_gets_the_cancellations_answer_and_the_question(status):
    # Seen in a chat: "wait, will i still get charged?" while "Shall I cancel it?" waited for order 10002 (read as
    # track_refund, 0.83) got "I don't see a return or refund for order 10002", and the question was not asked again.
    tracker = make_tracker(verified(10002, pending_confirmation="cancel_order"), text="wait, will i still get charged?",
                           intent="track_refund")
    events, messages = run_action(status, tracker)
    answer, again = messages
    assert answer["text"].startswith("Order 10002 hasn't shipped, so it hasn't been charged")
    assert again["text"] == "Shall I still cancel order 10002?" and [b["payload"] for b in again["buttons"]] == [
        "/affirm", "/deny"]
    assert events == []
    # Without a cancellation waiting, the refund status as before.
    _, messages = run_action(status, make_tracker(verified(10002), text="where is my refund", intent="track_refund"))
    assert messages[0]["text"].startswith("I don't see a return or refund for order 10002")
