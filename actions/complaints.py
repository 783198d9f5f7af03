"""Complaints: an item that arrived damaged or wrong, or a parcel marked delivered that never came, gets
Brightbay's policy for it; a wait that is taking too long gets what can be done about it; the rest an apology.

Either way the reply offers a person (a "yes" or the button hands off). The damaged-item wording
comes from the help center's "Damaged, defective or wrong items" article (``data/kb/damaged-items.md``),
the missing-parcel wording from the shipping article (``data/kb/shipping.md``);
the help center's own retrieval is not used here because a complaint ("the delivery guy was rude")
lands on that article's nearest sentence even when it is about something else.
"""
from __future__ import annotations

import asyncio
import logging
import re
from datetime import date
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import CONNECT_BUTTONS
from actions.products import said_order_disputed
from actions.session import IDENTITY_SLOT, ORDER_ID_SLOT, REQUEST_DETAIL, TASK_SLOT, previous_bot_turn, previous_reply_was
from actions.verification import (
    AGENT_WILL_SEE_TEXT, asked_to_connect, conversation_order, order_values_kept, said_what_comes_next,
    single_product_named,
)
from bot.catalog import ProductCatalog, shared_catalog
from bot.kb.source import ItemWords
from bot.db.models import OrderStatus
from bot.formatting import day
from bot.orders import OrderService, OrderSummary
from bot.parsing import asks_to_speed_up

logger = logging.getLogger(__name__)

# Something other than what was ordered, or less of it.
_WRONG_ITEM = re.compile(
    r"\b(?:wrong (?:item|product|size|colou?r|model|thing|one|order|parcel|package)s?|not what i (?:ordered|bought)"
    r"|(?:is|are|was|were|went|goes|something|item|items|part|parts|piece|pieces|accessor(?:y|ies)|cable|charger) missing"
    r"|(?:is ?n[o']?t|not) the (?:colou?r|size|model|one|item|version) i (?:ordered|bought|chose|picked)"
    r"|different (?:size|colou?r|model|item|product|version) (?:than|from) (?:i|what i|the one i) (?:ordered|bought)"
    r"|missing (?:item|items|part|parts|piece|pieces|from)|(?:did ?n[o']?t|never) (?:get|receive|come with) (?:all|everything|the)\b[^.?!]{0,20}\b(?:items?|parts?|pieces?)"
    # Seen in a chat: "the speaker came but not the headphones" got "Please tell me what happened".
    r"|\b(?:came|arrived|got|received|delivered)\b[^.?!]{0,40}\bbut (?:not (?:the|my|any)|no|without (?:the|my|any)?)\s"
    r"(?!(?:\w+ )?(?:e-?mail|confirmation|tracking|order|refund|receipt|label|reply|answer|invoice|code|money|amount|update)s?\b)"
    r"|\b(?:came|arrived|was delivered)\s+without (?:the|its|any|a|an)\b"
    r"|(?:was|were|is|are) ?(?:n[o']?t| not) in the (?:box|package|parcel|delivery|shipment))",
    re.IGNORECASE,
)
# Arrived broken, or does not work out of the box.
_DAMAGED = re.compile(
    r"\b(?:broken|broke|damaged|damage|cracked|smashed|shattered|dented|dinged|chipped|scratched|crushed|bent|torn|leak(?:s|ing|ed)?"
    r"|defective|faulty|dead on arrival|doa|dead pixels?|stuck pixels?|(?:screen|display)(?: is| keeps)? (?:flickers|flickering|has lines)"
    # Outdoor and home gear fails in its own words: "the tent has a hole in it", "a rip in the sleeping bag".
    r"|(?:has|have|with|got|there'?s|there is|there are) (?:a |an |some |two |little |small |big |huge )*(?:holes?|rips?|dents?|cracks?|scratch(?:es)?|chips? in|tears?(?! in (?:my|your|his|her|their) eyes?))"
    r"|holes? in|rips? in|tears? in(?! (?:my|your|his|her|their) eyes?)|ripped|snapped|split open|fell apart|falling apart|coming apart|came apart"
    r"|flicker(?:s|ing)?|burn(?:ing|t) smell|smells? (?:like )?(?:it'?s )?(?:burn(?:ing|t)|smoke)|(?:it'?s|is|was|started|starts) smoking"
    r"|(?:does ?n[o']?t|do ?n[o']?t|wo ?n[o']?t|did ?n[o']?t|not|never|can'?t|cannot) (?:even )?(?:turn(?:ing)? on|power(?:ing)? on|work(?:ing)?|charg(?:e|ing)|start(?:ing)?|boot(?:ing)?))\b",
    re.IGNORECASE,
)

# Damage long after delivery ("i bought a kayak 2 months ago and the seat broke"): a failure for the warranty, not
# damage in transit to report within 48 hours, unless the message says it arrived that way.
_LONG_AGO = re.compile(
    r"\b(?:(?:\d+|a|an|one|two|three|four|five|six|a few|few|a couple of|couple of|several)"
    r" (?:weeks?|months?|years?) ago"
    r"|last (?:month|year|summer|winter|spring|fall|autumn)"
    r"|for (?:\d+|a|two|three|a few|several) (?:weeks|months|years))\b",
    re.IGNORECASE,
)
_ON_ARRIVAL = re.compile(
    r"\b(?:arrived|came|delivered|received|showed up|out of the box|in the box|when i opened|on arrival|in transit)\b",
    re.IGNORECASE,
)
# Worked at first, failed later: past the 48 hours for reporting damage, the warranty's case.
_STOPPED_WORKING = re.compile(
    r"\b(?:stopped|quit|ceased) (?:working|charging|turning on|holding (?:a )?charge|holding air)\b"
    r"|\b(?:died|broke|failed|gave out|conked out) (?:after|within)\b"
    r"|\bno longer (?:works?|working|turns? on|charges?)\b"
    r"|\b(?:does ?n[o']?t|do ?n[o']?t|wo ?n[o']?t|is ?n[o']?t|not) (?:work(?:ing)?|turn(?:ing)? on|charg(?:e|ing)) any ?more\b",
    re.IGNORECASE,
)

# Tracking says delivered, the customer has nothing.
_MARKED_DELIVERED = r"\b(?:says|said|shows|showed|showing|marked|marks|listed)(?: (?:as|it was|it's|its))? delivered\b"
_MARKED_DELIVERED_RE = re.compile(_MARKED_DELIVERED, re.IGNORECASE)
_NOT_RECEIVED = re.compile(
    _MARKED_DELIVERED + r"|\b(?:never|did ?n[o']?t|did not|have ?n[o']?t|has ?n[o']?t|have not|has not|not) (?:get|got|receive|received|arrive|arrived|come|came|show(?:n|ed)? up)\b"
    r"(?![^.?!]{0,25}\b(?:refund|money|email|confirmation|code|link|invoice|receipt)s?\b)",
    re.IGNORECASE,
)

# Tracking that stopped changing: "the tracking hasn't updated in 4 days", "it's been stuck in Memphis since monday".
_TRACKING_STUCK = re.compile(
    r"\btracking\b[^.?!]{0,40}\b(?:has ?n[o']?t|have ?n[o']?t|has not|not|never|no longer|does ?n[o']?t|did ?n[o']?t)"
    r"\b[^.?!]{0,12}\b(?:updat|chang|mov|show(?:n|s|ing)? (?:any|anything))\w*"
    r"|\b(?:(?:has ?n[o']?t|have ?n[o']?t|not|never) (?:moved|budged|been scanned)|(?:is|been|was|got|gets|remains?|still|it.s|its) stuck|not moving|no (?:new )?(?:updates?|scans?|movement))\b",
    re.IGNORECASE,
)


# "i checked with my neighbors already", "i looked everywhere": the parcel was searched for, as the missing-parcel
# advice asks, and isn't there.
_PLACES_A_PARCEL_IS_LEFT = (r"(?:neighbou?rs?|porch|mailbox|mail ?room|front (?:door|desk)|concierge|doorman|building"
                            r"|everywhere|garage|back ?yard|locker|reception)")
_SEARCHED_FOR_PARCEL = re.compile(
    r"\b(?:checked|asked|looked|searched|tried)\b[^.?!]{0,30}\b" + _PLACES_A_PARCEL_IS_LEFT + r"\b"
    # "it's not at the front door or with my neighbours", "nothing on the porch"
    r"|\b(?:not|isn'?t|wasn'?t|nothing|no sign of it|nowhere)\b[^.?!]{0,25}\b(?:at|on|in|with|by|near) (?:the |my |our )?"
    + _PLACES_A_PARCEL_IS_LEFT + r"\b",
    re.IGNORECASE,
)


def says_searched_for_parcel(text: Optional[Text]) -> bool:
    """"i checked with my neighbors already", "looked everywhere, it's not here", "asked the front desk", "it's not at
    the front door or with my neighbours"."""
    return bool(text and _SEARCHED_FOR_PARCEL.search(text))


# "can you expedite it?", "can i get it faster", "is there any way to get it sooner" (bot.parsing.asks_to_speed_up):
# what can be done for the order.
SPEED_UP_PROCESSING_TEXT = (
    "Order {order_id} hasn't shipped yet (it should ship {ships}), and an order's shipping speed can't be upgraded "
    "or expedited after it's placed. If you need it sooner, you can cancel it free of charge and order again with "
    "Express shipping (1-2 business days, $14.99): just say \"cancel my order\"."
)
SPEED_UP_SHIPPED_TEXT = (
    "Order {order_id} is already on its way with {carrier} and should arrive {eta}; a parcel in transit can't be "
    "sped up. Its tracking number is {tracking}."
)


def speed_up_text(order: Optional[OrderSummary], today: date) -> Optional[Text]:
    """For "can you expedite it?" about the order verified in the conversation: what can be done for it, or None
    when there is none or it is no longer on its way (delivered, cancelled, returned)."""
    if order is None:
        return None
    if order.status is OrderStatus.PROCESSING:
        return SPEED_UP_PROCESSING_TEXT.format(order_id=order.order_id, ships=day(order.expected_ship_on, today))
    if order.status is OrderStatus.SHIPPED:
        return SPEED_UP_SHIPPED_TEXT.format(
            order_id=order.order_id, carrier=order.carrier or "the carrier",
            eta=day(order.eta, today) if order.eta else "soon", tracking=order.tracking_number or "in your shipping email",
        )
    return None


async def said_how_to_speed_up(dispatcher: CollectingDispatcher, tracker: Tracker, orders: OrderService) -> bool:
    """"can you expedite it?", "can i get it faster" about the order checked in this conversation: says what can be
    done for it and returns True; False, saying nothing, for any other message or order (the caller answers)."""
    text = (tracker.latest_message or {}).get("text")
    if not asks_to_speed_up(text):
        return False
    reply = speed_up_text(await conversation_order(tracker, orders), orders.today())
    if reply:
        dispatcher.utter_message(text=reply)
    return bool(reply)


# An order that hasn't left the warehouse yet: "it still hasn't shipped", "my order was never sent".
_NOT_SHIPPED = re.compile(
    r"\b(?:has ?n[o']?t|has not|have ?n[o']?t|have not|did ?n[o']?t|did not|was ?n[o']?t|was not|never|not)"
    r" (?:yet |even |been )*(?:ship(?:ped)?|sent(?: out)?|dispatched|left (?:the|your) warehouse)\b",
    re.IGNORECASE,
)
# A delay about a refund rather than an order: "still waiting for my refund".
_ABOUT_REFUND = re.compile(r"\b(?:refunds?|money back|my money|reimburse\w*)\b", re.IGNORECASE)
# ...or about something the order check can't see: "still waiting for a reply from support".
_ABOUT_NO_ORDER = re.compile(r"\b(?:repl(?:y|ies)|answer|response|call ?back|email back|support|agent)\b", re.IGNORECASE)
CHECK_FIRST_TEXT = "I'm sorry it's taking so long. Let me look at the order first, so I can tell you where it is."
CHECK_REFUND_FIRST_TEXT = "I'm sorry it's taking so long. Let me look at the refund first, so I can tell you where it is."
CHECK_ARRIVAL_FIRST_TEXT = "I'm sorry it hasn't arrived. Let me look at the order first, so I can tell you where it is."
CHECK_DELIVERY_FIRST_TEXT = ("I'm sorry it hasn't turned up. Let me look at the order first, so I can check its delivery "
                             "and what we can do.")


def delay_to_check(text: Optional[Text], response: Text) -> Optional[Text]:
    """The order task that answers a delay complaint best by looking at the order first ("it still hasn't
    shipped", "still waiting for my refund"): "status" or "refund_status"; None for any other complaint."""
    text = text or ""
    if not (_NOT_SHIPPED.search(text) or response == "utter_delay") or _ABOUT_NO_ORDER.search(text):
        return None
    if asks_to_speed_up(text):
        return None  # "can you speed it up?": what can be done about it, not where it is
    return "refund_status" if _ABOUT_REFUND.search(text) else "status"


def check_first_text(task: Text, response: Text, text: Optional[Text]) -> Text:
    """What the reply says before it asks for the order number to look up a delay or a missing parcel."""
    if task == "refund_status":
        return CHECK_REFUND_FIRST_TEXT
    if response == "utter_parcel_not_received":
        return CHECK_DELIVERY_FIRST_TEXT if _MARKED_DELIVERED_RE.search(text or "") else CHECK_ARRIVAL_FIRST_TEXT
    return CHECK_FIRST_TEXT


def says_tracking_stuck(text: Optional[Text]) -> bool:
    """"the tracking hasn't updated in 4 days", "my parcel is stuck in Memphis", "no updates since monday"."""
    return bool(text and _TRACKING_STUCK.search(text))


# Waiting too long for something: an order, a refund, a reply.
_DELAY = re.compile(
    r"\b(?:taking (?:so|too|this) long|tak(?:es|ing) (?:forever|ages)|so slow|speed (?:it|this|things) up|hurry"
    r"|(?:any )?(?:faster|quicker)\b|tired of waiting|still waiting|waiting (?:for )?(?:ages|forever)"
    # "my order 10001 is late", "it's 3 days late" (not "is it too late to cancel?")
    r"|(?:is|it'?s|are|they'?re|running) (?:\w+ ){0,2}(?<!too )late\b|\boverdue\b)",
    re.IGNORECASE,
)


def says_waiting_too_long(text: Optional[Text]) -> bool:
    """"why is it taking so long", "i'm tired of waiting": a wait that feels too long (not "can you speed it up?",
    which asks what can be done)."""
    return bool(text and _DELAY.search(text) and not asks_to_speed_up(text))


# Wants the item replaced or swapped rather than (or before) their money back.
_REPLACEMENT = re.compile(
    r"\b(?:replacements?|replace (?:it|them|this|that|the|my)|exchange|swap"
    r"|(?:send|ship|give|get)(?: me)? (?:a |an )?(?:new|another|working|different) (?:one|unit|item|size|colou?r)"
    r"|(?:a )?new one)\b",
    re.IGNORECASE,
)
# "no replacement, just my money back", "a refund instead of an exchange".
_NO_REPLACEMENT = re.compile(
    r"\b(?:do ?n[o']?t want|not|no|never mind|instead of|rather than|without)\b[^.?!]{0,15}"
    r"\b(?:replacements?|replace|exchange|swap|new one)\b",
    re.IGNORECASE,
)


def asks_for_replacement(text: Optional[Text]) -> bool:
    """"can i get a replacement instead of a refund?", "can you send me a new one", "swap it for a bigger size"."""
    return bool(text and _REPLACEMENT.search(text) and not _NO_REPLACEMENT.search(text))


# Asks us to send something ("can you just send the headphones?", "please ship the missing part"), not a document.
_SEND_IT = re.compile(
    r"\b(?:(?:can|could|will|would) (?:you|u)|just|please|pls)\s+(?:just\s+|please\s+)?(?:re-?)?(?:send|ship|mail|post)\b"
    r"(?!\s+(?:me\s+|us\s+)?(?:a |an |the |my )?(?:return )?(?:label|link|e-?mail|receipt|invoice|refund|code|confirmation"
    r"|tracking|photo|picture|details|info)s?\b)",
    re.IGNORECASE,
)


def said_we_cant_send_items(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """"can you just send the headphones?" right after the wrong-or-missing-item policy: the assistant can't, the
    report or an agent gets the right item sent (``utter_send_missing_item``), and True; False, saying nothing,
    otherwise. Seen in a chat: it got "that's outside what I can help with", or the same policy again."""
    text = (tracker.latest_message or {}).get("text") or ""
    if not _SEND_IT.search(text):
        return False
    if not previous_reply_was(tracker, "utter_wrong_item"):
        return False
    dispatcher.utter_message(response="utter_send_missing_item")
    return True


def says_not_received(text: Optional[Text]) -> bool:
    """"it never arrived", "tracking says delivered but there's nothing here"."""
    return bool(text and _NOT_RECEIVED.search(text) and not _DAMAGED.search(text) and not _WRONG_ITEM.search(text))


def says_marked_delivered(text: Optional[Text]) -> bool:
    """"tracking says delivered": the carrier's word, which can be ahead of the order's own record."""
    return bool(text and _MARKED_DELIVERED_RE.search(text))


def stopped_working_response(text: Text, item_words: ItemWords) -> Text:
    """The warranty the item named falls under: ours for electronics, the maker's for home and outdoor items,
    both when the catalogue's words (``item_words``) can't tell ("my blender")."""
    named = item_words.departments_in(text)
    if named == {"electronics"}:
        return "utter_stopped_working"
    if named and "electronics" not in named:
        return "utter_stopped_working_maker"
    return "utter_stopped_working_any"


# complaint_response's policy replies. A question naming nothing right after one ("what are my options?" after the
# damaged-item policy) asks about that policy: the help center is searched with the reply as its earlier turn.
POLICY_RESPONSES = frozenset({
    "utter_wrong_item", "utter_parcel_not_received", "utter_stopped_working", "utter_stopped_working_maker",
    "utter_stopped_working_any", "utter_damaged_item", "utter_delay", "utter_replacement",
})


def policy_reply_just_given(tracker: Tracker) -> Optional[Text]:
    """The text of the complaint policy the bot's reply to the customer's previous message gave, or None."""
    for event in previous_bot_turn(tracker):
        if (event.get("metadata") or {}).get("utter_action") in POLICY_RESPONSES and event.get("text"):
            return event["text"]
    return None


def complaint_response(text: Optional[Text], item_words: ItemWords = ItemWords()) -> Text:
    """The response for this complaint: the wrong-item, missing-parcel, warranty or damaged-item policy, what
    can be done about a delay or for a replacement, or the general apology. The departments of the catalogue's
    ``item_words`` pick the warranty."""
    text = text or ""
    if _WRONG_ITEM.search(text):
        return "utter_wrong_item"
    if says_not_received(text):
        return "utter_parcel_not_received"
    damaged = bool(_DAMAGED.search(text))
    if _STOPPED_WORKING.search(text) or (damaged and _LONG_AGO.search(text) and not _ON_ARRIVAL.search(text)):
        return stopped_working_response(text, item_words)
    if damaged:
        return "utter_damaged_item"
    if _DELAY.search(text):
        return "utter_delay"
    if asks_for_replacement(text):
        return "utter_replacement"
    return "utter_complaint"


class ActionAnswerComplaint(Action):
    """Answers a complaint with the policy that fixes it, when there is one, and offers a person."""

    def __init__(self, catalog: Optional[ProductCatalog] = None, order_status: Optional[Action] = None,
                 orders: Optional[OrderService] = None) -> None:
        self._orders = orders or OrderService()
        self._catalog = catalog or shared_catalog(self._orders.session_factory)
        self._status = order_status

    def _order_status(self) -> Action:
        if self._status is None:
            # Imported here: actions.order_status reads this module's patterns.
            from actions.order_status import ActionOrderStatus

            self._status = ActionOrderStatus(self._orders, self._catalog)  # the same database as this action
        return self._status

    def name(self) -> Text:
        return "action_answer_complaint"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        if await said_order_disputed(dispatcher, tracker, self._orders, self._catalog):
            return []  # "i didn't order those" about the order just checked
        text = (tracker.latest_message or {}).get("text")
        if await said_how_to_speed_up(dispatcher, tracker, self._orders):
            return []  # "can i get it faster" about the order checked (it got the apology for a delay)
        if said_what_comes_next(dispatcher, tracker):
            return []  # "what's the process?" while the order check waits (it got the apology)
        if said_we_cant_send_items(dispatcher, tracker):
            return []  # "can you just send me the missing part" (it got the missing-item policy again)
        response = complaint_response(text)
        if response == "utter_complaint" and asked_to_connect(tracker) and "?" not in (text or ""):
            # Seen in a chat: "it needs my company name on it" after "Shall I connect you now?" about an invoice got
            # "I'm sorry about your experience. Please tell me what happened": a detail for the agent.
            dispatcher.utter_message(text=AGENT_WILL_SEE_TEXT.format(what="that"), buttons=CONNECT_BUTTONS)
            return []
        checked = tracker.get_slot(ORDER_ID_SLOT) and tracker.get_slot(IDENTITY_SLOT)
        task = delay_to_check(text, response) if response in ("utter_delay", "utter_complaint") else None
        if response == "utter_parcel_not_received":
            # Seen in a chat: "my tv hasn't arrived" got the advice for a parcel marked delivered, about an order
            # not yet shipped. The order's own dates say whether it is on its way, late or marked delivered (and
            # whether the 7-day claim window is still open), so it is looked up first.
            task = "status"
        if task and not checked and not (tracker.active_loop or {}).get("name"):
            # Seen in a chat: "i ordered a kayak paddle last week and it still hasn't shipped, what's going on" got
            # "Please tell me what happened": the assistant can look the order up, so it does before anything else.
            dispatcher.utter_message(text=check_first_text(task, response, text))
            return [SlotSet(TASK_SLOT, task)] + order_values_kept(tracker, bare_digits_as_zip=False) + [
                FollowupAction("order_form")]
        if task == "status" and response in ("utter_complaint", "utter_delay") and checked:
            # "it still hasn't shipped" or "why is it taking so long" about the order checked: its own dates say when
            # it should ship or arrive, and whether it is late (seen in a chat: order 10001, due in two days, got
            # "I'm sorry it's taking so long... a support agent can check what's holding it up").
            return await self._order_status().run(dispatcher, tracker, domain)
        if response == "utter_parcel_not_received" and checked:
            # "i never got it" about the order checked in this conversation: its own dates answer it (due on
            # Monday, marked delivered 10 days ago...), not the general advice. (Run here rather than as a
            # follow-up action, after which the policies have no next action.)
            return await self._order_status().run(dispatcher, tracker, domain)
        if response.startswith("utter_stopped_working"):
            try:
                response = stopped_working_response(text or "", await asyncio.to_thread(self._catalog.item_words))
            except Exception:  # the reply that names both warranties is right for any item
                logger.exception("catalogue unavailable in conversation %s", tracker.sender_id)
        detail = {}
        if (response in ("utter_damaged_item", "utter_wrong_item") and tracker.get_slot(TASK_SLOT) == "refund"
                and (tracker.active_loop or {}).get("name") == "order_form"
                and await single_product_named(self._catalog, text or "")):
            # "the water bottle arrived dented" while a return's order check waits: the refund is for that item
            # (it offered the whole order).
            detail = {REQUEST_DETAIL: True}
        dispatcher.utter_message(response=response, **detail)
        return []
