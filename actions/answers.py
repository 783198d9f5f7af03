"""Answers to information questions from Brightbay's help center, with the source article, or an honest "I don't know".

The knowledge source and the answerer are injected (tests pass fakes); by default the help-center
index is loaded once per process on first use (rebuilt only when data/kb changed), and the answerer
is the LLM one when an endpoint is configured, else the extractive one. Messages the NLU could not
read at all (empty, emoji only, too long) get action_fallback's clear replies instead.
"""
from __future__ import annotations

import asyncio
import logging
import re
import threading
from dataclasses import replace
from datetime import date, timedelta
from typing import List, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.card_declines import said_method_is_accepted
from actions.changes import said_checked_orders_address_change
from actions.complaints import (ActionAnswerComplaint, policy_reply_just_given, said_how_to_speed_up, said_we_cant_send_items,
                                says_not_received)
from actions.confirmation import CONFIRM_BUTTONS, PENDING_SLOT, asks_if_in_time, in_time_text, still_waiting_question
from actions.fallback import AGENT_CAN_DO_IT_TEXT, CAPABILITIES, CONNECT_BUTTONS, OFFER_HUMAN_BUTTONS, PROBLEM_TEXT
from actions.order_status import said_checked_orders_carrier, said_what_if_it_is_late, said_why_it_takes_this_long
from actions.products import (BUY_ON_PAGE_TEXT, PRODUCT_DETAILS_TEXT, CatalogueReplies, catalogue_pages_before,
                             said_order_disputed)
from actions.refunds import (offer_to_return_items_named, offered_other_items_while_a_refund_waits,
                             said_cancelled_orders_money, said_waiting_refunds_amount)
from actions.session import TASK_SLOT, previous_bot_turn, recent_bot_turns, session_events, user_messages
from actions.several_orders import ACTION_LISTEN
from actions.verification import (asks_what_next, conversation_order, offered_a_person, order_values_kept,
                                  said_what_comes_next)
from bot.catalog import STORE_URL, ProductCatalog, asks_about_products, asks_details, shared_catalog
from bot.dates import date_said
from bot.formatting import day
from bot.kb.answer import Answer, narrowed, split_sentences, without_sentences_said
from bot.kb.grounded import ExtractiveAnswerer, LLMAnswerer
from bot.kb.source import (OTHER_STORE_QUESTION, ItemWords, KnowledgeSource, LocalKnowledgeSource, names_no_topic, only_asks,
                            other_store_price_wording, store_named, topic_turns, with_preferred_articles)
from bot.llm import LLMSettings
from bot.nlu.message_guard import MESSAGE_PROBLEM
from bot.orders import OPENED_ELECTRONICS_WINDOW_DAYS, OrderService
from bot.parsing import (asks_if_order_is_refundable, asks_us_to_act, asks_why, asks_why_you_cant, has_street_address,
                         is_question, says_support_does_it)

logger = logging.getLogger(__name__)

HISTORY_TURNS = 2  # earlier user messages used for follow-ups ("and for express?")
# Messages that name no topic: an order number or email given to a form, "yes", "hi", "thanks". A follow-up
# after them ("how much is the fee?" after "cancel my order", "10002", "bob@example.com") leans on the
# message before them.
NO_TOPIC_INTENTS = frozenset({"inform", "affirm", "deny", "greet", "goodbye", "thank_you"})
CONVERSATION_TURNS = 4  # user and bot messages shown to the LLM
OUT_OF_SCOPE_TEXT = (
    f"Sorry, that's outside what I can help with, and I found nothing about it in our help center. {CAPABILITIES} "
    "If you'd like, I can connect you with one of our support agents."
)
NOT_UNDERSTOOD_TEXT = (
    f"Sorry, I didn't quite understand that, and I found nothing about it in our help center. {CAPABILITIES} "
    "If you'd like, I can connect you with one of our support agents."
)
# Intents with a reply of their own that may still reach the help center first: place_order always
# ("i want to buy a tent" is far from any passage, but "what does it cost?" after a shipping answer is
# read as place_order), contact_customer_service always ("can i call you" is too short to reach the
# contact passage; the reply then still gives the phone number), the others when FollowUpPolicy sends a follow-up question here ("what about if
# it drops on your own site?" after a price-match answer, read as a complaint). When the help center
# finds nothing, the intent's own response answers instead of "I don't know".
FALLBACK_RESPONSES = {
    "place_order": "utter_place_order",
    "complaint": "utter_complaint",
    "review": "utter_review",
    "change_order": "utter_change_order",
    "payment_issue": "utter_payment_issue",
    "contact_customer_service": "utter_contact_customer_service",
}
# The help-center articles of information intents; when the NLU is sure of one of them (INTENT_SURE), a passage
# of its article that nearly ties with another article's comes first (bot.kb.source.with_preferred_articles).
INTENT_ARTICLES = {
    **dict.fromkeys(("edit_account", "create_account", "delete_account", "switch_account", "recover_password",
                     "registration_problems"), frozenset({"help/account"})),
    **dict.fromkeys(("change_shipping_address", "set_up_shipping_address"), frozenset({"help/addresses"})),
    **dict.fromkeys(("check_invoice", "get_invoice", "newsletter_subscription"), frozenset({"help/invoices-and-emails"})),
    "check_payment_methods": frozenset({"help/payment"}),
    "check_cancellation_fee": frozenset({"help/cancel-order"}),
    **dict.fromkeys(("delivery_options", "delivery_period"), frozenset({"help/shipping"})),
}
INTENT_SURE = 0.9


def ranked_first(message: dict) -> Optional[Text]:
    """The intent the NLU ranked first, also when the message was read as out of scope for its low confidence."""
    ranking = message.get("intent_ranking") or []
    return ranking[0].get("name") if ranking else None


def articles_of_intent(message: dict) -> frozenset:
    """The articles of the message's intent when it was read with at least INTENT_SURE, else none."""
    intent = message.get("intent") or {}
    if float(intent.get("confidence") or 0.0) < INTENT_SURE:
        return frozenset()
    return INTENT_ARTICLES.get(intent.get("name"), frozenset())


NOT_FOUND_WHILE_WAITING = "Sorry, I didn't get that, and I found nothing about it in our help center."
SAME_ANSWER_TEXT = "That's all our help center says about it. If it doesn't help, I can connect you with one of our support agents."
UNAVAILABLE_TEXT = (
    "Sorry, I can't look that up right now. Please try again in a few minutes, "
    "or I can connect you with one of our support agents."
)

# "can you just reset it for me?" answered with what the customer does in their account (seen in a chat: the reset
# steps a third time, as if the assistant had not been asked to do it).
ACCOUNT_INTENTS = frozenset({
    "edit_account", "create_account", "delete_account", "switch_account", "recover_password", "registration_problems",
    "newsletter_subscription", "set_up_shipping_address", "change_shipping_address",
})
ACCOUNT_PAGES = ("/help/account", "/help/addresses", "/help/invoices-and-emails")
DO_IT_YOURSELF_TEXT = "I can't make changes to your account from this chat, but you can do it yourself:"
# Before the order check that answers "does order 10003 qualify for a refund".
CHECK_ELIGIBILITY_TEXT = "Let me check the order: its delivery date and items say whether it can still be returned."
AGENT_CAN_CHECK_ACCOUNT_TEXT = (
    "If that doesn't work, a support agent can look at your account. Would you like me to connect you with one?"
)
# "i got it on the 10th, is it too late?": a delivery date and a question about still being in time.
_DELIVERED_WORDS = re.compile(r"\b(?:got|received|arrived|came|delivered|showed up|turned up)\b", re.IGNORECASE)
_STILL_IN_TIME = re.compile(r"\b(?:can|could|may) i still\b", re.IGNORECASE)
RETURNS_PAGE = "/help/returns"
SUPPORT_IS_HERE_TEXT = "You can reach our support team from here: would you like me to connect you with an agent?"
# An answer whose way to do it is our support team: a sentence that opens with the instruction ("Contact our
# support team with your order number..."), not one that mentions them for a case ("If something on an invoice
# is wrong, ... ask our support team").
_SUPPORT_IS_THE_WAY = re.compile(
    r"^(?:to [^.]*?, )?(?:contact|email|ask|tell|write to|send [^.]{0,60}? to) (?:our support team|support@)",
    re.IGNORECASE,
)
# Asking how to get something done ("how do i claim it", "who do i contact about that"), or saying it is needed
# ("i need an invoice with my company name on it").
_ASKS_HOW_TO = re.compile(
    r"\bhow (?:do|can|should|would) (?:i|we)\b|\bwhat do i (?:need|have) to do\b|\bwhere do i (?:go|send|claim|report)\b"
    r"|\bwho (?:do|should) i (?:contact|ask|talk to|email)\b|^\W*(?:i|we) (?:need|want|would like|'d like)\b",
    re.IGNORECASE,
)
# ...or for the case the customer describes: "If you no longer have access to the email address on your account and
# can't sign in, contact our support team" after "i no longer have access to the old email".
_SUPPORT_FOR_THE_CASE = re.compile(r"^if [^.]*?, (?:contact|email|ask|write to) (?:our support team|support@)", re.IGNORECASE)


def asks_us_to_change_the_account(intent: Optional[Text], question: Text, answer: Answer) -> bool:
    """A request for the assistant to do something in the customer's account that the help center answers with
    what the customer does themselves (not with "contact our support team", which has its own offer)."""
    return (
        intent in ACCOUNT_INTENTS and asks_us_to_act(question) and answer.grounded
        and any(url.endswith(ACCOUNT_PAGES) for _, url in answer.sources) and not says_support_does_it(answer.text)
    )


_default_lock = threading.Lock()
_default_source: Optional[KnowledgeSource] = None


def default_source() -> KnowledgeSource:
    """The local help-center index, loaded (or rebuilt when the articles changed) once per process."""
    global _default_source
    with _default_lock:
        if _default_source is None:
            _default_source = LocalKnowledgeSource.from_directory()
        return _default_source


def default_answerer(settings: Optional[LLMSettings] = None):
    settings = settings or LLMSettings.from_env()
    return LLMAnswerer(settings) if settings.configured else ExtractiveAnswerer()


def earlier_user_messages(tracker: Tracker, turns: int = HISTORY_TURNS) -> List[str]:
    """The user's messages before the latest one in this session that name a topic, oldest first.

    Unreadable messages, button payloads and messages of ``NO_TOPIC_INTENTS`` are left out.
    """
    earlier = user_messages(tracker)[:-1]
    texts = [
        e.get("text") or ""
        for e in earlier
        if not (e.get("parse_data") or {}).get(MESSAGE_PROBLEM)
        and ((e.get("parse_data") or {}).get("intent") or {}).get("name") not in NO_TOPIC_INTENTS
    ]
    # "how does that work?" names no topic either: the turn before it does.
    texts = topic_turns(t for t in texts if t.strip() and not t.startswith("/"))
    return texts[-turns:] if turns else []


def recent_conversation(tracker: Tracker, turns: int = CONVERSATION_TURNS) -> List[Tuple[str, str]]:
    """(role, text) of the last messages before the latest user message, for the LLM."""
    pairs = [
        ("customer" if e["event"] == "user" else "assistant", e.get("text") or "")
        for e in session_events(tracker)
        if e.get("event") in ("user", "bot") and (e.get("text") or "").strip()
    ]
    if pairs and pairs[-1][0] == "customer":
        pairs = pairs[:-1]
    return pairs[-turns:]


def previous_bot_text(tracker: Tracker) -> Optional[str]:
    """The text of the bot's last message before the latest user message in this session."""
    last = recent_conversation(tracker, turns=1)
    return last[0][1] if last and last[0][0] == "assistant" else None


def given_earlier(tracker: Tracker, answer: Answer) -> bool:
    """Whether a bot message of this session, before the customer's latest message, held every sentence of
    ``answer``."""
    events = session_events(tracker)
    latest = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=len(events))
    return bool(answer.sentences) and any(
        e.get("event") == "bot" and all(sentence in (e.get("text") or "") for sentence in answer.sentences)
        for e in events[:latest]
    )


_SOURCE_LINE = re.compile(r"\n\nSource: (.+) \((\S+)\)$")


def answer_just_given(tracker: Tracker) -> Optional[Answer]:
    """The help-center answer of the bot's reply to the customer's previous message, or None. A reply that only said
    why the assistant can't do something (``WHY_I_CANT_TEXT``, ``WHY_TEXT``) leaves the answer before it standing:
    seen in a chat, "ok how long does it take" after "why can't you do it?" about the account-deletion answer
    ("completed within 30 days") was refused."""
    turn = previous_bot_turn(tracker)
    if turn and all(e.get("text") in (WHY_I_CANT_TEXT, WHY_TEXT) for e in turn):
        turn = recent_bot_turns(tracker, 2)
    for event in reversed(turn):
        record = (event.get("metadata") or {}).get("kb_answer") or {}
        source = _SOURCE_LINE.search(event.get("text") or "")
        if record.get("grounded") and source:
            body = (event.get("text") or "")[: source.start()]
            return Answer(event["text"], [(source.group(1), source.group(2))], grounded=True,
                          sentences=tuple(split_sentences(body)))
    return None


def fitted_to_conversation(answer: Answer, question: Text, tracker: Tracker) -> Tuple[Answer, bool]:
    """``answer`` fitted to the reply just given, and whether it repeats that reply.

    - Refused, a question naming nothing ("and how long?" right after the Canada answer, whose passage scored 0.32,
      under the floor) gets the sentence of the kind asked from the help-center reply just given, if it has one.
    - The reply just given again: its sentence that answers a follow-up ("will i lose my order history?" after
      the account-deletion answer), unless that sentence was the whole reply; else a repeat.
    - Partly said just before: only what is new, or the one sentence that answers (``without_sentences_said``).
    """
    if not answer.grounded and only_asks(question):
        given = answer_just_given(tracker)
        answer = (narrowed(given, question) if given else None) or answer
    previous = previous_bot_text(tracker) or ""
    earlier = earlier_user_messages(tracker)
    asked_before = earlier[-1] if earlier else ""
    if not answer.grounded:
        return answer, False
    if answer.text != previous:
        return without_sentences_said(answer, previous, question, asked_before) or answer, False
    focused = narrowed(answer, question, asked_before)
    if focused is not None and focused.text != previous:
        return focused, False
    return answer, True


def return_window_text(question: Text, answer: Answer, today: date, window_days: int,
                       item_words: ItemWords = ItemWords()) -> Optional[Text]:
    """When the return window ends for a delivery date the customer gave ("i got it on the 10th, is it too late?")
    after the returns policy answered them, with the shorter window of opened electronics when the question
    names an electronic item (``item_words``); None for any other question or answer."""
    if not any(url.endswith(RETURNS_PAGE) for _, url in answer.sources):
        return None
    if not (asks_if_in_time(question) or _STILL_IN_TIME.search(question)) or not _DELIVERED_WORDS.search(question):
        return None
    delivered = date_said(question, today)
    if delivered is None:
        return None
    windows = [(window_days, "unused items")]
    if "electronics" in item_words.departments_in(question):
        windows.append((OPENED_ELECTRONICS_WINDOW_DAYS, "opened electronics"))
    sentences, all_closed = [], True
    for days, items in windows:
        ends = delivered + timedelta(days=days)
        left = (ends - today).days
        all_closed = all_closed and left < 0
        if left > 0:
            state = f"ends {day(ends, today)}, so you have {left} day{'s' if left != 1 else ''} left to start the return"
        elif left == 0:
            state = "ends today, so today is the last day to start the return"
        else:
            state = f"ended {day(ends, today)}"
        sentences.append(f"the {days}-day window for {items} {state}")
    text = f"If it was delivered {day(delivered, today)}, " + "; ".join(sentences) + "."
    if all_closed:
        text += " If the item is faulty, the warranty may still cover it."
    return text


# "why?" with nothing to search for: the assistant has no reasons beyond what it said.
WHY_TEXT = (
    "I can only tell you what our help center and your order's records say, so I can't explain more than that. A "
    "support agent can. Would you like me to connect you with one?"
)
# "why can't you do it?": what the assistant can do, and why other changes need the customer or a person.
WHY_I_CANT_TEXT = (
    "I'm an automated assistant: I can check an order and cancel it or start its refund once its order number and "
    "email or ZIP code match, and answer from our help center. Other changes, such as those to your account, need "
    "you signed in, so that only you can make them, or a support agent who can confirm who you are. Would you like "
    "me to connect you with one?"
)
# "what now?" right after a reply that offered a person: that person is the next step.
NEXT_IS_A_PERSON_TEXT = (
    "From here, the next step is a support agent, who can look into it with you. Would you like me to connect you "
    "with one?"
)
# Questions about the order this conversation checked, answered from it before the help center is searched. Each
# handler says its answer and returns True, or says nothing; the events follow its answer.
CHECKED_ORDER_ANSWERS = (
    # "can you expedite it?": the order's own answer (the help center's passage on upgrading to Express scores
    # low for "expedite", and the phone-orders passage was given).
    (said_how_to_speed_up, ()),
    # "can i change the delivery address": the rule's offer to check an order would follow; the order checked
    # already answered it.
    (said_checked_orders_address_change, (FollowupAction(ACTION_LISTEN),)),
    (said_checked_orders_carrier, ()),  # "who's the carrier again?"
    (said_why_it_takes_this_long, ()),  # "why?" after the order's status
    (said_what_if_it_is_late, ()),  # "what if it doesn't come by friday?" about an order on its way
    # Seen in a chat: "how long until i see the money?" right after a cancellation got the refund timing of a
    # return ("after the return reaches our warehouse").
    (said_cancelled_orders_money, ()),
)


class ActionAnswerQuestion(Action):
    """Finds help-center passages for the customer's question (and the turns before it) and answers from them."""

    def __init__(self, source: Optional[KnowledgeSource] = None, answerer=None,
                 orders: Optional[OrderService] = None, catalog: Optional[ProductCatalog] = None) -> None:
        self._source = source
        self._answerer = answerer
        self._orders = orders or OrderService()
        self._catalog = catalog or shared_catalog(self._orders.session_factory)
        self._products = CatalogueReplies(self._catalog)
        self._complaints = ActionAnswerComplaint(catalog=self._catalog, orders=self._orders)

    def name(self) -> Text:
        return "action_answer_question"

    def _answerer_for_process(self):
        if self._answerer is None:
            self._answerer = default_answerer()
        return self._answerer

    async def _item_words(self, tracker: Tracker) -> ItemWords:
        """The catalogue's product words, so that "what's the return window for the espresso machine" finds the
        return window; none when the catalogue can't be read (the question is then searched as written)."""
        try:
            return await asyncio.to_thread(self._catalog.item_words)
        except Exception:
            logger.exception("catalogue words unavailable in conversation %s", tracker.sender_id)
            return ItemWords()

    async def _say_if_in_time(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
        """"is it too late?" while a refund of a $650 order waits: the help center has no passage for it (it
        said it didn't get it), the order's own dates answer it."""
        order = await conversation_order(tracker, self._orders)  # None: the help center is searched instead
        text = order and in_time_text(order, tracker.get_slot(PENDING_SLOT), self._orders.today(), self._orders.refund_window_days)
        if text:
            dispatcher.utter_message(text=text)
        return bool(text)

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        message = tracker.latest_message or {}
        problem = message.get(MESSAGE_PROBLEM)
        if problem in PROBLEM_TEXT:
            dispatcher.utter_message(text=PROBLEM_TEXT[problem])
            return []
        if await said_order_disputed(dispatcher, tracker, self._orders, self._catalog):
            return []
        for said, events in CHECKED_ORDER_ANSWERS:
            if await said(dispatcher, tracker, self._orders):
                return list(events)
        intent = (message.get("intent") or {}).get("name")
        question = (message.get("text") or "").strip()
        if intent in ("out_of_scope", "nlu_fallback") and says_not_received(question) and (
                ranked_first(message) in ("complaint", "track_order")):
            # Seen in a chat: "my tv hasn't arrived and it's been 2 weeks", torn between complaint (0.50) and
            # track_order (0.45), fell under the out-of-scope threshold and got the return window ("2 weeks").
            return await self._complaints.run(dispatcher, tracker, domain)
        if (intent == "check_refund_policy" and asks_if_order_is_refundable(question)
                and not (tracker.active_loop or {}).get("name") and not still_waiting_question(tracker)):
            # Seen in a chat: "can you tell me if order 10003 qualifies for a refund" got where to see a refund's
            # status. The order's own dates answer it, and the refund's offer says so.
            dispatcher.utter_message(text=CHECK_ELIGIBILITY_TEXT)
            return [SlotSet(TASK_SLOT, "refund")] + order_values_kept(tracker, bare_digits_as_zip=False) + [
                FollowupAction("order_form")]
        if intent in ("out_of_scope", "nlu_fallback") and has_street_address(question) and "?" not in question:
            # "123 main st, springfield" after being told how to change the delivery address: a new address,
            # which only the account (or an agent) can set. (Seen in a chat: "that's outside what I can help with".)
            dispatcher.utter_message(response="utter_address_not_changed_here")
            return []
        if said_what_comes_next(dispatcher, tracker):
            return []  # "how does that work?" goes to the help center
        if said_method_is_accepted(dispatcher, tracker):
            return []  # "it's a visa" after the reply to a declined payment
        if said_we_cant_send_items(dispatcher, tracker):
            return []  # "no thanks, can you just send the headphones?" after the missing-item policy
        if asks_what_next(question) and offered_a_person(tracker):
            # Seen in a chat: "so what now?" after "I don't see a return or refund for order 10003 ... a support agent
            # can look into it" got where refunds are paid to.
            dispatcher.utter_message(text=NEXT_IS_A_PERSON_TEXT, buttons=CONNECT_BUTTONS)
            return []
        if asks_why_you_cant(question):
            # Seen in a chat: "why can't you do it?" after the account-deletion answer got "that's outside what I can
            # help with".
            dispatcher.utter_message(text=WHY_I_CANT_TEXT, buttons=CONNECT_BUTTONS)
            return []
        if asks_why(question):
            # "why?", "why is that" after an answer names nothing to search for (seen in a chat: "why is that" after
            # the offer of an agent, read as a yes, handed the customer off).
            dispatcher.utter_message(text=WHY_TEXT, buttons=CONNECT_BUTTONS)
            return []
        # "how much is the espresso machine?": the catalogue answers what it names exactly; a partial match
        # ("the sony headphones") only when the help center has nothing ("how much does shipping cost for the tent").
        earlier_pages = catalogue_pages_before(tracker)
        # A cancellation or refund waiting for a yes: asked again after the answer.
        waiting = still_waiting_question(tracker)
        if waiting and ((asks_if_in_time(question) and await self._say_if_in_time(dispatcher, tracker))
                        or await said_waiting_refunds_amount(dispatcher, tracker, self._orders)):
            dispatcher.utter_message(text=waiting, buttons=CONFIRM_BUTTONS)
            return []
        if waiting:
            # "actually can i return both the bottle and the carabiners?" while the bottle's refund waits (seen in a
            # chat: the return steps, then "Shall I still...", whose yes refunded the bottle alone).
            offered = await offered_other_items_while_a_refund_waits(dispatcher, tracker, self._orders)
            if offered is not None:
                return offered
        products = await self._products.match(question, tracker, earlier_pages)
        if products is not None and products.exact:
            if products.whole:
                self._products.say(dispatcher, products, question, earlier_pages, waiting)
                return []
            # "how much is the laptop and does it come with a warranty?": the price, then the help center.
            self._products.say(dispatcher, products, question, earlier_pages)
        if not waiting and products is None:
            try:
                details = await self._products.page_for_details(question)
            except Exception:  # the help center still answers
                logger.exception("catalogue lookup failed in conversation %s", tracker.sender_id)
                details = None
            if details:
                # Seen in a chat: "is the tent waterproof?" got the maker's warranty for outdoor items; "is the
                # espresso machine any good?" got "that's outside what I can help with". The page is recorded as the
                # reply's source, so "how much is it?" next is about that product.
                text, url = details
                dispatcher.utter_message(text=text, buttons=OFFER_HUMAN_BUTTONS, kb_answer={
                    "grounded": True, "sources": [url], "llm_usage": None, "rejected": None})
                return []
        try:
            source = self._source or await asyncio.to_thread(default_source)
            # "wait, will i be charged anything?" while a cancellation waits for a yes is about the cancellation.
            # "i want to buy a tent", "how much is the tent": about the product itself, which the help center
            # has no passage for ("i want to buy an item" would get the guest-checkout sentence).
            about_product = intent == "place_order" or asks_about_products(question)
            item_words = ItemWords() if about_product else await self._item_words(tracker)
            articles = articles_of_intent(message)  # of an intent the NLU is sure of
            history = earlier_user_messages(tracker)
            policy = policy_reply_just_given(tracker) if names_no_topic(question) else None
            if policy:
                # Seen in a chat: "what are my options" right after the damaged-item policy was refused; the
                # customer's own turn ("my espresso machine is leaking water") scored 0.24 against the options.
                history = [policy]
            found = await asyncio.to_thread(
                source.retrieve, question, history, waiting is not None, item_words, articles
            )
            found = with_preferred_articles(found, articles)
            answer: Answer = await self._answerer_for_process().answer(
                found.question(question), found.context, found.hits, recent_conversation(tracker)
            )
        except Exception:  # a customer never sees a traceback
            logger.exception("answering failed in conversation %s", tracker.sender_id)
            dispatcher.utter_message(text=UNAVAILABLE_TEXT, buttons=OFFER_HUMAN_BUTTONS)
            return []
        found_answer = answer
        answer, repeated = fitted_to_conversation(answer, question, tracker)
        earlier = earlier_user_messages(tracker)
        if (found.reworded == OTHER_STORE_QUESTION and earlier and earlier[-1].strip().lower() != question.lower()
                and other_store_price_wording(earlier[-1], earlier[:-1]) == OTHER_STORE_QUESTION):
            # "what about walmart" right after "do you price match amazon?": another store, the same answer, which
            # is the answer, not a sign the first one didn't help (it got "That's all our help center says about
            # it"). The same question again, or a lower price shown after "do you price match?", still gets the offer.
            repeated = False
            store = store_named(question)
            if store:
                # Seen in a chat: the same three sentences again, as if the store named had not been read.
                focused = narrowed(found_answer, OTHER_STORE_QUESTION) or found_answer
                answer = replace(focused, text=f"The same goes for {store}. {focused.text}")
        record = {
            "grounded": answer.grounded,
            "sources": [url for _, url in answer.sources],
            "llm_usage": answer.usage,
            "rejected": answer.rejected,
        }
        # The answer just given, again, to a message with its own reply or none, found with the earlier turns: the
        # help center matched them, not this message ("what about if your courier was rude to me?" after a shipping
        # answer). Found by the message alone ("amazon has it for $550" after "do you price match?"), it stands.
        matched_earlier = repeated and bool(found.context)
        if (answer.grounded and not waiting and asks_us_to_act(question) and says_support_does_it(answer.text)
                and given_earlier(tracker, answer)):
            # Seen in a chat: "can you email it to me" two turns after the invoice answer ("If you'd rather have it
            # emailed, ask our support team") got the whole answer again before the offer: the offer is the reply.
            dispatcher.utter_message(text=AGENT_CAN_DO_IT_TEXT, buttons=CONNECT_BUTTONS)
            return []
        if answer.grounded and not (matched_earlier and intent in (*FALLBACK_RESPONSES, "out_of_scope", "nlu_fallback")):
            do_it_yourself = asks_us_to_change_the_account(intent, question, answer)
            if do_it_yourself:
                dispatcher.utter_message(text=DO_IT_YOURSELF_TEXT)
            dispatcher.utter_message(text=answer.text, kb_answer=record)
            # A question asked while a cancellation or refund waits for a yes: ask for it again.
            if waiting:
                dispatcher.utter_message(text=waiting, buttons=CONFIRM_BUTTONS)
            elif repeated:
                # The same answer twice in a row ("how do i delete my account", then "yes delete it"):
                # it did not do what the customer wanted, so offer the person who can.
                dispatcher.utter_message(text=SAME_ANSWER_TEXT, buttons=OFFER_HUMAN_BUTTONS)
            else:
                window = return_window_text(question, answer, self._orders.today(), self._orders.refund_window_days,
                                            item_words)
                if window:
                    dispatcher.utter_message(text=window)
                # "can i return just the carabiners?" about the order they verified (read as a policy question
                # or out of scope): the policy, then the offer.
                try:
                    events = await offer_to_return_items_named(dispatcher, tracker, self._orders)
                except Exception:  # the answer is given; the offer is a bonus
                    logger.exception("could not offer a return in conversation %s", tracker.sender_id)
                    events = []
                if not events and do_it_yourself:
                    dispatcher.utter_message(text=AGENT_CAN_CHECK_ACCOUNT_TEXT, buttons=CONNECT_BUTTONS)
                elif not events and says_support_does_it(answer.text):
                    if asks_us_to_act(question):
                        # "can you send it to my work email instead" and the help center says our support team
                        # does that: the assistant can't, the person it can connect them with can.
                        dispatcher.utter_message(text=AGENT_CAN_DO_IT_TEXT, buttons=CONNECT_BUTTONS)
                    elif (_ASKS_HOW_TO.search(question) and any(_SUPPORT_IS_THE_WAY.search(x) for x in answer.sentences)) or (
                        not is_question(question)
                        and any(_SUPPORT_FOR_THE_CASE.search(x) or _SUPPORT_IS_THE_WAY.search(x) for x in answer.sentences)
                    ):
                        # "ok so how do i claim it" and the way is "Contact our support team with your order
                        # number...", or "i no longer have access to the old email" and the answer is "If you no
                        # longer have access..., contact our support team": they are one step away.
                        dispatcher.utter_message(text=SUPPORT_IS_HERE_TEXT, buttons=CONNECT_BUTTONS)
                return events
            return []
        if products is not None:
            # The closest items for a name matched in part; nothing more when a clause was answered exactly.
            if not products.exact:
                self._products.say(dispatcher, products, question, earlier_pages, waiting)
            return []
        page = self._products.page_asked_about(question, earlier_pages)
        if intent == "place_order" and page and page != STORE_URL and not asks_details(question):
            # Seen in a chat: "can i buy it here in the chat" after the laptop's page got the cart steps, not that
            # the assistant can't take the order, nor the product's page.
            dispatcher.utter_message(text=BUY_ON_PAGE_TEXT.format(url=page))
            return []
        if intent in FALLBACK_RESPONSES and not (page and asks_details(question)):
            # Nothing found, or only the answer just given ("what about if your courier was rude to me?"
            # after a shipping answer): the intent's own reply is the better one. ("do you have them in size
            # 10?" after a price, read as place_order, is for the product page.)
            dispatcher.utter_message(response=FALLBACK_RESPONSES[intent], kb_answer=record)
            return []
        if page:
            # "is it waterproof?" after the tent's price: the help center has no product details, its page has.
            # The page is the reply's source (as for a details question naming the product), so "ok i'll take it"
            # next is about that product.
            dispatcher.utter_message(text=PRODUCT_DETAILS_TEXT.format(url=page), buttons=OFFER_HUMAN_BUTTONS,
                                     kb_answer={**record, "grounded": True, "sources": [page]})
            return []
        if waiting:
            # "the lamp" to "Shall I go ahead?" (a refund waits): the question again, not the offer of a person,
            # so that the "yes" that follows is read as the answer to it.
            dispatcher.utter_message(text=f"{NOT_FOUND_WHILE_WAITING} {waiting}", buttons=CONFIRM_BUTTONS, kb_answer=record)
            return []
        if matched_earlier and not is_question(question):
            # "but it's not expired" after the sentence on expired codes: the case goes past what the help center
            # says (it found the answer just given again), which is not "outside what I can help with".
            dispatcher.utter_message(text=SAME_ANSWER_TEXT, buttons=OFFER_HUMAN_BUTTONS, kb_answer=record)
            return []
        if intent == "out_of_scope":
            text = OUT_OF_SCOPE_TEXT
        elif intent == "nlu_fallback":
            text = NOT_UNDERSTOOD_TEXT
        else:
            text = answer.text
        dispatcher.utter_message(text=text, buttons=OFFER_HUMAN_BUTTONS, kb_answer=record)
        return []
