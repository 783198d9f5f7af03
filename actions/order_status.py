"""Order status: where a verified order is and when it arrives."""
from __future__ import annotations

import asyncio
import re
from datetime import date, timedelta
from typing import List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.complaints import (
    says_marked_delivered, says_not_received, says_searched_for_parcel, says_tracking_stuck, says_waiting_too_long,
)
from actions.fallback import CONNECT_BUTTONS, OFFER_HUMAN_BUTTONS
from actions.products import said_not_in_order, said_order_disputed
from actions.session import previous_bot_turn, recent_bot_turns, with_details
from actions.several_orders import order_request, other_orders_asked_with
from actions.refunds import describe_refund
from actions.verification import VerifiedOrderAction, conversation_order, task_before_latest_message
from bot.db.models import OrderStatus
from bot.formatting import day, items_list, money
from bot.holidays import holiday_on
from bot.parsing import asks_why, has_street_address
from bot.orders import (EXPRESS_SHIPPING_DAYS, SAME_DAY_SHIPPING_CUTOFF, STANDARD_SHIPPING_DAYS, OrderService, OrderSummary,
                        business_days_after, business_days_between)

MISSING_PARCEL_CLAIM_DAYS = 7  # "contact our support team within 7 days" (data/kb/shipping.md)
# "it hasn't arrived" about a shipped order not yet due.
ON_ITS_WAY_TEXT = (
    "It's still on its way with {carrier} and should arrive {eta}, so it isn't late yet. If it hasn't come by "
    "then, tell me and I'll connect you with a support agent who can check with {carrier}."
)
# "why is it taking so long" after being told a delivered order has no refund: no return was started, so nothing waits.
NO_REFUND_WAITING_TEXT = (
    "Nothing is in progress on our side for order {order_id}: no return was started, so no refund is on its way yet. "
    "If you already sent the items back, a support agent can find the parcel and start the refund. Would you like me "
    "to connect you with one?"
)
# "when will it arrive?" about an order being prepared: its ship day plus the shipping times (the order doesn't record
# which shipping was chosen, so both are given).
ARRIVAL_ESTIMATE_TEXT = (
    "Once it ships, standard shipping within the US takes {standard} business days, so it should arrive between {first} "
    "and {last}; with Express shipping ({express_days} business days), by {express}."
)
# A message asking where an order is, even with an address in it ("where is my order? it's going to 12 Oak Rd").
_ASKS_WHERE = re.compile(r"\?|\b(?:where|when|track\w*|status)\b", re.IGNORECASE)
_ASKS_ARRIVAL = re.compile(
    r"\b(?:when|how long|how soon|what day)\b.*\b(?:arriv\w*|get (?:it|them|here|there|my)|come|coming|deliver\w*|"
    r"here|receive)\b|\b(?:delivery date|eta|arrival date)\b",
    re.IGNORECASE,
)
# "why is it taking so long" about an order being prepared that isn't late.
NOT_LATE_TO_SHIP_TEXT = (
    "It isn't late: it should ship {ships}, and we email you the tracking number as soon as it does. If it hasn't "
    "shipped by then, tell me and I'll connect you with a support agent who can check what's holding it up."
)
# "why?" right after the status of an order that isn't late: what sets its dates, and who can find out more.
WHY_PREPARING_TEXT = (
    "I can only see the order's dates, not what's happening in the warehouse. Orders placed before 14:00 ET on a "
    "business day usually ship the same day, later ones the next business day, and order {order_id} is on that "
    "schedule: it should ship {ships}. A support agent can check with the warehouse. Would you like me to connect "
    "you with one?"
)
WHY_ON_ITS_WAY_TEXT = (
    "Once a parcel is with {carrier}, {carrier} sets the delivery date: delivery times count business days from the "
    "day the order ships (3-5 for standard shipping, 1-2 for Express), and {carrier} expects to deliver order "
    "{order_id} {eta}. I can't see more than its tracking, but a support agent can ask {carrier} about it. Would you "
    "like me to connect you with one?"
)
SEARCHED_TEXT = (
    "Thanks for checking. Since it still hasn't turned up, a support agent can open a claim with {carrier}; once the "
    "parcel is confirmed lost, we send a replacement or a full refund. Would you like me to connect you with one?"
)
CARRIER_AHEAD_TEXT = "If {carrier} tracking already shows it as delivered, our records haven't caught up with the scan yet."
# "Tracking hasn't updated" in data/kb/shipping.md: a pause of two or three business days between hub scans is
# normal; after 5 business days without a scan, or past the expected date, support opens a trace.
TRACE_AFTER_BUSINESS_DAYS = 5
TRACKING_PAUSE_TEXT = (
    "Tracking can go two or three business days without a new scan while a parcel travels between {carrier} hubs, "
    "so a pause doesn't mean it's lost. It's still expected to arrive {eta}. If it hasn't arrived by then, tell me "
    "and a support agent will open a trace with {carrier}."
)
TRACE_TEXT = (
    "It shipped {business_days} business days ago, which is longer than tracking usually goes without a scan. "
    "A support agent can open a trace with {carrier}. Would you like me to connect you with one?"
)
NOT_IN_THIS_ORDER_TEXT = (
    "I don't see the item you mentioned in order {order_id}. If it came in another order, tell me that order's "
    "number and I'll check it too."
)


def describe_status(order: OrderSummary, today: date) -> Text:
    """One paragraph a customer can act on: status, carrier, tracking, dates, and what is in it."""
    text = _status(order, today)
    # The items tell a customer with several orders that this is the one they mean.
    return f"{text} Items: {items_list(order.items)}." if order.items else text


def arrival_estimate_text(order: OrderSummary, today: date) -> Text:
    """When an order being prepared should arrive once it ships (on its expected ship day, or today if that's past)."""
    ships = max(order.expected_ship_on, today)
    first, last = (business_days_after(ships, n) for n in STANDARD_SHIPPING_DAYS)
    express = business_days_after(ships, EXPRESS_SHIPPING_DAYS[1])
    return ARRIVAL_ESTIMATE_TEXT.format(
        standard="{}-{}".format(*STANDARD_SHIPPING_DAYS), express_days="{}-{}".format(*EXPRESS_SHIPPING_DAYS),
        **{name: day(value, today).removeprefix("on ") for name, value in (("first", first), ("last", last),
                                                                          ("express", express))},
    )


def _status(order: OrderSummary, today: date) -> Text:
    head = f"Order {order.order_id} ({money(order.total)})"
    if order.status is OrderStatus.PROCESSING:
        # "why hasn't it shipped yet??" got this same sentence again: when it should ship answers it.
        text = f"{head} was placed {day(order.placed_on, today)} and is being prepared; it hasn't shipped yet."
        ships = order.expected_ship_on
        if ships < today:
            return f"{text} It should have shipped {day(ships, today)}, so it's running late."
        if ships == order.placed_on:
            return f"{text} It should ship {day(ships, today)}."
        text = (f"{text} It should ship {day(ships, today)}: orders placed after {SAME_DAY_SHIPPING_CUTOFF:%H:%M} ET or "
                "at the weekend ship the next business day")
        holiday = next(((d, name) for d in _days(order.placed_on, ships) if (name := holiday_on(d))), None)
        if holiday:
            # "why won't it ship tomorrow, it's a thursday?": the holiday says why.
            text += f", and our carriers don't collect {day(holiday[0], today)} ({holiday[1]})"
        return text + "."
    if order.status is OrderStatus.SHIPPED:
        text = f"{head} shipped {day(order.shipped_on, today)} with {order.carrier}"
        text += f", tracking number {order.tracking_number}." if order.tracking_number else "."
        if order.eta:
            text += f" It's expected to arrive {day(order.eta, today)}."
        return text
    if order.status is OrderStatus.DELIVERED:
        return f"{head} was delivered {day(order.delivered_on, today)}."
    if order.status is OrderStatus.CANCELLED:
        return f"{head} was cancelled."
    return f"{head} was returned."


# "and who's the carrier again?", "which courier is it with": the order's own carrier. "which carriers do you
# use?" asks about the store, which the help center answers.
_ASKS_CARRIER = re.compile(r"\b(?:carrier|courier|delivery company|shipping company)\b", re.IGNORECASE)
# "what's the tracking link", "can i track it online": the carrier's page, not the order's status again.
_ASKS_TRACKING = re.compile(r"\btracking (?:link|url|page|number|no|#)|\btrack (?:it|them|my \w+) online\b|\blink\b",
                            re.IGNORECASE)
# The carriers' public tracking pages (bot.db.models.Carrier), so "what's the tracking link" gets one.
TRACKING_PAGES = {
    "UPS": "https://www.ups.com/track?tracknum={number}",
    "USPS": "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
}
_ASKS_STORES_CARRIERS = re.compile(r"\b(?:carriers|couriers|companies|do you (?:use|ship with|work with))\b", re.IGNORECASE)


def carrier_text(order: OrderSummary, today: date) -> Optional[Text]:
    """Who delivers ``order`` and its tracking number; None for a cancelled or returned order."""
    tracking = f", tracking number {order.tracking_number}" if order.tracking_number else ""
    page = TRACKING_PAGES.get(str(order.carrier or ""))
    link = f" Track it on {order.carrier}'s site: {page.format(number=order.tracking_number)}" if (
        page and order.tracking_number) else ""
    if order.status is OrderStatus.PROCESSING:
        return (f"Order {order.order_id} hasn't shipped yet, so it has no carrier or tracking number yet: we email you "
                f"both when it leaves our warehouse (it should ship {day(order.expected_ship_on, today)}).")
    if order.status is OrderStatus.SHIPPED and order.carrier:
        eta = f" It's expected to arrive {day(order.eta, today)}." if order.eta else ""
        return f"Order {order.order_id} is with {order.carrier}{tracking}.{eta}{link}"
    if order.status is OrderStatus.DELIVERED and order.carrier:
        return f"Order {order.order_id} was delivered by {order.carrier}{tracking}, {day(order.delivered_on, today)}.{link}"
    return None


async def said_checked_orders_carrier(dispatcher: CollectingDispatcher, tracker: Tracker, orders: OrderService) -> bool:
    """"who's the carrier again?" after an order was checked in this conversation: that order's carrier and
    tracking number, and True; False, saying nothing, otherwise (the help center answers). Seen in a chat: it got
    "that's outside what I can help with" right after order 10001's status."""
    text = (tracker.latest_message or {}).get("text") or ""
    if not (_ASKS_CARRIER.search(text) or _ASKS_TRACKING.search(text)) or _ASKS_STORES_CARRIERS.search(text):
        return False
    order = await conversation_order(tracker, orders)
    reply = order and carrier_text(order, orders.today())
    if reply:
        dispatcher.utter_message(text=reply)
    return bool(reply)


# "what if it doesn't come by friday", "what happens if it's late": about the order checked, which is on its way.
_ASKS_WHAT_IF_LATE = re.compile(
    r"\bwhat (?:if|happens if|do i do if|should i do if)\b.*\b(?:(?:does ?n[o']?t|does not|do ?n[o']?t|wo ?n[o']?t|will not|"
    r"never|is ?n[o']?t)\s+(?:come|arrive|get here|show up|turn up|here|delivered)|(?:it'?s|it is|is) late|gets? lost)\b",
    re.IGNORECASE,
)


async def said_what_if_it_is_late(dispatcher: CollectingDispatcher, tracker: Tracker, orders: OrderService) -> bool:
    """"what if it doesn't come by friday?" about the order checked in this conversation, which is on its way and not
    yet due: when it should arrive and what happens if it doesn't, and True; False, saying nothing, otherwise. Seen in
    a chat: it got the help center's passage on upgrading to Express, just after being told a parcel in transit can't
    be sped up."""
    if not _ASKS_WHAT_IF_LATE.search((tracker.latest_message or {}).get("text") or ""):
        return False
    order = await conversation_order(tracker, orders)
    if order is None or order.status is not OrderStatus.SHIPPED or is_running_late(order, orders.today()):
        return False
    dispatcher.utter_message(text=on_its_way_text(order, orders.today()))
    return True


async def said_why_it_takes_this_long(dispatcher: CollectingDispatcher, tracker: Tracker, orders: OrderService) -> bool:
    """"why?", "no i just want to know why" right after the reply about the order checked in this conversation,
    which is being prepared or on its way: what sets its dates and the offer of a person (a late order gets the
    apology for the delay), and True; False, saying nothing, otherwise. Seen in a chat: "no i just want to know
    why" after the order's status got "that's outside what I can help with"."""
    if not asks_why((tracker.latest_message or {}).get("text")):
        return False
    order = await conversation_order(tracker, orders)
    if order is None or order.status not in (OrderStatus.PROCESSING, OrderStatus.SHIPPED):
        return False
    if not any(f"order {order.order_id}" in (e.get("text") or "").lower() or "isn't late" in (e.get("text") or "")
               for e in previous_bot_turn(tracker)):
        return False  # the reply before was about something else
    today = orders.today()
    if is_running_late(order, today):
        dispatcher.utter_message(response="utter_delay")
    elif order.status is OrderStatus.PROCESSING:
        dispatcher.utter_message(text=WHY_PREPARING_TEXT.format(order_id=order.order_id,
                                                                ships=day(order.expected_ship_on, today)),
                                 buttons=CONNECT_BUTTONS)
    else:
        dispatcher.utter_message(text=WHY_ON_ITS_WAY_TEXT.format(
            carrier=order.carrier or "the carrier", order_id=order.order_id, eta=_arrival(order, today)),
            buttons=CONNECT_BUTTONS)
    return True


def is_running_late(order: OrderSummary, today: date) -> bool:
    """Still being prepared after the day it should have shipped, or on its way past its expected date."""
    if order.status is OrderStatus.PROCESSING:
        return order.expected_ship_on < today
    return order.status is OrderStatus.SHIPPED and bool(order.eta and order.eta < today)


def on_its_way_text(order: OrderSummary, today: date) -> Text:
    """For a shipped order not yet due: it isn't late, when it should arrive, and who to tell if it doesn't."""
    return ON_ITS_WAY_TEXT.format(carrier=order.carrier or "the carrier", eta=_arrival(order, today))


def _arrival(order: OrderSummary, today: date) -> Text:
    """When a shipped order should arrive, in words ("on Wednesday, December 9"; "soon" without a date)."""
    return day(order.eta, today) if order.eta else "soon"


def _days(start: date, end: date) -> List[date]:
    """The days from ``start`` up to, not including, ``end``."""
    return [start + timedelta(days=n) for n in range((end - start).days)]


def missing_parcel_text(days_since_delivery: int) -> Text:
    """What to do about a parcel marked delivered ``days_since_delivery`` (2 or more) days ago that never came:
    the claim window in data/kb/shipping.md is 7 days, and waiting a day no longer helps."""
    if days_since_delivery <= MISSING_PARCEL_CLAIM_DAYS:
        return (
            f"I'm sorry it hasn't turned up. It was marked as delivered {days_since_delivery} days ago, so it's time "
            f"to open a claim: contact our support team within {MISSING_PARCEL_CLAIM_DAYS} days of the delivery date "
            "and we open a claim with the carrier, then send a replacement or a full refund once the parcel is "
            "confirmed lost. I can connect you with a support agent now."
        )
    return (
        f"I'm sorry it hasn't turned up. It was marked as delivered {days_since_delivery} days ago, which is past the "
        f"{MISSING_PARCEL_CLAIM_DAYS} days we usually allow for reporting a missing parcel, but a support agent can "
        "still look into it with the carrier. I can connect you with one now."
    )


class ActionOrderStatus(VerifiedOrderAction):
    """The verified order's status, and that of any other order named in the same message with the same identity."""

    def name(self) -> Text:
        return "action_order_status"

    task = "status"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, order: OrderSummary, identity: Text
    ) -> List[EventType]:
        # "but i ordered a tent" after "I don't see the item you mentioned in order 10001": not the status again.
        if await said_order_disputed(dispatcher, tracker, self._service, self._catalog):
            return []
        latest = (tracker.latest_message or {}).get("text") or ""
        if (order.status in (OrderStatus.DELIVERED, OrderStatus.RETURNED) and says_waiting_too_long(latest)
                and task_before_latest_message(tracker) in ("refund_status", "refund")):
            # Seen in a chat: "why is it taking so long" right after "I don't see a return or refund for order 10003"
            # got the order's delivery date. What the customer waits for is the money.
            await self._say_why_the_refund_takes(dispatcher, order, identity)
            return []
        if order.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED) and _ASKS_TRACKING.search(latest):
            # Seen in a chat: "thx, and whats the tracking link" right after the status got the status again.
            reply = carrier_text(order, self._service.today())
            if reply:
                dispatcher.utter_message(text=reply)
                return []
        if has_street_address(latest) and not _ASKS_WHERE.search(latest):
            # Seen in a chat: "it should go to 55 Elm Street, Boston MA 02118" (read as track_order) after being told
            # the address could still be changed got the order's status. Only the account (or an agent) sets it.
            dispatcher.utter_message(response="utter_address_not_changed_here")
            return []
        today = self._service.today()
        request = order_request(tracker)
        asked = with_details(tracker, request)
        status = describe_status(order, today)
        stuck = order.status is OrderStatus.SHIPPED and says_tracking_stuck(asked) and not says_not_received(asked)
        searched = order.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED) and says_searched_for_parcel(asked)
        missing = order.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED) and says_not_received(asked)
        waiting = (order.status in (OrderStatus.SHIPPED, OrderStatus.PROCESSING) and not (stuck or missing)
                   and says_waiting_too_long(asked))
        # "the tracking hasn't updated in 4 days", "i never got it" or "why is it taking so long" right after the
        # status: the concern is answered, not the paragraph the customer just read repeated.
        arrival = order.status is OrderStatus.PROCESSING and bool(_ASKS_ARRIVAL.search(asked or ""))
        repeated = ((stuck or missing or searched or waiting or arrival)
                    and status in (e.get("text") for e in recent_bot_turns(tracker, 2)))
        if not repeated:
            dispatcher.utter_message(text=status)
        # Seen in a chat: "i ordered a kettle 2 weeks ago and it still hasnt arrived", then order 10002, a TV placed
        # yesterday: its status alone, as if it were the kettle. The next order number is checked too.
        if await said_not_in_order(
            dispatcher, self._catalog, asked, order, "status", NOT_IN_THIS_ORDER_TEXT.format(order_id=order.order_id)
        ):
            return []
        if stuck:
            self._say_tracking_stuck(dispatcher, order, today)
            return []
        if searched:
            # Seen in a chat: "i checked with my neighbors already" after the missing-parcel advice got the status
            # again. They did what the advice asks: the claim is next.
            dispatcher.utter_message(text=SEARCHED_TEXT.format(carrier=order.carrier or "the carrier"), buttons=CONNECT_BUTTONS)
            return []
        if is_running_late(order, today) and (waiting or order.status is OrderStatus.PROCESSING):
            # Late leaving the warehouse, or past its date and complained of: a person can check what holds it up.
            dispatcher.utter_message(response="utter_delay")
        elif waiting and order.status is OrderStatus.PROCESSING:
            dispatcher.utter_message(text=NOT_LATE_TO_SHIP_TEXT.format(ships=day(order.expected_ship_on, today)))
        elif arrival:
            # Seen in a chat: "when will it arrive?" about an order being prepared got its status again, which says
            # when it ships, not when it arrives.
            dispatcher.utter_message(text=arrival_estimate_text(order, today))
        elif waiting:  # shipped, not yet due
            dispatcher.utter_message(text=on_its_way_text(order, today))
        elif order.status is OrderStatus.DELIVERED and says_not_received(asked):
            # "it never arrived", and it says delivered: what to do about a missing parcel, by how long ago.
            days = (today - order.delivered_on).days if order.delivered_on else 0
            if days <= 1:
                dispatcher.utter_message(response="utter_parcel_not_received")
            else:
                dispatcher.utter_message(text=missing_parcel_text(days), buttons=OFFER_HUMAN_BUTTONS)
        elif order.status is OrderStatus.SHIPPED and says_not_received(asked):
            if says_marked_delivered(asked):
                # "it says delivered but i didn't get it" while the order's record still says on its way: the
                # carrier's scan comes first, and the missing-parcel advice applies.
                dispatcher.utter_message(text=CARRIER_AHEAD_TEXT.format(carrier=order.carrier or "the carrier"))
                dispatcher.utter_message(response="utter_parcel_not_received")
            elif order.eta and order.eta < today:
                # "it hasn't arrived" past its expected date: late, and a person can check with the carrier.
                dispatcher.utter_message(response="utter_delay")
            elif repeated:
                # Seen in a chat: "i never got it" right after the status of a parcel due on Monday got the
                # missing-parcel advice. (Asked with the status, the status's expected date answers it.)
                dispatcher.utter_message(text=on_its_way_text(order, today))
        for other_id in other_orders_asked_with(tracker, str(order.order_id)):
            # Each is checked against the same email or ZIP code; someone else's order reads as not found.
            other = await asyncio.to_thread(self._service.verify, int(other_id), identity)
            if other is None:
                dispatcher.utter_message(text=f"I couldn't find order {other_id} with that email address or ZIP code.")
            else:
                dispatcher.utter_message(text=describe_status(other, today))
        return []

    async def _say_why_the_refund_takes(self, dispatcher: CollectingDispatcher, order: OrderSummary, identity: Text) -> None:
        """A wait complained of after the refund's status: where each refund is, or that none was started."""
        refunds = await asyncio.to_thread(self._service.refunds, order.order_id, identity)
        if refunds:
            dispatcher.utter_message(text=" ".join(describe_refund(refund) for refund in refunds))
        else:
            dispatcher.utter_message(text=NO_REFUND_WAITING_TEXT.format(order_id=order.order_id), buttons=CONNECT_BUTTONS)

    @staticmethod
    def _say_tracking_stuck(dispatcher: CollectingDispatcher, order: OrderSummary, today: date) -> None:
        """A shipped order whose tracking stopped changing: normal for a few days, a trace after that."""
        carrier = order.carrier or "the carrier"
        shipped_for = business_days_between(order.shipped_on, today) if order.shipped_on else 0
        if order.eta and order.eta < today:
            dispatcher.utter_message(response="utter_delay")
        elif shipped_for >= TRACE_AFTER_BUSINESS_DAYS or not order.eta:
            dispatcher.utter_message(text=TRACE_TEXT.format(business_days=shipped_for, carrier=carrier),
                                     buttons=OFFER_HUMAN_BUTTONS)
        else:
            dispatcher.utter_message(text=TRACKING_PAUSE_TEXT.format(carrier=carrier, eta=day(order.eta, today)))
