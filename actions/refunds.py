"""Refunds: request one for a delivered order (after a yes), and check their status."""
from __future__ import annotations

import asyncio
import logging
import re
from datetime import date
from decimal import Decimal
from typing import List, Optional, Sequence, Text, Tuple

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.cancellation import never_charged_text
from actions.complaints import asks_for_replacement
from actions.confirmation import CONFIRM_BUTTONS, PENDING_SLOT, answers_the_question, decline, still_waiting_question
from actions.fallback import CONNECT_BUTTONS, OFFER_HUMAN_BUTTONS
from actions.products import not_in_order_text, other_order_holding, said_not_in_order
from actions.session import latest_request, previous_bot_turn, session_events, user_messages, with_slots
from actions.verification import (EXCHANGE_TEXT, IDENTITY_SLOT, ORDER_ID_SLOT, VerifiedOrderAction, asks_how_to,
                                  conversation_order)
from bot.db.models import OrderStatus, RefundStatus
from bot.formatting import day, items_list, money
from bot.orders import OrderService, OrderSummary, RefundOutcome, RefundResult, RefundSummary
from bot.parsing import (TASK_WORDS, asks_for_exchange, is_narrowing, items_named, names_every_item, says_charged, says_charged_twice,
                          says_item_damaged)

logger = logging.getLogger(__name__)


REFUND_STATUS_TEXT = {
    RefundStatus.REQUESTED: "requested; it's paid to your original payment method within 5-7 business days after the return reaches our warehouse",
    RefundStatus.PENDING_AGENT_APPROVAL: "waiting for a support agent's approval (refunds over $500 need one)",
    RefundStatus.APPROVED: "approved; the money is on its way to your original payment method",
    RefundStatus.REJECTED: "declined; you'll find the reason in the email we sent you",
    RefundStatus.PAID: "paid to your original payment method",
}


ITEMS_SLOT = "refund_items"
# A message about sending something back ("can i return the carabiners?", "could I send the bottle back").
_RETURN_WORDS = re.compile(r"\b(?:return|send\b[^.?!]{0,25}\bback|refund)", re.IGNORECASE)


def describe_refund(refund: RefundSummary) -> Text:
    part = f" ({'; '.join(refund.items)})" if refund.items else ""
    return (
        f"Refund #{refund.refund_id} for {money(refund.amount)}{part} on order {refund.order_id} "
        f"(requested {refund.created_on:%B} {refund.created_on.day}) is {REFUND_STATUS_TEXT[refund.status]}."
    )


def items_for(items: Sequence[Text]) -> Text:
    """" for the Insulated Water Bottle, 1 L" when the refund covers only some of the order, else ""."""
    return f" for the {' and the '.join(items)}" if items else ""


def lines_named(text: Text, order: OrderSummary) -> List[Text]:
    """The order lines ``text`` names ("just the water bottle"); empty for none or all (the whole order)."""
    return items_named(text, [name for name, _ in order.items])


def items_asked_for(tracker: Tracker, order: OrderSummary) -> List[Text]:
    """The order lines the customer's refund request names ("just the water bottle"); empty for the whole order."""
    return lines_named(latest_request(tracker, "get_refund") or "", order)


def refund_not_in_order_text(order: OrderSummary) -> Text:
    """For a refund request naming a product the verified order doesn't hold ("return the headphones" about the
    order of a water bottle and carabiners): what the order holds, and how to go on."""
    return f"{not_in_order_text(order)} To return something from this order, tell me which item."


def offer_refund(dispatcher: CollectingDispatcher, tracker: Tracker, result: RefundResult, text: Text) -> List[EventType]:
    """Asks for the yes to the refund ``result`` describes (``text`` states it) and keeps its lines for the yes."""
    if result.outcome is RefundOutcome.PENDING_AGENT_APPROVAL:
        text += " Refunds over $500 need a support agent's approval, so an agent will review it."
    dispatcher.utter_message(text=text + " Shall I go ahead?", buttons=CONFIRM_BUTTONS)
    events: List[EventType] = [SlotSet(PENDING_SLOT, "refund")]
    if result.items or tracker.get_slot(ITEMS_SLOT):
        events.append(SlotSet(ITEMS_SLOT, list(result.items) or None))
    return events


async def offer_to_return_items_named(
    dispatcher: CollectingDispatcher, tracker: Tracker, service: OrderService
) -> List[EventType]:
    """"can i return just the carabiners?" asked about the order verified in this conversation: after the
    policy's answer, the offer to start that item's refund (a yes files it). Nothing when no order is
    verified, the message names none of its items, a change already waits for a yes, or the item can't be
    refunded (the policy answer stands alone)."""
    order_id, identity = tracker.get_slot(ORDER_ID_SLOT), tracker.get_slot(IDENTITY_SLOT)
    text = (tracker.latest_message or {}).get("text") or ""
    if not (order_id and identity and _RETURN_WORDS.search(text)) or tracker.get_slot(PENDING_SLOT):
        return []
    order = await asyncio.to_thread(service.verify, int(order_id), identity)
    named = lines_named(text, order) if order else []
    if not named:
        return []
    result = await asyncio.to_thread(service.refund_eligibility, order.order_id, identity, named)
    if not result.may_be_filed:
        return []
    return offer_refund(dispatcher, tracker, result, (
        f"For order {order.order_id}, I can start that return now: a refund of {money(result.amount)}"
        f"{items_for(result.items)} to your original payment method."
    ))


async def offered_other_items_while_a_refund_waits(
    dispatcher: CollectingDispatcher, tracker: Tracker, service: OrderService, order: Optional[OrderSummary] = None
) -> Optional[List[EventType]]:
    """"actually can i return both the bottle and the carabiners?" while the bottle's refund waits for a yes (read
    as a policy question or out of scope): the offer of the refund of what it names now, which replaces the one
    waiting; None when no refund waits or the message names the same items, none, or items that can't be
    refunded (the caller answers as usual). ``order``: the conversation's order when the caller has checked it
    already (else it is checked here)."""
    text = (tracker.latest_message or {}).get("text") or ""
    order_id, identity = tracker.get_slot(ORDER_ID_SLOT), tracker.get_slot(IDENTITY_SLOT)
    if tracker.get_slot(PENDING_SLOT) != "refund" or not (order_id and identity and _RETURN_WORDS.search(text)):
        return None
    if order is None:
        order = await asyncio.to_thread(service.verify, int(order_id), identity)
    if order is None:
        return None
    names = [name for name, _ in order.items]
    named, waiting = lines_named(text, order), list(tracker.get_slot(ITEMS_SLOT) or [])
    whole = not named and names_every_item(text, names)
    if not (named or whole) or (named == waiting) or (whole and not waiting):
        return None
    result = await asyncio.to_thread(service.refund_eligibility, order.order_id, identity, named or None)
    if not result.may_be_filed:
        dispatcher.utter_message(text=why_no_refund(result, service.today()))
        return []
    what = f" for the whole order ({items_list(order.items)})" if whole else items_for(result.items)
    return offer_refund(dispatcher, tracker, result, (
        f"OK: I can request a refund of {money(result.amount)}{what} on order {order.order_id} to your original "
        "payment method instead."
    ))


def why_no_refund(result: RefundResult, today: date, request: Optional[Text] = None, said: Sequence[Text] = ()) -> Text:
    """The reply when a refund cannot be requested for this order. ``request``: the customer's message, when it
    can say more ("cancel order 10001 and get a refund" about a shipped order: it can't be cancelled); ``said``:
    the bot's previous reply, so that a shipped order's refusal isn't given twice running."""
    order = result.order
    if result.outcome is RefundOutcome.ALREADY_REQUESTED:
        return "There's already a refund for this order. " + describe_refund(result.refund)
    if result.outcome is RefundOutcome.OUTSIDE_WINDOW:
        return (
            f"Order {order.order_id} was delivered {day(order.delivered_on, today)}, more than 30 days ago, so it's "
            "outside our return window. If the item is faulty, our 1-year warranty on electronics may cover it; "
            "support@brightbay.example can help."
        )
    if order.status is OrderStatus.PROCESSING:
        return (
            f"Order {order.order_id} hasn't shipped yet, so there's nothing to refund: you can cancel it free of charge "
            "instead. Just say 'cancel my order'."
        )
    if order.status is OrderStatus.SHIPPED:
        later = "Once it's delivered you can return it within 30 days and I can start the refund then."
        text = f"Order {order.order_id} is still on its way. {later}"
        if TASK_WORDS["cancel"].search(request or ""):
            # Seen in a chat: "i want to cancel order 10001 and get a refund" heard only when it could be returned.
            text = f"Order {order.order_id} has already shipped, so it can't be cancelled anymore. {later}"
        if any(later in reply for reply in said) or asks_how_to(request):
            # Seen in a chat: "ok so how do i return it" right after got the same reply again: how, once delivered.
            text = (f"Order {order.order_id} is still on its way, so it can't be returned yet. Once it's delivered, tell "
                    "me here and I'll start the refund, or go to Account > Orders, open the order and choose \"Return "
                    "items\". We'll email you a return label; you have 30 days from delivery.")
        return text
    if order.status is OrderStatus.CANCELLED:
        # Cancelled before it shipped, so never charged ("its payment was already returned" told a customer money had
        # moved that never had).
        return (f"Order {order.order_id} was cancelled before it shipped, so there's nothing to refund: we charge when "
                "an order ships, and the authorization on your payment method was released.")
    return f"Order {order.order_id} was returned; ask me about its refund status if you're waiting for the money."


def replacement_text(order: OrderSummary, result: RefundResult) -> Text:
    """The reply to "can I get a replacement?" for an order that could be refunded: only a person can send one."""
    return (
        f"I can't send a replacement for order {order.order_id} myself, but a support agent can arrange one if it "
        "arrived damaged, faulty or wrong (they'll need a photo of the item and the packaging). To swap it for "
        "another size or color, return it for a refund and place a new order: say \"refund it\" and I'll start the "
        f"refund of {money(result.amount)}{items_for(result.items)}. Would you like me to connect you with a support agent?"
    )


# "when will i get the extra charge back?", or "when do i get it back?" after "i was charged twice": a second
# charge, which no return refunds (data/kb/payment.md, "Charged twice for one order").
SECOND_CHARGE_TEXT = (
    "Order {order_id} has no refund on file: a second charge isn't refunded through a return. It's often a pending "
    "authorization from a payment that was tried again, which your bank releases within 3-5 business days. If both "
    "charges have gone through, a support agent checks the payment and refunds the extra charge to the same card "
    "within 5-7 business days. Would you like me to connect you with one?"
)
RECENT_TURNS = 3  # the customer's latest messages read for what a question about money back is about


# "but i was charged", then "when will i get it back": a cancelled order's payment is a hold (charged when it ships),
# and a charge that went through is an agent's to refund (data/kb/payment.md).
CHARGED_FOR_CANCELLED_TEXT = (
    "Order {order_id} was cancelled and has no refund on file: we charge when an order ships, so a cancelled order's "
    "payment is usually only a hold, which your bank releases within 3-5 business days of the cancellation. If the "
    "charge has gone through, a support agent checks the payment and refunds it to your original payment method. "
    "Would you like me to connect you with one?"
)


def said_charged_recently(tracker: Tracker) -> bool:
    """Whether one of the customer's ``RECENT_TURNS`` latest messages says a payment was taken."""
    return any(says_charged(e.get("text")) for e in user_messages(tracker)[-RECENT_TURNS:])


def asks_about_second_charge(tracker: Tracker) -> bool:
    """Whether one of the customer's ``RECENT_TURNS`` latest messages speaks of a second charge."""
    users = user_messages(tracker)[-RECENT_TURNS:]
    texts = [e.get("text") or "" for e in users] or [(tracker.latest_message or {}).get("text") or ""]
    return any(says_charged_twice(t) for t in texts)


def no_refund_text(order: OrderSummary) -> Tuple[Text, bool]:
    """What to say when the order has no refund, and whether to offer a person.

    A customer who asks about a refund that doesn't exist usually believes they sent something back
    ("i returned my blender 2 weeks ago and still no money"), so a delivered or returned order gets the
    way to have it looked into, not only "ask me for a refund".
    """
    head = f"I don't see a return or refund for order {order.order_id}."
    if order.status is OrderStatus.DELIVERED:
        return (
            f"{head} If you sent it back without starting a return, or it's taking longer than expected, a support "
            "agent can look into it. If you haven't started a return yet, just ask me for a refund.",
            True,
        )
    if order.status is OrderStatus.RETURNED:
        return f"{head} It's marked as returned, so a support agent should check what happened to the refund.", True
    if order.status is OrderStatus.CANCELLED:
        head = f"Order {order.order_id} was cancelled, so there's no refund to track."
        return f"{head} {never_charged_text(order.total, just_now=False)}", False
    if order.status is OrderStatus.PROCESSING:
        return f"{head} It hasn't shipped yet, so there's nothing to refund, but I can cancel it free of charge.", False
    return f"{head} It's still on its way; once it's delivered, you can ask me for a refund within 30 days.", False


# "how long until i see the money?", "when do i get my money back": about an order that was cancelled, whose
# payment goes back without a return (the help center's refund passage counts from the return's arrival).
_ASKS_ABOUT_MONEY = re.compile(
    r"\b(?:money|refund\w*|credit(?:ed)?|reimburs\w*|paid back|pay me back|charged? back|get (?:it|that) back)\b",
    re.IGNORECASE,
)


async def said_cancelled_orders_money(dispatcher: CollectingDispatcher, tracker: Tracker, service: OrderService) -> bool:
    """For a question about getting the money back when the conversation's order is cancelled: when its payment
    comes back, and True; False, saying nothing, otherwise (the caller answers)."""
    if not _ASKS_ABOUT_MONEY.search((tracker.latest_message or {}).get("text") or ""):
        return False
    order = await conversation_order(tracker, service)
    if order is None or order.status is not OrderStatus.CANCELLED:
        return False
    say_no_refund(dispatcher, tracker, order)
    return True


def say_no_refund(dispatcher: CollectingDispatcher, tracker: Tracker, order: OrderSummary) -> None:
    """That ``order`` has no refund (``no_refund_text``); for a cancelled order the customer says they were charged
    for, that an agent refunds a charge that went through. Seen in a chat: "when will i get it back" after "but i was
    charged" about cancelled order 10005 got "there's no refund to track... You weren't charged" again."""
    if order.status is OrderStatus.CANCELLED and said_charged_recently(tracker):
        dispatcher.utter_message(text=CHARGED_FOR_CANCELLED_TEXT.format(order_id=order.order_id), buttons=CONNECT_BUTTONS)
        return
    text, offer_person = no_refund_text(order)
    dispatcher.utter_message(text=text, buttons=OFFER_HUMAN_BUTTONS if offer_person else [])


class ActionRequestRefund(VerifiedOrderAction):
    """Checks the order qualifies and asks for a yes before filing the refund."""

    def name(self) -> Text:
        return "action_request_refund"

    task = "refund"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, order: OrderSummary, identity: Text
    ) -> List[EventType]:
        offered = await offered_other_items_while_a_refund_waits(dispatcher, tracker, self._service, order)
        if offered is not None:
            return offered  # "actually return both the bottle and the carabiners" while the bottle's waits
        answer = answers_the_question(tracker, "refund")
        request = latest_request(tracker, "get_refund")
        named, waiting = items_asked_for(tracker, order), tracker.get_slot(ITEMS_SLOT) or []
        # Seen in a chat: "I want to return the headphones I bought" about the order of a water bottle and
        # carabiners was offered the whole order's refund.
        if answer is None and not named:
            other = await other_order_holding(self._catalog, self._service, tracker, request, order, identity)
            if other is not None:
                # The item is in another order of this conversation with the same email or ZIP code: its refund.
                switched = with_slots(tracker, **{ORDER_ID_SLOT: str(other.order_id), ITEMS_SLOT: None})
                return [SlotSet(ORDER_ID_SLOT, str(other.order_id)), SlotSet(ITEMS_SLOT, None),
                        *await self.act(dispatcher, switched, other, identity)]
            if await said_not_in_order(dispatcher, self._catalog, request, order, "refund",
                                       refund_not_in_order_text(order)):
                return []
        if answer is not None and named and named != waiting:
            answer = None  # "actually just the carabiners" while the bottle's refund waits: a new question
        # A re-asked request that names nothing ("yes refund it") keeps the items of the question it answers.
        items = waiting if answer is not None else named
        result = await asyncio.to_thread(self._service.refund_eligibility, order.order_id, identity, items or None)
        if not result.may_be_filed and order.status is OrderStatus.CANCELLED and said_charged_recently(tracker):
            # Seen in a chat: "but i paid for it" about cancelled order 10005 got "its payment was already returned
            # to you", after "You weren't charged".
            dispatcher.utter_message(text=CHARGED_FOR_CANCELLED_TEXT.format(order_id=order.order_id),
                                     buttons=CONNECT_BUTTONS)
            return []
        if not result.may_be_filed:
            said = [e.get("text") or "" for e in previous_bot_turn(tracker)]
            dispatcher.utter_message(text=why_no_refund(result, self._service.today(), request, said))
            return []
        if answer is False:
            return decline(dispatcher, tracker)
        if answer is None and asks_for_exchange(request):
            # Seen in a chat: "my boots are too big, can i swap them for a smaller pair?" was told orders can't be
            # edited. Another size or colour is a return plus a new order (help center, "Exchanges").
            said = any(e.get("text") == EXCHANGE_TEXT for e in session_events(tracker) if e.get("event") == "bot")
            how = "" if said else ("We don't swap items directly: return it for a refund and place a new order for the "
                                   "one you want, which ships right away. ")
            return offer_refund(dispatcher, tracker, result, (
                f"{how}Order {order.order_id} was delivered "
                f"{day(order.delivered_on, self._service.today())}, so it's within our 30-day return window: I can "
                f"request a refund of {money(result.amount)}{items_for(result.items)} to your original payment method."
            ))
        if answer is None and asks_for_replacement(request):
            dispatcher.utter_message(text=replacement_text(order, result), buttons=CONNECT_BUTTONS)
            return []
        if answer and result.outcome is RefundOutcome.REQUESTED:
            # Asked "Shall I go ahead?" and answered with the request itself ("yes refund it"): that is the yes.
            # A refund that needs an agent's approval still goes through action_confirm_refund, after which
            # HandoffPolicy hands the conversation to the agent.
            return await file_refund(self._service, dispatcher, order, identity, items)
        # The whole order of several lines: say they can return only some ("the water bottle" narrows it).
        whole = not result.items and len(order.items) > 1
        some = (f" for the whole order ({items_list(order.items)}); if you're returning only some of it, tell me which "
                "item" if whole else "")
        return offer_refund(dispatcher, tracker, result, (
            f"Order {order.order_id} was delivered {day(order.delivered_on, self._service.today())}, so it's within our 30-day "
            f"return window. I can request a refund of {money(result.amount)}{items_for(result.items)} to your "
            f"original payment method{some}."
        ))


class ActionRefundMoreItems(VerifiedOrderAction):
    """"and the carabiners too" right after a refund (AnotherItemPolicy): offers the refund of the lines it
    names, for a yes, or asks which item to return as well. "just the carabiners" right after a refund offer
    offers the refund of those lines instead."""

    def name(self) -> Text:
        return "action_refund_more_items"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, order: OrderSummary, identity: Text
    ) -> List[EventType]:
        text = (tracker.latest_message or {}).get("text") or ""
        named = lines_named(text, order)
        instead = is_narrowing(text) and tracker.get_slot(PENDING_SLOT) == "refund"
        # "the machine is broken" about an order of one item: the whole order's refund, as offered.
        only_line = instead and not named and len(order.items) == 1
        if not named and not only_line:
            dispatcher.utter_message(
                text=f"Which item of order {order.order_id} would you like to return{'' if instead else ' as well'}? "
                f"Say, for example, \"return the {order.items[-1][0]}\"."
            )
            return []
        result = await asyncio.to_thread(self._service.refund_eligibility, order.order_id, identity, named or None)
        if not result.may_be_filed:
            dispatcher.utter_message(text=why_no_refund(result, self._service.today()))
            return []
        if instead and says_item_damaged(text):
            # "the bottle is broken": that line's refund, with what the damaged-items policy adds to it.
            return offer_refund(dispatcher, tracker, result, (
                f"I'm sorry about that. I can request a refund of {money(result.amount)}{items_for(result.items)} on "
                f"order {order.order_id} to your original payment method{'' if only_line else ' instead'}; return "
                "shipping is free for a damaged or defective item. If you'd rather have a replacement, a support agent "
                "can arrange one."
            ))
        if only_line:
            return offer_refund(dispatcher, tracker, result, (
                f"That's the only item of order {order.order_id}: I can request a refund of {money(result.amount)} to "
                "your original payment method."
            ))
        if instead:
            # It replaces the offer waiting for a yes (the slot of its lines is set to these).
            return offer_refund(dispatcher, tracker, result, (
                f"OK, just that: I can request a refund of {money(result.amount)}{items_for(result.items)} on order "
                f"{order.order_id} to your original payment method instead."
            ))
        return offer_refund(dispatcher, tracker, result, (
            f"I can also request a refund of {money(result.amount)}{items_for(result.items)} on order "
            f"{order.order_id} to your original payment method."
        ))


class ActionConfirmRefund(VerifiedOrderAction):
    """Files the refund after the customer said yes."""

    def name(self) -> Text:
        return "action_confirm_refund"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, order: OrderSummary, identity: Text
    ) -> List[EventType]:
        return await file_refund(self._service, dispatcher, order, identity, tracker.get_slot(ITEMS_SLOT) or [])


# Help center, returns article: deducted from the refund of a return that isn't defective.
RETURN_SHIPPING_FEE = Decimal("6.95")


# "how much will i get back?", "what would the refund be?" while a refund waits for a yes.
_ASKS_AMOUNT_BACK = re.compile(
    r"\bhow much\b[^.?!]{0,30}\b(?:back|refund(?:ed)?|get|receive)\b|\bwhat (?:will|would|do) i get back\b"
    r"|\bwhat(?:'s| is| would be| will be) the refund(?: amount)?\b|\bwhat (?:would|will) (?:the|my) refund be\b",
    re.IGNORECASE,
)


async def said_waiting_refunds_amount(dispatcher: CollectingDispatcher, tracker: Tracker, service: OrderService) -> bool:
    """"how much will i get back?" while a refund waits for a yes: its amount for the items offered and what the
    return shipping fee leaves of it, and True; False, saying nothing, otherwise (seen in a chat: the help center's
    general refund rules)."""
    text = (tracker.latest_message or {}).get("text") or ""
    if tracker.get_slot(PENDING_SLOT) != "refund" or not _ASKS_AMOUNT_BACK.search(text):
        return False
    order_id, identity = tracker.get_slot(ORDER_ID_SLOT), tracker.get_slot(IDENTITY_SLOT)
    if not (order_id and identity):
        return False
    items = list(tracker.get_slot(ITEMS_SLOT) or [])
    try:
        result = await asyncio.to_thread(service.refund_eligibility, int(order_id), identity, items or None)
    except Exception:  # the help center answers instead
        logger.exception("refund amount lookup failed in conversation %s", tracker.sender_id)
        return False
    if not result.may_be_filed:
        return False
    dispatcher.utter_message(
        text=f"The refund would be {money(result.amount)}{items_for(result.items)}. {return_shipping_text(result.amount)}"
    )
    return True


def return_shipping_text(amount: Decimal) -> Text:
    """The fee and what it leaves of ``amount`` (seen in a chat: a $10.00 refund said "$6.95 is deducted", and the
    customer had to work out that $3.05 would come back)."""
    net = Decimal(amount) - RETURN_SHIPPING_FEE
    return f"Return shipping is free for defective items; otherwise {money(RETURN_SHIPPING_FEE)} is deducted" + (
        f", so you'd get {money(net)} back." if net > 0 else f", which would take all of the {money(amount)}."
    )


async def file_refund(
    service: OrderService, dispatcher: CollectingDispatcher, order: OrderSummary, identity: Text,
    items: Sequence[Text] = (),
) -> List[EventType]:
    """Files the refund for ``items`` (the whole order when empty; the service checks the identity and the
    return window again) and says what happened."""
    result = await asyncio.to_thread(service.request_refund, order.order_id, identity, None, list(items) or None)
    refund = result.refund
    if result.outcome is RefundOutcome.REQUESTED:
        dispatcher.utter_message(
            text=(
                f"I've requested refund #{refund.refund_id} of {money(refund.amount)}{items_for(refund.items)} "
                f"for order {order.order_id}. "
                "We'll email you a return label; the refund reaches your original payment method within "
                "5-7 business days after the item arrives at our warehouse. " + return_shipping_text(refund.amount)
            )
        )
    elif result.outcome is RefundOutcome.PENDING_AGENT_APPROVAL:
        dispatcher.utter_message(
            text=(
                f"I've filed refund request #{refund.refund_id} for {money(refund.amount)}{items_for(refund.items)} "
                f"on order {order.order_id}. Refunds over $500 must be approved by a support agent, so it's now pending "
                "agent approval; an agent will review it and email you."
            )
        )
    else:
        dispatcher.utter_message(text=why_no_refund(result, service.today()))
    return [SlotSet(PENDING_SLOT, None)] + ([SlotSet(ITEMS_SLOT, None)] if items else [])


# A question about money while the cancellation of an order not yet shipped waits for a yes (help center, payment
# article: the card is authorized when the order is placed and charged when it ships). No "No:" first: it answers
# "will i still get charged?" but reads as a refusal to "will i get my money back straight away?" (seen in a chat).
CANCEL_BEFORE_CHARGE_TEXT = (
    "Order {order_id} hasn't shipped, so it hasn't been charged (we charge when an order ships). If you cancel it "
    "now, the authorization on your payment method is released, and there's no cancellation fee."
)


class ActionRefundStatus(VerifiedOrderAction):
    """Shows the refunds of the verified order."""

    def name(self) -> Text:
        return "action_refund_status"

    task = "refund_status"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, order: OrderSummary, identity: Text
    ) -> List[EventType]:
        refunds = await asyncio.to_thread(self._service.refunds, order.order_id, identity)
        if not refunds and tracker.get_slot(PENDING_SLOT) == "cancel_order" and order.status is OrderStatus.PROCESSING:
            # Seen in a chat: "wait, will i still get charged?" while "Shall I cancel it?" waited (read as
            # track_refund) got "I don't see a return or refund", and the question was not asked again.
            dispatcher.utter_message(text=CANCEL_BEFORE_CHARGE_TEXT.format(order_id=order.order_id))
            dispatcher.utter_message(text=still_waiting_question(tracker), buttons=CONFIRM_BUTTONS)
        elif not refunds and asks_about_second_charge(tracker):
            # Seen in a chat: "when will i get the extra charge back?" after "i was charged twice for order 10002"
            # got "It hasn't shipped yet, so there's nothing to refund".
            dispatcher.utter_message(text=SECOND_CHARGE_TEXT.format(order_id=order.order_id), buttons=CONNECT_BUTTONS)
        elif not refunds:
            say_no_refund(dispatcher, tracker, order)
        else:
            dispatcher.utter_message(text=" ".join(describe_refund(r) for r in refunds))
        return []
