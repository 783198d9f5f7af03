"""ActionOrderStatus: what a verified customer is told, and what nobody else learns."""
import dataclasses
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

import pytest

from action_helpers import OWNER, make_tracker, run_action, texts, verified
from actions.order_status import ActionOrderStatus, describe_status, missing_parcel_text
from actions.refunds import ActionConfirmRefund
from actions.session import REQUEST_DETAIL
from actions.answers import WHY_TEXT
from actions.fallback import CONNECT_BUTTONS, OFFER_HUMAN_BUTTONS
from actions.verification import LOCKED_TEXT, NOT_VERIFIED_TEXT
from bot.db.models import Order
from bot.db.session import session_scope
from bot.orders import OrderService


@pytest.fixture
def action(order_service):
    return ActionOrderStatus(order_service)


@pytest.fixture
def confirm_refund(order_service):
    return ActionConfirmRefund(order_service)


# TODAY is Sunday, 2026-03-15.
@pytest.mark.parametrize(
    "order_id, expected",
    [
        (10001, "Order 10001 ($89.90) shipped yesterday with UPS, tracking number 1Z999AA10123456784. "
                "It's expected to arrive on Tuesday, March 17. "
                "Items: Portable Bluetooth Speaker; USB-C Charging Cable (2 m)."),
        (10002, "Order 10002 ($1,249.00) was placed yesterday and is being prepared; it hasn't shipped yet. "
                "It should ship tomorrow: orders placed after 14:00 ET or at the weekend ship the next business day. "
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


def asked(text, order_ids, *later):
    """Events of a session whose user message ``text`` named ``order_ids``, then ``later`` user messages."""
    entities = [{"entity": "order_id", "value": str(n)} for n in order_ids]
    events = [{"event": "session_started"},
              {"event": "user", "text": text, "parse_data": {"intent": {"name": "track_order"}, "entities": entities}}]
    events += [{"event": "user", "text": t, "parse_data": {"intent": {"name": "inform"}, "entities": []}} for t in later]
    return events


def with_events(tracker, events):
    tracker.events = events
    return tracker


def test_every_order_named_in_the_message_is_answered_when_it_is_the_customers(action):
    # Seen in a chat: "track order 10001 and 10003" answered 10001 and said nothing about 10003.
    tracker = with_events(make_tracker(verified(10001)), asked("track order 10001 and 10003", [10001, 10003], "alice@example.com"))
    _, messages = run_action(action, tracker)
    assert [m.split(" (")[0] for m in texts(messages)] == ["Order 10001", "Order 10003"]
    assert "delivered on Tuesday, March 10" in texts(messages)[1]


def test_another_customers_order_in_the_same_message_reads_as_not_found(action):
    # 10002 is Bob's, 10009 nobody's: both get the same reply, and nothing of 10002 shows.
    tracker = with_events(make_tracker(verified(10001)),
                          asked("where are 10001, 10002 and 10009", [10001, 10002, 10009, 10002], "alice@example.com"))
    _, messages = run_action(action, tracker)
    replies = texts(messages)
    assert replies[1:] == ["I couldn't find order 10002 with that email address or ZIP code.",
                           "I couldn't find order 10009 with that email address or ZIP code."]
    assert "1,249.00" not in " ".join(replies) and "TV" not in " ".join(replies)


def test_only_the_latest_request_counts(action):
    # An earlier request for two orders is not answered again when a later one asks about this order alone.
    events = asked("track 10001 and 10003", [10001, 10003], "alice@example.com") + asked("where is it now?", [])[1:]
    _, messages = run_action(action, with_events(make_tracker(verified(10001)), events))
    assert len(messages) == 1


def test_a_delivered_parcel_that_never_came_gets_the_missing_parcel_help(action):
    # Seen in a chat: "tracking says delivered but there's nothing here" was only told it was delivered.
    tracker = with_events(make_tracker(verified(10003)),
                          asked("tracking says delivered but there's nothing here", [], "10003", "alice@example.com"))
    _, messages = run_action(action, tracker)
    assert messages[0]["text"].startswith("Order 10003")
    # 10003 was delivered five days before TODAY: no "wait until tomorrow", the claim now, within the 7 days.
    [help_message] = messages[1:]
    assert "marked as delivered 5 days ago" in help_message["text"] and "within 7 days" in help_message["text"]
    assert "wait until the end of the next day" not in help_message["text"]
    assert help_message["buttons"] == OFFER_HUMAN_BUTTONS


@pytest.mark.parametrize("text", ["i checked with my neighbors already", "i looked everywhere, its not here",
                                  "asked the front desk, nothing",
                                  # seen in a chat: got the status a second time
                                  "it's not at the front door or with my neighbours", "nothing on the porch either"])
def test_having_searched_for_the_parcel_gets_the_claim_not_the_status_again(action, text):
    # Seen in a chat: "i checked with my neighbors already" after the missing-parcel advice got the status again.
    status = describe_status(action._service.verify(10003, "alice@example.com"), action._service.today())
    events = asked("where is order 10003", [10003], "alice@example.com")
    events += [{"event": "bot", "text": status},
               {"event": "user", "text": "it says delivered but i don't have it", "parse_data": {"intent": {"name": "track_order"}}},
               {"event": "bot", "text": missing_parcel_text(5)},
               {"event": "user", "text": text, "parse_data": {"intent": {"name": "track_order"}}}]
    tracker = with_events(make_tracker(verified(10003), text=text, intent="track_order"), events)
    _, messages = run_action(action, tracker)
    [reply] = messages
    assert reply["text"].startswith("Thanks for checking. Since it still hasn't turned up, a support agent can open a "
                                    "claim with ")
    assert [b["payload"] for b in reply["buttons"]] == ["/contact_human_agent", "/deny"]


def test_a_parcel_the_carrier_marked_delivered_before_our_record_did_gets_the_missing_parcel_advice(action):
    # Seen in a chat: "it says delivered but i didnt get it" about the shipped 10001 got its status again, twice.
    tracker = with_events(make_tracker(verified(10001)),
                          asked("it says delivered but i didnt get it", [], "10001", "alice@example.com"))
    _, messages = run_action(action, tracker)
    assert messages[0]["text"].startswith("Order 10001") and "expected to arrive" in messages[0]["text"]
    assert messages[1]["text"] == "If UPS tracking already shows it as delivered, our records haven't caught up with the scan yet."
    assert messages[2]["response"] == "utter_parcel_not_received" and len(messages) == 3


def test_a_shipped_parcel_not_arrived_gets_the_offer_of_a_person_only_once_it_is_late(db_url, today):
    # 10001 is expected two days after TODAY: before then its status (with the date) is the answer.
    events = asked("my order hasn't arrived yet", [], "10001", "alice@example.com")
    for days_later, extra in ((0, []), (5, ["utter_delay"])):
        service = OrderService(session_factory=partial(session_scope, db_url), today=lambda: today + timedelta(days=days_later))
        _, messages = run_action(ActionOrderStatus(service), with_events(make_tracker(verified(10001)), events))
        assert [m.get("response") for m in messages[1:]] == extra


def test_the_missing_parcel_help_follows_the_claim_window():
    assert "within 7 days of the delivery date" in missing_parcel_text(7)
    late = missing_parcel_text(12)
    assert "past the 7 days" in late and "a support agent can still look into it" in late
    shipping_article = (Path(__file__).resolve().parents[2] / "data" / "kb" / "shipping.md").read_text()
    assert "contact our support team within 7 days" in shipping_article


def test_a_plain_status_question_gets_no_missing_parcel_help(action):
    tracker = with_events(make_tracker(verified(10003)), asked("where is my order", [], "10003", "alice@example.com"))
    _, messages = run_action(action, tracker)
    assert len(messages) == 1


def test_a_product_the_order_does_not_hold_is_said_and_another_order_number_awaited(action):
    # Seen in a chat: "i ordered a kettle 2 weeks ago and it still hasnt arrived", then order 10002 (a TV placed
    # yesterday) got the TV's status alone, as if it were the kettle.
    tracker = with_events(make_tracker(verified(10002)),
                          asked("i ordered a kettle 2 weeks ago and it still hasnt arrived", [], "10002", "bob@example.com"))
    _, messages = run_action(action, tracker)
    status, note = messages
    assert status["text"].startswith("Order 10002 ($1,249.00) was placed yesterday")
    assert note["text"] == ("I don't see the item you mentioned in order 10002. If it came in another order, tell me "
                            "that order's number and I'll check it too.")
    assert note["awaits_order_number"] == "status"
    # The product the order holds, or none named, gets the status alone.
    for text, order_id, email in (("where is the water bottle i ordered", 10003, "alice@example.com"),
                                  ("has my tv shipped yet", 10002, "bob@example.com"),
                                  ("where is my order", 10002, "bob@example.com")):
        tracker = with_events(make_tracker(verified(order_id)), asked(text, [], str(order_id), email))
        assert len(run_action(action, tracker)[1]) == 1, text


def test_a_product_named_while_the_check_waited_is_read_with_the_status_request(action):
    # "it says delivered but i didnt get it", then "it was the speaker" while the order number was asked for (the
    # check took it as a detail of the request): the missing-parcel advice, as for the request alone.
    events = asked("it says delivered but i didnt get it", [])
    events += [{"event": "user", "text": "it was the speaker", "parse_data": {"intent": {"name": "complaint"}, "entities": []}},
               {"event": "bot", "text": "Got it: the Portable Bluetooth Speaker.", "metadata": {REQUEST_DETAIL: True}}]
    events += asked("", [], "10001", "alice@example.com")[2:]
    _, messages = run_action(action, with_events(make_tracker(verified(10001)), events))
    assert len(messages) == 3 and messages[2]["response"] == "utter_parcel_not_received"
    # The same item is not in order 10002: the status, and that the order doesn't hold it.
    events[-2:] = asked("", [], "10002", "bob@example.com")[2:]
    _, messages = run_action(action, with_events(make_tracker(verified(10002)), events))
    assert texts(messages)[1].startswith("I don't see the item you mentioned in order 10002.")


def _waited(order_id, text="why is it taking so long"):
    """Events of a session that checked ``order_id``, got its status, then complained of the wait with ``text``."""
    email = OWNER[order_id]
    events = asked(f"where is order {order_id}", [order_id], email)
    events.append({"event": "bot", "text": "(the status)"})
    events.append({"event": "user", "text": text, "parse_data": {"intent": {"name": "complaint"}, "entities": []}})
    return events


@pytest.mark.parametrize("days_later, order_id, says, offers_a_person", [
    # Seen in a chat: order 10001, due in two days, got "I'm sorry it's taking so long ... a support agent can check
    # what's holding it up".
    (0, 10001, "It's still on its way with UPS and should arrive on Tuesday, March 17, so it isn't late yet.", False),
    (0, 10002, "It isn't late: it should ship tomorrow, and we email you the tracking number as soon as it does.", False),
    (5, 10001, None, True),  # past its expected date: late, and a person can check with the carrier
    (3, 10002, None, True),  # should have shipped on Monday
])
def test_a_wait_complained_of_is_answered_with_whether_the_order_is_late(db_url, today, days_later, order_id, says,
                                                                         offers_a_person):
    service = OrderService(session_factory=partial(session_scope, db_url), today=lambda: today + timedelta(days=days_later))
    tracker = with_events(make_tracker(verified(order_id), text="why is it taking so long", intent="complaint"),
                          _waited(order_id))
    _, messages = run_action(ActionOrderStatus(service), tracker)
    assert messages[0]["text"].startswith(f"Order {order_id} (")
    if says:
        assert len(messages) == 2 and messages[1]["text"].startswith(says)
    assert (messages[-1].get("response") == "utter_delay") is offers_a_person


def test_the_answer_to_a_wait_does_not_repeat_the_status_just_given(action):
    events = _waited(10001)
    events[-2]["text"] = texts(run_action(action, make_tracker(verified(10001)))[1])[0]
    _, messages = run_action(action, with_events(make_tracker(verified(10001)), events))
    assert texts(messages) == ["It's still on its way with UPS and should arrive on Tuesday, March 17, so it isn't late "
                               "yet. If it hasn't come by then, tell me and I'll connect you with a support agent who "
                               "can check with UPS."]


def test_an_order_being_prepared_says_when_it_should_ship_and_offers_a_person_once_late(db_url, today):
    # Seen in a chat: "why hasnt it shipped yet??" after the status of 10002 got the same sentence again.
    # 10002 was placed on Saturday at 20:17 (TODAY is Sunday): it ships on Monday.
    events = asked("why hasnt it shipped yet??", [], "10002", "bob@example.com")
    for days_later, says, extra in ((1, "It should ship today: orders placed after 14:00 ET", []),
                                    (3, "It should have shipped on Monday, March 16, so it's running late.", ["utter_delay"])):
        service = OrderService(session_factory=partial(session_scope, db_url), today=lambda: today + timedelta(days=days_later))
        _, messages = run_action(ActionOrderStatus(service), with_events(make_tracker(verified(10002)), events))
        assert says in messages[0]["text"]
        assert [m.get("response") for m in messages[1:]] == extra


def test_tracking_that_stopped_changing_gets_the_expected_date_then_a_trace_then_the_delay(db_url, today):
    # Seen in a chat: "the tracking hasn't updated in 4 days" after 10001's status got the same paragraph again.
    # 10001 shipped on Saturday (TODAY is Sunday) and is expected on Tuesday, March 17.
    from actions.order_status import TRACE_TEXT, TRACKING_PAUSE_TEXT

    events = asked("the tracking hasn't updated in 4 days", [], "10001", "alice@example.com")

    def reply(days_later):
        service = OrderService(session_factory=partial(session_scope, db_url), today=lambda: today + timedelta(days=days_later))
        return run_action(ActionOrderStatus(service), with_events(make_tracker(verified(10001)), events))[1]

    status, pause = reply(0)
    assert status["text"].startswith("Order 10001") and "expected to arrive on Tuesday, March 17" in status["text"]
    assert pause["text"] == TRACKING_PAUSE_TEXT.format(carrier="UPS", eta="on Tuesday, March 17")
    # Past the expected day: late, and a person can check.
    assert [m.get("response") for m in reply(3)[1:]] == ["utter_delay"]
    # Five business days after it shipped with the date still ahead: a trace.
    with session_scope(db_url) as session:
        session.get(Order, 10001).eta = today + timedelta(days=10)
    _, trace = reply(7)
    assert trace["text"] == TRACE_TEXT.format(business_days=5, carrier="UPS") and trace["buttons"] == OFFER_HUMAN_BUTTONS


def _after_its_status(action, order_id, message):
    """A tracker of ``order_id``'s owner who asked for its status, got it, then said ``message``; and the status."""
    tracker = make_tracker(verified(order_id))
    status = run_action(action, tracker)[1][0]["text"]
    tracker.events = asked(f"where is order {order_id}", [order_id], OWNER[order_id]) + [
        {"event": "bot", "text": status},
        {"event": "user", "text": message, "parse_data": {"intent": {"name": "track_order"}}},
    ]
    return tracker, status


def test_tracking_stuck_right_after_the_status_is_not_told_the_status_again(action):
    tracker, status = _after_its_status(action, 10001, "it's been stuck at the depot since then")
    _, messages = run_action(action, tracker)
    assert len(messages) == 1 and "without a new scan" in messages[0]["text"]
    # A plain status question gets the status again.
    tracker.events[-1] = {"event": "user", "text": "where is it now?", "parse_data": {"intent": {"name": "track_order"}}}
    assert texts(run_action(action, tracker)[1]) == [status]


def test_the_tracking_advice_follows_the_help_center():
    from actions.order_status import TRACE_AFTER_BUSINESS_DAYS

    shipping_article = (Path(__file__).resolve().parents[2] / "data" / "kb" / "shipping.md").read_text()
    assert f"hasn't changed for {TRACE_AFTER_BUSINESS_DAYS} business days" in shipping_article
    assert "two or three business days without a new scan" in shipping_article


def test_tracking_stuck_about_an_order_not_on_its_way_still_gets_its_status(action):
    # Only a shipped order gets the tracking advice, so only its status paragraph is left out when just given.
    tracker, status = _after_its_status(action, 10002, "the tracking hasn't updated at all")
    assert texts(run_action(action, tracker)[1]) == [status]


def test_a_carrier_holiday_before_the_ship_day_is_named():
    # Placed on the Wednesday before Thanksgiving after the cutoff: it ships on Friday, and the status says why.
    from decimal import Decimal

    from actions.order_status import describe_status
    from bot.db.models import OrderStatus
    from bot.orders import OrderSummary, expected_ship_day

    placed = datetime(2026, 11, 25, 15, 30)
    order = OrderSummary(10002, OrderStatus.PROCESSING, None, None, placed.date(), expected_ship_day(placed), None, None,
                         None, Decimal("1249.00"), "bob@example.com", "Bob", "standard", (("TV", 1),))
    text = describe_status(order, today=placed.date())
    assert ("It should ship on Friday, November 27: orders placed after 14:00 ET or at the weekend ship the next "
            "business day, and our carriers don't collect tomorrow (Thanksgiving).") in text
    # Without a holiday in between, the sentence is as before.
    placed = datetime(2026, 11, 27, 15, 30)
    order = dataclasses.replace(order, placed_on=placed.date(), expected_ship_on=expected_ship_day(placed))
    assert "ship the next business day. Items" in describe_status(order, today=placed.date())


@pytest.mark.parametrize("text", ["and who's the carrier again?", "which courier is it with"])
def test_asking_who_delivers_the_checked_order_gets_its_carrier(order_service, text):
    # Seen in a chat: "and who's the carrier again?" right after order 10001's status got "that's outside what I
    # can help with".
    from actions.answers import ActionAnswerQuestion
    from bot.catalog import ProductCatalog

    action = ActionAnswerQuestion(orders=order_service, catalog=ProductCatalog(order_service.session_factory))
    _, messages = run_action(action, make_tracker(verified(10001), text=text, intent="out_of_scope"))
    assert texts(messages) == ["Order 10001 is with UPS, tracking number 1Z999AA10123456784. It's expected to arrive "
                               "on Tuesday, March 17. Track it on UPS's site: "
                               "https://www.ups.com/track?tracknum=1Z999AA10123456784"]
    _, messages = run_action(action, make_tracker(verified(10002), text=text, intent="out_of_scope"))
    assert texts(messages)[0].startswith("Order 10002 hasn't shipped yet, so it has no carrier or tracking number yet")
    # Without a checked order, or someone else's email in the slots: the help center's answer, no order's carrier.
    for slots in ({}, verified(10001, "bob@example.com")):
        _, messages = run_action(action, make_tracker(slots, text=text, intent="out_of_scope"))
        assert not any("1Z999AA10123456784" in (m.get("text") or "") for m in messages)
    # A question about the store's carriers is the help center's, order checked or not.
    _, messages = run_action(action, make_tracker(verified(10001), text="which carriers do you use?",
                                                  intent="delivery_options"))
    assert "UPS and USPS" in messages[0]["text"]


@pytest.mark.parametrize("order_id, days_later, reply", [
    (10002, 0, "I can only see the order's dates, not what's happening in the warehouse. Orders placed before 14:00 ET on "
               "a business day usually ship the same day, later ones the next business day, and order 10002 is on that "
               "schedule: it should ship tomorrow."),
    (10001, 0, "Once a parcel is with UPS, UPS sets the delivery date"),
    (10001, 5, None),  # late: the apology for the delay and the offer of a person
])
def test_why_after_the_checked_orders_status_says_what_sets_its_dates(db_url, today, order_id, days_later, reply):
    # Seen in a chat: "no i just want to know why" after order 10002's status got "that's outside what I can help with".
    from actions.answers import ActionAnswerQuestion
    from bot.catalog import ProductCatalog

    service = OrderService(session_factory=partial(session_scope, db_url), today=lambda: today + timedelta(days=days_later))
    action = ActionAnswerQuestion(orders=service, catalog=ProductCatalog(service.session_factory))
    events = _waited(order_id, "no i just want to know why")
    events[-2]["text"] = f"Order {order_id} (...) ..."
    tracker = with_events(make_tracker(verified(order_id), text="no i just want to know why", intent="out_of_scope"), events)
    _, messages = run_action(action, tracker)
    [message] = messages
    if reply:
        assert message["text"].startswith(reply) and message["buttons"] == CONNECT_BUTTONS
    else:
        assert message["response"] == "utter_delay"
    # After a reply about something else, the order's dates are not the answer: the assistant says it has no more.
    events[-2]["text"] = "To reset or change your password, choose \"Forgot password?\" on the sign-in page."
    _, messages = run_action(action, with_events(
        make_tracker(verified(order_id), text="no i just want to know why", intent="out_of_scope"), events))
    assert texts(messages) == [WHY_TEXT] and messages[0]["buttons"] == CONNECT_BUTTONS


ARRIVAL_10002 = ("Once it ships, standard shipping within the US takes 3-5 business days, so it should arrive between "
                 "Thursday, March 19 and Monday, March 23; with Express shipping (1-2 business days), by Wednesday, March 18.")


def test_when_an_order_being_prepared_arrives_is_its_ship_day_plus_the_shipping_times(action):
    # Seen in a chat: "when will it arrive?" about 10002 got its status again, which says when it ships, not arrives.
    tracker = with_events(make_tracker(verified(10002)), asked("when will order 10002 arrive", [10002], "bob@example.com"))
    status, estimate = texts(run_action(action, tracker)[1])
    assert status.startswith("Order 10002 ($1,249.00) was placed yesterday") and estimate == ARRIVAL_10002
    # Right after the status, the estimate alone.
    events = asked("where is order 10002", [10002], "bob@example.com")
    events += [{"event": "bot", "text": status},
               {"event": "user", "text": "ok thanks. also when will it arrive?",
                "parse_data": {"intent": {"name": "track_order"}, "entities": []}}]
    assert texts(run_action(action, with_events(make_tracker(verified(10002)), events))[1]) == [ARRIVAL_10002]
    # Where it is, without asking when: the status alone, as before.
    tracker = with_events(make_tracker(verified(10002)), asked("where is order 10002", [10002], "bob@example.com"))
    assert texts(run_action(action, tracker)[1]) == [status]


def test_a_new_delivery_address_read_as_a_status_question_gets_where_to_change_it(action, db_state):
    # Seen in a chat: "it should go to 55 Elm Street, Boston MA 02118", after being told 10002's address could still be
    # changed, was read as track_order and got the order's status.
    before = db_state()
    text = "it should go to 55 Elm Street, Boston MA 02118"
    tracker = with_events(make_tracker(verified(10002), text=text, intent="track_order"),
                          asked(text, [], "bob@example.com"))
    [message] = run_action(action, tracker)[1]
    assert message["response"] == "utter_address_not_changed_here"
    assert db_state() == before
    # Asking where the order is, with an address in the message: the status.
    text = "where is my order? it's going to 55 Elm Street, Boston MA 02118"
    tracker = with_events(make_tracker(verified(10002), text=text, intent="track_order"), asked(text, [], "bob@example.com"))
    assert texts(run_action(action, tracker)[1])[0].startswith("Order 10002 ($1,249.00) was placed")


def _after_refund_status(text):
    events = [
        {"event": "session_started"},
        {"event": "user", "text": "where is my refund for order 10003", "parse_data": {"intent": {"name": "track_refund"}}},
        {"event": "slot", "name": "order_task", "value": "refund_status"},
        {"event": "user", "text": "alice@example.com", "parse_data": {"intent": {"name": "inform"}}},
        {"event": "bot", "text": "I don't see a return or refund for order 10003."},
        {"event": "user", "text": text, "parse_data": {"intent": {"name": "track_order"}}},
    ]
    return with_events(make_tracker(verified(10003), text=text, intent="track_order"), events)


def test_a_wait_complained_of_after_the_refund_status_is_about_the_refund(action, confirm_refund):
    # Seen in a chat: "why is it taking so long" right after "I don't see a return or refund for order 10003" got the
    # order's delivery date.
    [message] = run_action(action, _after_refund_status("why is it taking so long"))[1]
    assert message["text"].startswith("Nothing is in progress on our side for order 10003: no return was started")
    assert [b["payload"] for b in message["buttons"]] == ["/contact_human_agent", "/deny"]
    # With a refund filed, where it is.
    run_action(confirm_refund, make_tracker(verified(10003, pending_confirmation="refund")))
    [reply] = texts(run_action(action, _after_refund_status("why is it taking so long"))[1])
    assert reply.startswith("Refund #") and "on order 10003" in reply
    # Without the refund asked about before, the order's status as before.
    tracker = with_events(make_tracker(verified(10003), text="why is it taking so long", intent="track_order"),
                          asked("why is it taking so long", [], "alice@example.com"))
    assert texts(run_action(action, tracker)[1])[0].startswith("Order 10003 ($34.50) was delivered")


@pytest.mark.parametrize("text", ["ugh fine. what if it doesn't come by friday", "what happens if it's late?"])
def test_what_if_the_checked_order_on_its_way_is_late_gets_its_date_and_who_checks(db_url, today, text):
    # Seen in a chat: "what if it doesn't come by friday" about 10001 (on its way, due Tuesday) got the help center's
    # passage on upgrading to Express.
    from actions.answers import ActionAnswerQuestion
    from bot.catalog import ProductCatalog

    service = OrderService(session_factory=partial(session_scope, db_url), today=lambda: today)
    action = ActionAnswerQuestion(orders=service, catalog=ProductCatalog(service.session_factory))
    [message] = run_action(action, make_tracker(verified(10001), text=text, intent="delivery_period"))[1]
    assert message["text"] == ("It's still on its way with UPS and should arrive on Tuesday, March 17, so it isn't late "
                               "yet. If it hasn't come by then, tell me and I'll connect you with a support agent who can "
                               "check with UPS.")
    # No order checked (or one being prepared): the help center answers, about no order.
    for slots in ({}, verified(10002)):
        messages = run_action(action, make_tracker(slots, text=text, intent="delivery_period"))[1]
        assert not any("UPS and should arrive" in (m.get("text") or "") for m in messages)


@pytest.mark.parametrize("text, late", [
    # Seen in a chat: "my order 10001 is late and i need it by friday" got the status alone, not that it isn't late.
    ("my order 10001 is late and i need it by friday", True),
    ("it's 3 days late", True),
    ("is it too late to cancel it?", False),
])
def test_an_order_said_to_be_late_is_told_whether_it_is(action, text, late):
    tracker = with_events(make_tracker(verified(10001), text=text, intent="track_order"), asked(text, [10001], "alice@example.com"))
    replies = texts(run_action(action, tracker)[1])
    assert replies[0].startswith("Order 10001 ($89.90) shipped")
    assert (replies[1:] == ["It's still on its way with UPS and should arrive on Tuesday, March 17, so it isn't late yet. "
                            "If it hasn't come by then, tell me and I'll connect you with a support agent who can check "
                            "with UPS."]) is late


@pytest.mark.parametrize("text", ["thx, and whats the tracking link", "can i track it online?"])
def test_asking_for_the_tracking_link_gets_the_carriers_page_not_the_status_again(action, text):
    # Seen in a chat: "thx, and whats the tracking link" right after 10001's status got the status again.
    events = asked("where is order 10001", [10001], "alice@example.com")
    events += [{"event": "bot", "text": "(the status)"},
               {"event": "user", "text": text, "parse_data": {"intent": {"name": "track_order"}, "entities": []}}]
    replies = texts(run_action(action, with_events(make_tracker(verified(10001), text=text, intent="track_order"), events))[1])
    assert replies == ["Order 10001 is with UPS, tracking number 1Z999AA10123456784. It's expected to arrive on Tuesday, "
                       "March 17. Track it on UPS's site: https://www.ups.com/track?tracknum=1Z999AA10123456784"]
    # An order not shipped yet has no link: its status, as before.
    events = asked("where is order 10002", [10002], "bob@example.com")
    events.append({"event": "user", "text": text, "parse_data": {"intent": {"name": "track_order"}, "entities": []}})
    replies = texts(run_action(action, with_events(make_tracker(verified(10002), text=text, intent="track_order"), events))[1])
    assert replies[0].startswith("Order 10002 ($1,249.00) was placed")
