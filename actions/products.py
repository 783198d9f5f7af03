"""Product questions answered from the catalogue ("how much is the espresso machine?", "do you sell tents?"),
for action_answer_question: price and product page, which shows stock."""
from __future__ import annotations

import asyncio
import logging
import re
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.confirmation import CONFIRM_BUTTONS
from actions.fallback import AGENT_CAN_DO_IT_TEXT, CONNECT_BUTTONS
from actions.session import previous_bot_turn, user_messages
from actions.verification import AWAITS_ORDER_NUMBER, awaited_order_task, conversation_order
from bot.catalog import (
    STORE_URL,
    CatalogueMatch,
    ProductCatalog,
    asks_about_products,
    asks_details,
    asks_opinion,
    asks_price,
    asks_stock,
    catalogue_answer,
    catalogue_url,
)
from bot.kb.source import is_elliptic
from bot.orders import OrderService, OrderSummary
from bot.parsing import ORDER_ID, asks_us_to_act, find_entities, says_support_does_it, wants_to_buy

logger = logging.getLogger(__name__)

PRODUCT_DETAILS_TEXT = (
    "I only have the price here. The product page ({url}) has the full description and specifications; if it "
    "doesn't answer your question, I can connect you with one of our support agents."
)


DETAILS_PAGE_TEXT = (
    "I don't have the details of the {name} here: its product page ({url}) has the full description and "
    "specifications. If it doesn't answer your question, I can connect you with one of our support agents."
)
OPINION_PAGE_TEXT = (
    "I can't judge products myself, but the product page of the {name} ({url}) has its full description and "
    "specifications. If it doesn't answer your question, I can connect you with one of our support agents."
)


def catalogue_pages_before(tracker: Tracker) -> List[str]:
    """The catalogue pages the bot's turn before the latest user message answered from (in one of its messages:
    a price can be followed by the help center's answer to the rest of the question); empty for none."""
    return [source for e in previous_bot_turn(tracker) for source in answer_sources(e) if source.startswith(STORE_URL)]


def answer_sources(event: Dict[Text, Any]) -> List[str]:
    """The pages the bot message ``event`` answered from (help-center articles, catalogue pages); empty for none."""
    return [str(source) for source in ((event.get("metadata") or {}).get("kb_answer") or {}).get("sources") or []]


async def said_not_in_order(
    dispatcher: CollectingDispatcher, catalog: ProductCatalog, request: Optional[Text], order: OrderSummary, task: Text,
    text: Optional[Text] = None,
) -> bool:
    """When the customer's ``request`` names catalogue products ``order`` doesn't hold ("cancel the jacket i
    ordered" about an order of a TV): says so (``text``, or what the order holds) and that another order's
    number goes on with ``task``, and returns True. False, saying nothing, otherwise."""
    if not request or not await names_products_not_in(catalog, request, order):
        return False
    dispatcher.utter_message(text=text or not_in_order_text(order), **{AWAITS_ORDER_NUMBER: task})
    return True


async def names_products_not_in(catalog: ProductCatalog, text: Text, order: OrderSummary) -> bool:
    """Whether ``text`` names catalogue products none of which is in ``order`` ("the headphones" about the
    order of a water bottle and carabiners). False when the catalogue can't be read: the request goes on."""
    try:
        match = await asyncio.to_thread(catalog.find, text)
    except Exception:
        logger.exception("catalogue lookup failed for order %s", order.order_id)
        return False
    lines = {name for name, _ in order.items}
    return match is not None and not any(product.name in lines for product in match.products)


async def other_order_holding(
    catalog: ProductCatalog, service: OrderService, tracker: Tracker, request: Optional[Text], order: OrderSummary,
    identity: Text,
) -> Optional[OrderSummary]:
    """Another order named in this session that the same email or ZIP code verifies and that holds the products
    ``request`` names, when ``order`` holds none of them; else None. Seen in a chat: "return the water bottle from
    the second one" after the status of 10001 and 10003 was told the bottle isn't in 10001."""
    if not request or not await names_products_not_in(catalog, request, order):
        return None
    named = dict.fromkeys(span.value for event in user_messages(tracker)
                          for span in find_entities(event.get("text")) if span.entity == ORDER_ID)
    for order_id in named:
        if order_id in (str(order.order_id), identity):
            continue
        try:
            other = await asyncio.to_thread(service.verify, int(order_id), identity)
        except Exception:  # the request goes on with the conversation's order
            logger.exception("order check failed for order %s", order_id)
            return None
        if other is not None and not await names_products_not_in(catalog, request, other):
            return other
    return None


def not_in_order_text(order: OrderSummary) -> Text:
    """For a request naming a product the verified order doesn't hold: what the order holds, and how to go on."""
    return (
        f"I don't see that item in order {order.order_id}: it has {'; '.join(name for name, _ in order.items)}. "
        "If it came in another order, tell me that order's number."
    )


# "that's not what i ordered", "but i ordered a tent", "that isn't my order", "i didn't buy those": the customer
# says the order checked doesn't hold what they bought.
_DISPUTES_CONTENTS = re.compile(
    r"\bnot what i (?:ordered|bought|got)\b|\bi (?:ordered|bought) (?:a|an|the|my|some|one)\b"
    r"|\b(?:not|isn'?t|aren'?t) (?:my|the right) (?:order|items?|stuff)\b"
    r"|\b(?:didn'?t|did not|never) (?:order|buy)\b|\bwrong order\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[a-z][a-z-]*")
# Words of a question about a store policy rather than the product itself.
_ASKS_POLICY = re.compile(
    r"\b(?:warrant\w*|guarantee\w*|return\w*|refund\w*|ship\w*|deliver\w*|cancel\w*|exchange\w*|price match)",
    re.IGNORECASE,
)
DISPUTED_CONTENTS_TEXT = (
    "Order {order_id} holds {items}. If you bought {product} in another order, tell me that order's number and "
    "I'll check it. If order {order_id} should have had {product}, a support agent can look into what happened. "
    "Would you like me to connect you with one?"
)


async def said_order_disputed(
    dispatcher: CollectingDispatcher, tracker: Tracker, orders: OrderService, catalog: ProductCatalog
) -> bool:
    """Right after "I don't see that item in order 10001..." (a reply waiting for another order's number), "that's
    not what i ordered, i ordered a tent": what the order holds again, and the two ways on (the other order's
    number, or a person when this order should have held it). Returns True when it said so; False, saying
    nothing, for any other message (one with an order number goes on with that order)."""
    text = (tracker.latest_message or {}).get("text") or ""
    task = awaited_order_task(tracker)
    if not (task and _DISPUTES_CONTENTS.search(text)):
        return False
    if any(e.entity == ORDER_ID for e in find_entities(text)):
        return False
    order = await conversation_order(tracker, orders)
    if order is None:
        return False
    try:
        nouns = (await asyncio.to_thread(catalog.item_words)).nouns
    except Exception:  # the reply says "that item"
        logger.exception("catalogue lookup failed in conversation %s", tracker.sender_id)
        nouns = frozenset()
    # In the customer's word ("the tent", "the tv"): "a sony tv" is not our Brightview TV.
    named = [w for w in _WORD.findall(text.lower()) if w in nouns or w.rstrip("s") in nouns]
    product = f"the {named[-1]}" if named else "that item"
    dispatcher.utter_message(
        text=DISPUTED_CONTENTS_TEXT.format(order_id=order.order_id, items="; ".join(n for n, _ in order.items), product=product),
        buttons=CONNECT_BUTTONS,
        # Another order's number still goes on with the task ("oh wait, it was 10003").
        **{AWAITS_ORDER_NUMBER: task},
    )
    return True


def _asks_what_it_holds(question: Text) -> bool:
    """A price, or stock of the product as it is (not in another size or colour, and not "how much does it
    weigh?", which got the tent's price)."""
    return (asks_price(question) or asks_stock(question)) and not asks_details(question)


class CatalogueReplies:
    """Finds the products a message asks about and says their price; the catalogue is injected. ``earlier_pages``
    is ``catalogue_pages_before`` of the conversation, read once per message by the caller."""

    def __init__(self, catalog: ProductCatalog) -> None:
        self._catalog = catalog

    async def match(self, question: Text, tracker: Tracker, earlier_pages: List[str]) -> Optional[CatalogueMatch]:
        """The catalogue's products for a price or "do you sell" question, or for a follow-up to a catalogue
        answer ("what about the monitor?", or "how much is it?" about the one product it named); None otherwise."""
        if not (asks_about_products(question) or (earlier_pages and is_elliptic(question))):
            return None
        try:
            match = await asyncio.to_thread(self._catalog.find, question)
            if match is None and len(earlier_pages) == 1 and is_elliptic(question) and _asks_what_it_holds(question):
                # "how much is it?", "is it in stock?"; not "is it waterproof?" or "do you have them in size 10?"
                # (the catalogue has no specs: the product page has), nor "can i order them through you?" (the
                # help center says how to order).
                match = await asyncio.to_thread(self._catalog.named_by_url, earlier_pages[0])
            return match
        except Exception:  # the help center still answers
            logger.exception("catalogue lookup failed in conversation %s", tracker.sender_id)
            return None

    async def page_for_details(self, question: Text) -> Optional[Tuple[Text, Text]]:
        """"is the tent waterproof?", "what colors does the jacket come in", "is the espresso machine any good?":
        the reply pointing to the page of the one product a question about its details or worth names (the
        catalogue has prices only, the help center no specifications), with that page's address; or None.
        A policy question about the product ("can i return the tent if it isn't waterproof?") is not one."""
        details, opinion = asks_details(question), asks_opinion(question)
        if not (details or opinion) or _ASKS_POLICY.search(question):
            return None
        match = await asyncio.to_thread(self._catalog.find, question)
        if match is None or len(match.products) != 1:
            return None
        url = catalogue_url(match)
        return (DETAILS_PAGE_TEXT if details else OPINION_PAGE_TEXT).format(name=match.products[0].name, url=url), url

    @staticmethod
    def page_asked_about(question: Text, earlier_pages: List[str]) -> Optional[Text]:
        """The product page a follow-up to a one-product answer is about ("is it waterproof?" after the tent's
        price), or None."""
        one_product = len(earlier_pages) == 1 and earlier_pages[0] != STORE_URL
        return earlier_pages[0] if one_product and is_elliptic(question) else None

    @staticmethod
    def say(dispatcher: CollectingDispatcher, products: CatalogueMatch, question: Text, earlier_pages: List[str],
            waiting: Optional[Text] = None) -> None:
        """The products' prices and page, then the question a change waits on (``waiting``), if any."""
        url = catalogue_url(products)
        # A follow-up to a price answer ("what about the monitor?") asks the price too, and was told where
        # stock is shown.
        price = True if not asks_about_products(question) else None
        # Where stock is shown is said once, unless stock is what was asked ("is it in stock?").
        stock_note = asks_stock(question) or not earlier_pages
        text = catalogue_answer(products, question, price, stock_note=stock_note)
        dispatcher.utter_message(
            text=f"{text}\n\nSource: Brightbay catalogue ({url})",
            kb_answer={"grounded": True, "sources": [url], "llm_usage": None, "rejected": None},
        )
        if waiting:
            dispatcher.utter_message(text=waiting, buttons=CONFIRM_BUTTONS)


# "ok i'll take it" right after a product's price (read as a yes, with nothing waiting for one): the assistant can't
# place orders, the product page can (seen in a chat: "I can track an order, cancel it...").
BUY_ON_PAGE_TEXT = (
    "I can't place orders in this chat, but you can order it on its product page ({url}): add it to your cart and "
    'choose "Checkout".'
)


# The help center's account article: changes the assistant can't make (bot/kb: data/kb/account.md).
ACCOUNT_PAGE = "/help/account"


class ActionYesWithNothingToConfirm(Action):
    """A yes when nothing waits for one: after a product's price, a wish to buy it gets where to order it; after a
    reply saying our support team does something, a request to do it gets the offer of a person; anything else
    gets what the assistant can do."""

    def name(self) -> Text:
        return "action_yes_with_nothing_to_confirm"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        pages = catalogue_pages_before(tracker)
        text = (tracker.latest_message or {}).get("text")
        if len(pages) == 1 and pages[0] != STORE_URL and wants_to_buy(text):
            dispatcher.utter_message(text=BUY_ON_PAGE_TEXT.format(url=pages[0]))
        elif asks_us_to_act(text) and any(
            says_support_does_it(e.get("text")) or any(page.endswith(ACCOUNT_PAGE) for page in answer_sources(e))
            for e in previous_bot_turn(tracker)
        ):
            # Also after the account answer: seen in a chat, "can you do it for me" after how to change one's phone
            # number got what the assistant can do. Account changes are the customer's own, or an agent's.
            # Seen in a chat: "can you do it now please" (read as a yes) after "If both charges have gone through,
            # contact our support team: they ... refund the extra charge" got what the assistant can do.
            dispatcher.utter_message(text=AGENT_CAN_DO_IT_TEXT, buttons=CONNECT_BUTTONS)
        else:
            dispatcher.utter_message(response="utter_capabilities")
        return []
