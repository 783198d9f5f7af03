"""Order verification: the order form's validation and the base of every order action.

A customer proves an order is theirs with the email address or ZIP code on it.
An unknown order number and a wrong email get the same reply, so nobody can
probe which order numbers exist. After MAX_FAILURES failed checks in one
conversation the assistant stops asking and offers a human.
"""
from __future__ import annotations

import abc
import asyncio
import logging
import re
from typing import Any, Dict, List, Optional, Set, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.confirmation import PENDING_SLOT
from actions.fallback import CONNECT_BUTTONS, OFFER_HUMAN_BUTTONS, PROBLEM_TEXT
from actions.several_orders import TASK_STARTERS, continue_with_other_orders, run_task, task_named_for
from actions.session import (
    IDENTITY_SLOT, ORDER_ID_SLOT, REQUEST_DETAIL, TASK_SLOT, latest_request, previous_bot_turn, previous_reply_metadata,
    session_events, user_messages,
)
from bot.catalog import ProductCatalog, shared_catalog
from bot.kb.source import names_no_topic
from bot.nlu.message_guard import MESSAGE_PROBLEM
from bot.orders import OrderService, OrderSummary
from bot.parsing import (
    ORDER_ID,
    TASK_WORDS,
    asks_for_exchange,
    says_received_as_gift,
    asks_why,
    find_entities,
    has_digits,
    order_values_in,
    has_long_number,
    has_street_address,
    is_question,
    says_item_damaged,
    says_no_order_number,
    task_in,
)

logger = logging.getLogger(__name__)

MAX_FAILURES = 3
# Bot message metadata: the reply asked for another order's number to go on with this order task ("refund").
AWAITS_ORDER_NUMBER = "awaits_order_number"
# The order number asked about by number, named earlier in the conversation: a yes to it is that order's number.
SUGGESTED_ORDER = "suggested_order"
ORDER_NAMED_EARLIER_TEXT = "Is it order {order_id}, the one you mentioned? If not, what's your order number?"
FAILURES_SLOT = "verification_failures"
# The order number and email or ZIP code of the last failed check: a correction of one of them alone ("oh, it's
# bob@example.com") is checked with the other, instead of asking again for what the customer had right.
TRIED_SLOT = "order_check_tried"
REQUESTED_SLOT = "requested_slot"
# A statement naming the item ("it was the water bottle i bought for my son") is short; a longer one says more
# than which item, and is left to the rules.
_MAX_DETAIL_WORDS = 12

# Intents that answer the form's question; anything else while the form waits is
# a digression, left to the rules, which answer it and bring the form back.
ANSWER_INTENTS = {
    "inform", "track_order", "cancel_order", "get_refund", "track_refund", "nlu_fallback", "affirm", "greet", "thank_you",
}

NOT_VERIFIED_TEXT = (
    "I couldn't find an order with that number and email or ZIP code. "
    "Please check both: the order number is in your confirmation email."
)
RETRY_NOT_VERIFIED_TEXT = "I still couldn't find order {order_id} with that email address or ZIP code."
# The form's question for the order number after a failed check (action_ask_order_id).
CORRECTION_TEXT = (
    "If only one of them was wrong, just send me the right one: the order number, or the email address or ZIP "
    "code. Otherwise send me both again."
)
# "can you look it up by my email?", "find my order with my zip": what the order check can't do.
_ASKS_LOOKUP_BY_IDENTITY = re.compile(
    r"\b(?:look(?:\s+\w+)?\s+up|find|search|check|pull(?:\s+\w+)?\s+up|use)\b[^.?!]{0,30}\b(?:by|with|from|using)\s+(?:my|the|this)?\s*"
    r"(?:e-?mail|zip|postal|post ?code|name|phone)",
    re.IGNORECASE,
)
_LOOKUP_KINDS = (
    ("ZIP code", re.compile(r"\b(?:zip|postal|post ?code)", re.IGNORECASE)),
    ("phone number", re.compile(r"\bphone\b", re.IGNORECASE)),
    ("name", re.compile(r"\bname\b", re.IGNORECASE)),
)
NO_LOOKUP_BY_IDENTITY_TEXT = (
    "I can't look orders up by {kind} alone: anyone could type one, so I check the order number and the {kind} "
    "together.{kept} If you can't find the order number, a support agent can look your order up another way."
)


def lookup_refused_text(text: Text, kept: Optional[Text] = None) -> Text:
    """Why the order number is needed, for "can you look it up by my email?"; ``kept`` is the kind of value the
    message gave and the check keeps ("email address"), if any."""
    kind = kept or next((kind for kind, words in _LOOKUP_KINDS if words.search(text)), "email address")
    return NO_LOOKUP_BY_IDENTITY_TEXT.format(kind=kind, kept=f" I've kept the {kind}." if kept else "")


# After a failed check with a ZIP code, a bare 5-digit answer could correct either value.
NUMBER_OR_ZIP_TEXT = "Is {number} the order number or the ZIP code?"
LOCKED_TEXT = (
    "I'm sorry, I couldn't verify the order, so I can't share or change its details. "
    "A support agent can help you check who you are another way."
)
# The customer has no order number to give: where to find it, and a person who can look it up without it.
FIND_ORDER_NUMBER_TEXT = (
    "No problem. Your order number is the 5-digit number in the order confirmation we emailed you right after "
    "checkout (look in your spam folder too), and it's under Account > Orders at brightbay.example if you ordered "
    "with an account. If you can't find it, a support agent can look up your order another way."
)
# "i don't have the order number" after asking to return a gift received: the sender has it, and it isn't needed.
GIFT_NO_NUMBER_TEXT = (
    "You don't need it for a gift: start the return from the gift receipt link in the gift message email, or ask the "
    "person who sent it to start it under Account > Orders. If neither works, a support agent can help."
)
GIFT_NUMBER_LATER_TEXT = "If you get the order number from the sender, send it to me and I'll check the order."
STOPPED_TEXT = "No problem, I've stopped that."
# A "no" to the offer of an agent made while the order check waits: no agent, and the check goes on.
NO_AGENT_TEXT = "OK, no agent then."
# ...unless it says to stop ("no, forget it").
_STOPS_THE_CHECK = re.compile(
    r"\b(?:stop|forget (?:it|about it)|never ?mind|nvm|cancel (?:that|it)|do ?n[o']?t bother|leave it)\b", re.IGNORECASE
)
THANKS_WHILE_ASKING_TEXT = "You're welcome! If you'd rather leave the order check here, just say so."
SERVICE_DOWN_TEXT = (
    "Sorry, I can't reach our order system right now. Please try again in a few minutes, "
    "or contact support@brightbay.example."
)


# What the order check leads to, by the task it runs for ("what happens next?" while it waits).
_AFTER_THE_CHECK = {
    "status": "I'll tell you where the order is and when it should arrive",
    "cancel": "I'll tell you whether it can still be cancelled, and cancel it once you say yes",
    "refund": "I'll tell you whether it can be returned and start the refund once you say yes; we then email you a "
              "return label",
    "refund_status": "I'll tell you where its refund is",
    "change": "I'll tell you what can still be changed",
    "address": "I'll tell you whether its delivery address can still be changed",
}


_QUESTION_SHAPE = re.compile(r"\?|^\s*(?:\w+\s+){0,2}(?:how|what|then)\b", re.IGNORECASE)


def asks_without_topic(text: Text) -> bool:
    """A question with no topic of its own: "how does that work?", "ok what now", "what happens next?"."""
    return bool(text.strip()) and names_no_topic(text) and bool(_QUESTION_SHAPE.search(text))


_NEXT = re.compile(r"\b(?:next|now|then what|after that|process|steps?|procedure|what (?:should|do|can) (?:i|we) do)\b",
                   re.IGNORECASE)


def asks_what_next(text: Text) -> bool:
    """"what happens next?", "ok what now", "and then what", "what's the process?" (not "how does that work?")."""
    return asks_without_topic(text) and bool(_NEXT.search(text))


def said_what_comes_next(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """"what happens next?", "what's the process?", "why?" while the order check waits: what it needs and leads to
    (the form asks its question again after this), and True; False, saying nothing, otherwise."""
    text = ((tracker.latest_message or {}).get("text") or "").strip()
    if (tracker.active_loop or {}).get("name") != "order_form" or not (asks_what_next(text) or asks_why(text)):
        return False
    dispatcher.utter_message(text=next_step_text(tracker))
    return True


def next_step_text(tracker: Tracker) -> Text:
    """What happens next while the order check waits for an answer: what it needs, and what comes after it."""
    after = _AFTER_THE_CHECK.get(tracker.get_slot(TASK_SLOT) or "", "I'll help with what you asked")
    needed = ("its order number" if not tracker.get_slot(ORDER_ID_SLOT)
              else "the email address or ZIP code on the order")
    return f"First I need to check that the order is yours, so I need {needed}. Then {after}."


def failures(tracker: Tracker) -> int:
    return int(tracker.get_slot(FAILURES_SLOT) or 0)


def _answer_hint(requested: Text, message: Dict[Text, Any]) -> Text:
    """What to say when a reply to the form's question holds no usable value."""
    text = message.get("text") or ""
    if message.get(MESSAGE_PROBLEM) in PROBLEM_TEXT:
        return PROBLEM_TEXT[message[MESSAGE_PROBLEM]]
    if ((message.get("intent") or {}).get("name")) == "thank_you" and not has_digits(text):
        # "ok thanks" after an answer given while the check waits: not a wrong answer, the form's question follows.
        return THANKS_WHILE_ASKING_TEXT
    if requested == ORDER_ID_SLOT:
        if _ASKS_LOOKUP_BY_IDENTITY.search(text):
            return lookup_refused_text(text)
        if has_long_number(text):
            return "That number is too long for an order number. Brightbay order numbers have 5 digits, like 10001."
        if has_digits(text):
            return "That doesn't look like an order number. Brightbay order numbers have 5 digits, like 10001."
        return "I couldn't find an order number in that. It's the 5-digit number in your confirmation email, like 10001."
    return "I need the email address or the 5-digit ZIP code on the order, for example name@example.com or 94110."


def forget_pending_change(tracker: Tracker) -> List[EventType]:
    """A cancellation or refund waiting for a yes was asked about the previous order: a "yes" now
    must not change the order just named ("refund 10003" ... "where is 10001?" ... "yes")."""
    return [SlotSet(PENDING_SLOT, None)] if tracker.get_slot(PENDING_SLOT) else []


async def single_product_named(catalog: ProductCatalog, text: Text) -> Optional[Text]:
    """The name of the one catalogue product ``text`` names, or None (none, several, or the catalogue unreadable)."""
    try:
        match = await asyncio.to_thread(catalog.find, text)
    except Exception:
        logger.exception("catalogue lookup failed")
        return None
    return match.products[0].name if match is not None and len(match.products) == 1 else None


class ValidateOrderForm(FormValidationAction):
    """Reads the order number and email/ZIP from each answer and checks them together."""

    def __init__(self, service: Optional[OrderService] = None, catalog: Optional[ProductCatalog] = None) -> None:
        self._service = service or OrderService()
        self._catalog = catalog or shared_catalog(self._service.session_factory)

    def name(self) -> Text:
        return "validate_order_form"

    async def _item_named(self, text: Text, task: Optional[Text]) -> Optional[Text]:
        """The catalogue product a statement about the order names ("it was the water bottle", "the tv"), as the
        catalogue spells it, or None: for a question ("is the bottle dishwasher safe?"), a damage report (the
        complaint's answer), a message asking for another task ("the kettle hasn't arrived" while a return
        waits), a long message, or no single product named."""
        if (is_question(text) or says_item_damaged(text) or len(text.split()) > _MAX_DETAIL_WORDS
                or task_in(text) not in (None, task)):
            return None
        return await single_product_named(self._catalog, text)

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        if failures(tracker) >= MAX_FAILURES:
            # Stop asking; the order action explains and offers a person.
            return [SlotSet(REQUESTED_SLOT, None)]
        requested = tracker.get_slot(REQUESTED_SLOT)
        message = tracker.latest_message or {}
        text = answer_to_number_or_zip(tracker) or yes_to_the_order_suggested(tracker) or message.get("text") or ""
        if unclear_number_after_failure(tracker):
            # Asked by action_ask_order_id, which the form runs next; not a failed check.
            return [SlotSet(ORDER_ID_SLOT, None)]
        extracted = order_values_in(text, requested)
        if requested != IDENTITY_SLOT and has_street_address(text) and str(extracted.get(IDENTITY_SLOT, "@")).isdigit():
            # "it's 55 Oak Lane, Portland OR 97201" (a new delivery address) is not the order's ZIP code unless the
            # form asked for it (seen in a chat: checked against order 10001, a failed check).
            del extracted[IDENTITY_SLOT]
        corrected = _with_value_tried_before(tracker, requested, extracted)
        retried = corrected != extracted
        extracted = corrected
        if requested == ORDER_ID_SLOT and ORDER_ID_SLOT not in extracted and says_no_order_number(text):
            # Whatever the intent ("where do I find it?" reads as track_order, "i can't find it" as out_of_scope):
            # help them find it and keep waiting for it, with an email or ZIP code they gave kept.
            # Seen in a chat: after a gift's return asked for, it got where to find one's own order confirmation.
            gift = says_received_as_gift(latest_request(tracker, "get_refund"))
            dispatcher.utter_message(text=GIFT_NO_NUMBER_TEXT if gift else FIND_ORDER_NUMBER_TEXT,
                                     buttons=OFFER_HUMAN_BUTTONS)
            # Read as track_order, the question set the task to a status check: the return asked for goes on.
            return ([SlotSet(slot, value) for slot, value in extracted.items()] + [SlotSet(ORDER_ID_SLOT, None)]
                    + _task_kept(tracker))
        if requested in (ORDER_ID_SLOT, IDENTITY_SLOT) and not extracted:
            detail = await self._item_named(text, task_before_latest_message(tracker) or tracker.get_slot(TASK_SLOT))
            if detail:
                # Seen in a chat: "it was the water bottle" after "i want to return something" read as a complaint
                # (an apology, the number asked again) and the refund then offered the whole order. The order action
                # reads it with the request (``REQUEST_DETAIL``): that item's refund, or "I don't see that item".
                dispatcher.utter_message(text=f"Got it: the {detail}.", **{REQUEST_DETAIL: True})
                return [SlotSet(requested, None)] + _task_kept(tracker)
        # The form can start with both values known: kept from an earlier check, or given before the customer
        # said what they wanted ("10001" ... "alice@example.com" ... "where is it?") and so not yet checked.
        # They are checked now, so a wrong pair counts as a failed check and is asked again.
        starts_with_both = requested is None and tracker.get_slot(ORDER_ID_SLOT) and tracker.get_slot(IDENTITY_SLOT)
        if not extracted and not starts_with_both:
            intent = (message.get("intent") or {}).get("name")
            if intent == "nlu_fallback" and asks_without_topic(text):
                return []  # "how does that work?" read as unsure: a question for the help center, not an answer
            if requested and intent == "deny" and asked_to_connect(tracker) and not _STOPS_THE_CHECK.search(text):
                # Seen in a chat: "no thanks" to the offer of an agent that the complaint's reply made while a return's
                # check waited stopped the check, and the order number given next lost the return.
                dispatcher.utter_message(text=NO_AGENT_TEXT)
                return [SlotSet(requested, None)]
            if requested and asks_why(text):
                # "why?" to "What's your order number?" (read as affirm at 0.73): why the check needs it.
                dispatcher.utter_message(text=next_step_text(tracker))
                return [SlotSet(requested, None)]
            if requested and intent in ANSWER_INTENTS:
                if requested != ORDER_ID_SLOT or not self_service_text(tracker):
                    # ("ok how do i return it then" is no failed answer: action_ask_order_id says how, and asks.)
                    dispatcher.utter_message(text=_answer_hint(requested, message))
                return [SlotSet(requested, None)]
            return []  # a digression: the form is rejected and a rule answers it

        order_id = extracted.get(ORDER_ID_SLOT, tracker.get_slot(ORDER_ID_SLOT))
        identity = extracted.get(IDENTITY_SLOT, tracker.get_slot(IDENTITY_SLOT))
        # An answer to the form's question read as another request ("found it, 10003" as track_order) doesn't
        # change what was asked for, unless it asks for it in words ("10003, where is it?"). A request that starts
        # the form (nothing asked yet) sets the task itself.
        answers_the_form = requested is not None and bool(extracted)
        kept = _task_kept(tracker) if answers_the_form and not _asks_for_task(text, tracker.get_slot(TASK_SLOT)) else []
        if order_id and identity:
            try:
                order = await asyncio.to_thread(self._service.verify, int(order_id), identity)
            except Exception:
                # Not the customer's failure: keep the values unverified. The order action
                # checks them again and tells the customer if the order system is down.
                logger.exception("order check failed to run in conversation %s", tracker.sender_id)
                return [SlotSet(slot, value) for slot, value in extracted.items()] + kept
            if order is None and self._identity_of_another_order(tracker, extracted):
                # "where is 10001?" ... "and order 10002?": the email checked for 10001 doesn't fit 10002, which
                # the customer never claimed. Not a failed check: the form asks for 10002's email or ZIP code,
                # with the question it asks for an unknown order too, so nothing tells whether 10002 exists.
                return [SlotSet(ORDER_ID_SLOT, order_id), SlotSet(IDENTITY_SLOT, None)] + forget_pending_change(tracker) + kept
            if order is None:
                failed = self._failed_check(dispatcher, tracker, {ORDER_ID_SLOT: order_id, IDENTITY_SLOT: identity}, retried)
                return failed + forget_pending_change(tracker) + kept
        if requested == ORDER_ID_SLOT and not order_id:
            # "it's bob@example.com" to "What's your order number?": kept for the check, and said so, or the
            # question asked again looks like the answer went unread.
            kind = "email address" if "@" in identity else "ZIP code"
            if _ASKS_LOOKUP_BY_IDENTITY.search(text):
                # "can you look it up by my email?": an email or ZIP code alone isn't proof of whose orders they are.
                dispatcher.utter_message(text=lookup_refused_text(text, kept=kind), buttons=OFFER_HUMAN_BUTTONS)
            else:
                dispatcher.utter_message(text=f"Thanks, I'll check the order with that {kind}.")
        events: List[EventType] = [SlotSet(slot, value) for slot, value in extracted.items()]
        if order_id != tracker.get_slot(ORDER_ID_SLOT):
            events += forget_pending_change(tracker)
        if order_id and identity and tracker.get_slot(TRIED_SLOT):
            events.append(SlotSet(TRIED_SLOT, None))  # verified: nothing left to correct
        return events + kept

    @staticmethod
    def _identity_of_another_order(tracker: Tracker, extracted: Dict[Text, Any]) -> bool:
        """The message names a new order and the email or ZIP code is the one kept for the previous order."""
        previous = tracker.get_slot(ORDER_ID_SLOT)
        return bool(previous) and extracted.get(ORDER_ID_SLOT, previous) != previous and IDENTITY_SLOT not in extracted

    @staticmethod
    def _failed_check(
        dispatcher: CollectingDispatcher, tracker: Tracker, tried: Dict[Text, Any], retried: bool = False
    ) -> List[EventType]:
        """Both values cleared and the failure counted; ``tried`` is kept for a correction of one of them,
        ``retried`` says one of them was already such a correction."""
        count = failures(tracker) + 1
        events: List[EventType] = [
            SlotSet(ORDER_ID_SLOT, None),
            SlotSet(IDENTITY_SLOT, None),
            SlotSet(FAILURES_SLOT, float(count)),
        ]
        if count >= MAX_FAILURES:
            events += [SlotSet(REQUESTED_SLOT, None), SlotSet(TRIED_SLOT, None)]
        else:
            events.append(SlotSet(TRIED_SLOT, tried))
            # The same words for an unknown order and a wrong email: the order number shown is the one typed.
            dispatcher.utter_message(
                text=RETRY_NOT_VERIFIED_TEXT.format(order_id=tried[ORDER_ID_SLOT]) if retried else NOT_VERIFIED_TEXT
            )
        logger.info("order check failed (%d of %d) in conversation %s", count, MAX_FAILURES, tracker.sender_id)
        return events


def _with_value_tried_before(tracker: Tracker, requested: Optional[Text], extracted: Dict[Text, Any]) -> Dict[Text, Any]:
    """``extracted`` completed, when it answers the form with one value only after a failed check, with the other
    value of that check ("10002" and "94110" failed, then "bob@example.com": order 10002 with that email)."""
    tried = tracker.get_slot(TRIED_SLOT)
    if not (requested and isinstance(tried, dict) and len(extracted) == 1):
        return extracted
    if tracker.get_slot(ORDER_ID_SLOT) or tracker.get_slot(IDENTITY_SLOT):
        return extracted  # a value given since the failure goes with this one, not the failed pair's
    missing = IDENTITY_SLOT if ORDER_ID_SLOT in extracted else ORDER_ID_SLOT
    return {**extracted, missing: tried[missing]} if tried.get(missing) else extracted


def unclear_number_after_failure(tracker: Tracker) -> Optional[Text]:
    """The 5 digits of a bare number sent to correct a failed check made with a ZIP code ("10002" and "94110"
    failed, then "94107"): it may be the order number or the ZIP code, so the customer is asked which."""
    tried = tracker.get_slot(TRIED_SLOT)
    if not (isinstance(tried, dict) and str(tried.get(IDENTITY_SLOT) or "").isdigit()):
        return None
    if tracker.get_slot(REQUESTED_SLOT) != ORDER_ID_SLOT or tracker.get_slot(ORDER_ID_SLOT) or tracker.get_slot(IDENTITY_SLOT):
        return None
    spans = find_entities((tracker.latest_message or {}).get("text"))
    if len(spans) == 1 and spans[0].entity == ORDER_ID and not spans[0].explicit:
        return spans[0].value
    return None


_NUMBER_OR_ZIP_ASKED = re.compile(re.escape(NUMBER_OR_ZIP_TEXT).replace(re.escape("{number}"), r"(\d{5})"))
_SAYS_ZIP = re.compile(r"\b(?:zip|postal|post ?code|postcode)\b", re.IGNORECASE)
_SAYS_ORDER = re.compile(r"\border\b", re.IGNORECASE)


def yes_to_the_order_suggested(tracker: Tracker) -> Optional[Text]:
    """"yes" typed (not the button) to "Is it order 10002, the one you mentioned?": the message the button would have
    sent ("order 10002"); None for anything else."""
    if ((tracker.latest_message or {}).get("intent") or {}).get("name") != "affirm":
        return None
    if find_entities((tracker.latest_message or {}).get("text")):
        return None
    suggested = previous_reply_metadata(tracker, SUGGESTED_ORDER)
    return f"order {suggested}" if suggested else None


def answer_to_number_or_zip(tracker: Tracker) -> Optional[Text]:
    """"the zip code" typed (not the button) to "Is 10001 the order number or the ZIP code?": the message the
    button would have sent ("zip 10001"); None for anything else."""
    text = (tracker.latest_message or {}).get("text") or ""
    if find_entities(text) or bool(_SAYS_ZIP.search(text)) == bool(_SAYS_ORDER.search(text)):
        return None
    for event in previous_bot_turn(tracker):
        asked = _NUMBER_OR_ZIP_ASKED.fullmatch(event.get("text") or "")
        if asked:
            return f"{'zip' if _SAYS_ZIP.search(text) else 'order'} {asked.group(1)}"
    return None


# "how do i return an item?": a question about how gets what the customer can do themselves before the order
# check starts (seen in a chat: only "What's your order number?", as if the question went unread). Keyed by the
# order task the request starts; the wording follows the help center (data/kb).
SELF_SERVICE_TEXT = {
    "refund": 'You can start a return yourself under Account > Orders (open the order and choose "Return items"), '
              "or I can start it here and tell you first whether it can still be returned.",
    "cancel": 'You can cancel an order yourself under Account > Orders (open it and choose "Cancel order") until it '
              "ships, free of charge, or I can cancel it for you here.",
    "status": "You can see the carrier and tracking number under Account > Orders, or I can look it up for you here.",
    "refund_status": 'You can see it under Account > Orders (open the order and look for "Refund status"), or I can '
                     "check it for you here.",
}
# Seen in a chat: "hey can i swap the lamp for a different color" got only "What's your order number?".
# data/kb/returns.md, "Returning a gift".
GIFT_RETURN_TEXT = (
    "An item you received as a gift can be returned within 30 days of delivery (15 days for opened electronics): "
    "start the return from the gift receipt link in the gift message email, or ask the person who sent it to start it "
    "under Account > Orders. The refund comes as a Brightbay gift card in your name, so the sender isn't told. If you "
    "have the order number, I can check the order for you."
)
EXCHANGE_TEXT = ("We don't swap items directly: to exchange an item, return it for a refund and place a new order for "
                 "the one you want, which ships right away. I can start the return here and tell you first whether it "
                 "can still be returned.")
_TASK_OF_INTENT = {"get_refund": "refund", "cancel_order": "cancel", "track_order": "status", "track_refund": "refund_status"}
_ASKS_HOW = re.compile(
    r"\b(?:how (?:do|can|could|would|should|will) (?:i|we)|what(?:'s| is) the (?:way|process) to|where (?:do|can) i)\b",
    re.IGNORECASE,
)


def asks_how_to(text: Optional[Text]) -> bool:
    """"how do i return it", "what's the way to cancel", "where can i send it": asks for the steps."""
    return bool(text and _ASKS_HOW.search(text))


def _asked_before(tracker: Tracker) -> bool:
    """An earlier message of this session has the latest message's intent."""
    intents = [((e.get("parse_data") or {}).get("intent") or {}).get("name") for e in user_messages(tracker)]
    return len(intents) > 1 and intents[-1] in intents[:-1]


def self_service_text(tracker: Tracker) -> Optional[Text]:
    """What the customer can do themselves, when the request that started the order check asked how to do it;
    for a swap ("can i swap the lamp for a different color"), that a swap is a return and a new order."""
    message = tracker.latest_message or {}
    text = message.get("text") or ""
    task = _TASK_OF_INTENT.get((message.get("intent") or {}).get("name"))
    if task is None or task != tracker.get_slot(TASK_SLOT):
        return None
    if task == "refund" and asks_for_exchange(text):
        return EXCHANGE_TEXT
    if task == "refund" and says_received_as_gift(text):
        # Seen in a chat: "i got a gift from brightbay and want to return it" was asked for the order number, which
        # the sender has, then "i don't have the order number" got where to find it in one's own emails.
        return GIFT_RETURN_TEXT
    return SELF_SERVICE_TEXT[task] if _ASKS_HOW.search(text) else None


class ActionAskOrderId(Action):
    """The order form's question for the order number; after a failed check, how to correct one value."""

    def name(self) -> Text:
        return "action_ask_order_id"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        number = unclear_number_after_failure(tracker)
        if number:
            # Payloads sent as text, worded so that the form reads each one way only.
            dispatcher.utter_message(text=NUMBER_OR_ZIP_TEXT.format(number=number), buttons=[
                {"title": "Order number", "payload": f"order {number}"},
                {"title": "ZIP code", "payload": f"zip {number}"},
            ])
        elif isinstance(tracker.get_slot(TRIED_SLOT), dict):
            dispatcher.utter_message(text=CORRECTION_TEXT)
        elif (says_no_order_number((tracker.latest_message or {}).get("text"))
              and says_received_as_gift(latest_request(tracker, "get_refund"))):
            # Right after GIFT_NO_NUMBER_TEXT: the number, if it comes, still gets the order checked; not asked as if
            # the customer had it.
            dispatcher.utter_message(text=GIFT_NUMBER_LATER_TEXT)
        else:
            preface = self_service_text(tracker)
            if preface:
                # The request asked again while its number is asked for ("ok how do i return it then" after "can i
                # swap the lamp for a different color"): a detail of it, so the lamp and the swap still count.
                restated = tracker.get_slot(REQUESTED_SLOT) == ORDER_ID_SLOT and _asked_before(tracker)
                dispatcher.utter_message(text=preface, **({REQUEST_DETAIL: True} if restated else {}))
            earlier = order_named_earlier(tracker)
            if earlier:
                # Seen in a chat: "can i still cancel it?" after an agent handed back a conversation about order
                # 10002 got "What's your order number?", as if it had never been named. (Asked, not assumed: the
                # customer may mean another order.)
                dispatcher.utter_message(text=ORDER_NAMED_EARLIER_TEXT.format(order_id=earlier), buttons=[
                    {"title": f"Yes, order {earlier}", "payload": f"order {earlier}"}], **{SUGGESTED_ORDER: earlier})
            else:
                dispatcher.utter_message(response="utter_ask_order_id")
        return []


async def conversation_order(tracker: Tracker, service: OrderService) -> Optional[OrderSummary]:
    """The order verified in this conversation (its number and email or ZIP code checked again), or None when
    there is none or the order system can't be read (logged; the caller answers without it)."""
    order_id, identity = tracker.get_slot(ORDER_ID_SLOT), tracker.get_slot(IDENTITY_SLOT)
    if not (order_id and identity):
        return None
    try:
        return await asyncio.to_thread(service.verify, int(order_id), identity)
    except Exception:
        logger.exception("order lookup failed in conversation %s", tracker.sender_id)
        return None


class VerifiedOrderAction(Action, abc.ABC):
    """An action on the order the customer verified in this conversation.

    The identity is checked again by the service on every call, so a slot that was
    tampered with never reaches someone else's order.
    """

    # The order task the action starts ("status", "cancel", "refund", "refund_status"; None for the others): other
    # orders named in the same request are given it when their words don't say (actions/several_orders.py).
    task: Optional[Text] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "task" in cls.__dict__ and cls.task:
            TASK_STARTERS[cls.task] = cls

    def __init__(self, service: Optional[OrderService] = None, catalog: Optional[ProductCatalog] = None) -> None:
        self._service = service or OrderService()
        # For requests that name a product ("cancel the jacket i ordered"): the process's one catalogue.
        self._catalog = catalog or shared_catalog(self._service.session_factory)

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        order_id = tracker.get_slot(ORDER_ID_SLOT)
        identity = tracker.get_slot(IDENTITY_SLOT)
        try:
            order = await asyncio.to_thread(self._service.verify, int(order_id), identity) if order_id and identity else None
            if order is None:
                if failures(tracker) >= MAX_FAILURES:
                    dispatcher.utter_message(text=LOCKED_TEXT, buttons=OFFER_HUMAN_BUTTONS)
                else:
                    dispatcher.utter_message(text=NOT_VERIFIED_TEXT)
                return []
            own_task = task_named_for(tracker, str(order.order_id)) if self.task else None
            if own_task and own_task != self.task:
                # "cancel 10001 and refund 10003" read as a refund request: 10001 is cancelled, 10003 refunded.
                return await run_task(own_task, str(order.order_id), self._service, dispatcher, tracker, domain, [])
            events = await self.act(dispatcher, tracker, order, identity)
        except Exception:  # a customer never sees a traceback
            logger.exception("action %s failed in conversation %s", self.name(), tracker.sender_id)
            dispatcher.utter_message(text=SERVICE_DOWN_TEXT)
            return []
        try:
            # "cancel order 10002 and refund 10003": the request's other orders follow this one.
            return await continue_with_other_orders(
                self._service, dispatcher, tracker, domain, events, str(order.order_id), self.task, identity
            )
        except Exception:  # this order's work stands (a cancellation done is kept); the others aren't done
            logger.exception("the other orders of the request failed in conversation %s", tracker.sender_id)
            dispatcher.utter_message(text=SERVICE_DOWN_TEXT)
            return events

    @abc.abstractmethod
    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, order: OrderSummary, identity: Text
    ) -> List[EventType]:
        """Do the action's work on the verified order."""


class ActionStopOrderForm(Action):
    """Says the order check stopped ("no", "never mind"); when the "no" was to the order-number question
    and says they don't have it ("I forgot it", "no idea"), it says where to find it instead."""

    def name(self) -> Text:
        return "action_stop_order_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        text = (tracker.latest_message or {}).get("text") or ""
        if last_requested_slot(tracker) == ORDER_ID_SLOT and says_no_order_number(text):
            dispatcher.utter_message(text=FIND_ORDER_NUMBER_TEXT + " When you have it, just send it to me.",
                                     buttons=OFFER_HUMAN_BUTTONS)
        else:
            dispatcher.utter_message(text=STOPPED_TEXT)
            if tracker.get_slot(TRIED_SLOT):
                return [SlotSet(TRIED_SLOT, None)]  # a later check starts afresh
        return []


def last_requested_slot(tracker: Tracker) -> Optional[Text]:
    """The slot the form asked for last (the rule that stops the form has already cleared requested_slot)."""
    for event in reversed(tracker.events or []):
        if event.get("event") == "slot" and event.get("name") == REQUESTED_SLOT and event.get("value"):
            return event["value"]
    return None


def order_named_earlier(tracker: Tracker) -> Optional[Text]:
    """The order number ("order 10004", "#10004") in the customer's latest earlier message of this session
    that names one, or None."""
    users = user_messages(tracker)[:-1]
    for event in reversed(users):
        numbers = [s.value for s in find_entities(event.get("text") or "") if s.entity == ORDER_ID and s.explicit]
        if numbers:
            return numbers[0]
    return None


def order_values_typed(tracker: Tracker, bare_digits_as_zip: bool = True) -> Dict[Text, Any]:
    """The order number, email or ZIP code in the latest message.

    With the order number kept and its email or ZIP code missing, a bare 5-digit answer ("94110") is the ZIP
    code, as when the order check asks for it, unless ``bare_digits_as_zip`` is False (the question asked
    was about the order); "order 10002" names another order either way.
    """
    waiting = bare_digits_as_zip and tracker.get_slot(ORDER_ID_SLOT) and not tracker.get_slot(IDENTITY_SLOT)
    return order_values_in((tracker.latest_message or {}).get("text") or "", IDENTITY_SLOT if waiting else None)


def with_order_named_earlier(tracker: Tracker, typed: Dict[Text, Any]) -> Dict[Text, Any]:
    """``typed`` with, for an email or ZIP code given alone and no order kept, the order named earlier
    ("carol@example.com" after "my order 10004 arrived with a cracked tank")."""
    if IDENTITY_SLOT in typed and ORDER_ID_SLOT not in typed and not tracker.get_slot(ORDER_ID_SLOT):
        earlier = order_named_earlier(tracker)
        if earlier:
            return {ORDER_ID_SLOT: earlier, **typed}
    return typed


def keep_order_values(tracker: Tracker, given: Dict[Text, Any]) -> List[EventType]:
    """Slot events keeping ``given`` for the order check. Another order's number drops the previous order's
    email or ZIP code (not assumed to fit it) and a change waiting for a yes (it was about the previous order)."""
    events: List[EventType] = [SlotSet(slot, value) for slot, value in given.items()]
    order_id = given.get(ORDER_ID_SLOT)
    if order_id and order_id != tracker.get_slot(ORDER_ID_SLOT):
        if IDENTITY_SLOT not in given and tracker.get_slot(IDENTITY_SLOT):
            events.append(SlotSet(IDENTITY_SLOT, None))
        events += forget_pending_change(tracker)
    return events


def _asks_for_task(text: Text, task: Optional[Text]) -> bool:
    words = TASK_WORDS.get(task or "")
    return bool(words and words.search(text))


def _task_kept(tracker: Tracker) -> List[EventType]:
    """The task asked for before the latest message, set again when that message's intent changed it."""
    task = task_before_latest_message(tracker)
    return [SlotSet(TASK_SLOT, task)] if task and task != tracker.get_slot(TASK_SLOT) else []


def task_before_latest_message(tracker: Tracker) -> Optional[Text]:
    """The order task as it was before the customer's latest message (whose intent may have changed it)."""
    task, before = None, None
    for event in session_events(tracker):
        if event.get("event") == "user":
            before = task
        elif event.get("event") == "slot" and event.get("name") == TASK_SLOT:
            task = event.get("value")
    return before


# A detail given while the offer of an agent waits: for the agent, not a new request.
AGENT_WILL_SEE_TEXT = "Thanks, the agent will see {what} in the summary I pass on. Shall I connect you now?"


def _button_payloads(tracker: Tracker) -> List[Set[Text]]:
    """The button payloads of each message of the bot's reply to the message before this one."""
    return [{str(b.get("payload") or "") for b in (event.get("data") or {}).get("buttons") or []}
            for event in previous_bot_turn(tracker)]


def asked_to_connect(tracker: Tracker) -> bool:
    """Whether the bot's reply to the message before this one asked "Would you like me to connect you with an
    agent?" (yes / no buttons; a "Talk to a person" button alone offers one in passing)."""
    return any("/contact_human_agent" in payloads and "/deny" in payloads for payloads in _button_payloads(tracker))


def offered_a_person(tracker: Tracker) -> bool:
    """Whether the bot's reply to the message before this one offered a person, with a question or in passing."""
    return any("/contact_human_agent" in payloads for payloads in _button_payloads(tracker))


def awaited_order_task(tracker: Tracker) -> Optional[Text]:
    """The order task whose reply just asked for another order's number (``AWAITS_ORDER_NUMBER`` in its
    message's metadata), or None."""
    task = previous_reply_metadata(tracker, AWAITS_ORDER_NUMBER)
    return str(task) if task else None


def order_values_kept(tracker: Tracker, bare_digits_as_zip: bool = True) -> List[EventType]:
    """Slot events keeping the order number, email or ZIP code of the latest message ("10001",
    "alice@example.com") for the order check (see the three functions above)."""
    typed = order_values_typed(tracker, bare_digits_as_zip)
    return keep_order_values(tracker, with_order_named_earlier(tracker, typed))


async def with_identity_if_it_fits(service: OrderService, tracker: Tracker, given: Dict[Text, Any]) -> Dict[Text, Any]:
    """``given`` with the email or ZIP code kept from the previous order's check, when ``given`` names another
    order alone and that email or ZIP code fits it too ("10003" after alice@example.com was checked for 10001),
    so the customer isn't asked it again. When it doesn't fit, ``given`` unchanged: the check asks for that
    order's own, in the words it uses for any order, so nothing tells whether the order exists."""
    order_id, kept = given.get(ORDER_ID_SLOT), tracker.get_slot(IDENTITY_SLOT)
    if not (order_id and kept) or IDENTITY_SLOT in given or order_id == tracker.get_slot(ORDER_ID_SLOT):
        return given
    try:
        fits = await asyncio.to_thread(service.verify, int(order_id), kept) is not None
    except Exception:
        logger.exception("order check failed to run in conversation %s", tracker.sender_id)
        return given
    return {**given, IDENTITY_SLOT: kept} if fits else given


class ActionAskOrderTask(Action):
    """An order number, email or ZIP code on its own ("10001"): kept for the order check, which asks only for
    what is still missing once the customer says what they want, and checks the pair then. Another order's
    number keeps the email or ZIP code already checked when it fits that order too."""

    def __init__(self, service: Optional[OrderService] = None) -> None:
        self._service = service or OrderService()

    def name(self) -> Text:
        return "action_ask_order_task"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        typed = await with_identity_if_it_fits(self._service, tracker, order_values_typed(tracker))
        task = awaited_order_task(tracker)
        if task and ORDER_ID_SLOT in typed:
            # "oh sorry, it was order 10001" to "If it came in another order, tell me that order's number": the
            # task goes on with that order; the form asks for its email or ZIP code.
            return keep_order_values(tracker, typed) + [SlotSet(TASK_SLOT, task), FollowupAction("order_form")]
        if has_street_address((tracker.latest_message or {}).get("text")):
            # "123 New Street, Springfield, IL 62704": a new delivery address, which only the account (or an agent)
            # can set; its ZIP code is not the customer's to check the order with.
            dispatcher.utter_message(response="utter_address_not_changed_here")
            return keep_order_values(tracker, {k: v for k, v in typed.items() if k == ORDER_ID_SLOT})
        given = with_order_named_earlier(tracker, typed)
        order_id = given.get(ORDER_ID_SLOT) or tracker.get_slot(ORDER_ID_SLOT)
        if typed and asked_to_connect(tracker):
            # "10001" right after "Would you like me to connect you with an agent?" about a double charge: the
            # number is for the agent, not a new request (it was asked what to do with the order).
            # "carol@example.com" after the number: said as well (the same sentence again read as unread).
            earlier = None if tracker.get_slot(ORDER_ID_SLOT) else order_named_earlier(tracker)
            as_zip = order_values_in((tracker.latest_message or {}).get("text") or "", IDENTITY_SLOT)
            if earlier and set(typed) == {ORDER_ID_SLOT} and as_zip.get(IDENTITY_SLOT) == typed[ORDER_ID_SLOT]:
                # Seen in a chat: "94110" after "i need an invoice for order 10003" and the offer of an agent got "the
                # agent will see order 94110": a bare number after an order named is its ZIP code.
                order_id = earlier
                typed = given = {ORDER_ID_SLOT: earlier, **as_zip}
            said = [f"order {order_id}"] if order_id else []
            if IDENTITY_SLOT in typed:
                said.append("your email address" if "@" in str(typed[IDENTITY_SLOT]) else "your ZIP code")
            what = " and ".join(said) or "that"
            dispatcher.utter_message(text=AGENT_WILL_SEE_TEXT.format(what=what), buttons=CONNECT_BUTTONS)
            return keep_order_values(tracker, given)
        # "alice@example.com" after "10003": said so, or the same question again looks like it went unread.
        thanks = "Thanks. " if IDENTITY_SLOT in typed and ORDER_ID_SLOT not in typed and order_id else ""
        dispatcher.utter_message(
            response="utter_what_to_do_with_order", order=f"order {order_id}" if order_id else "your order",
            thanks=thanks,
        )
        return keep_order_values(tracker, given)
