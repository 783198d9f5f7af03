"""The product catalogue: what Brightbay sells and what it costs, for "how much is the espresso machine?"
and "do you sell tents?".

Matching is by words of the product names (the catalogue is small and its names are plain), so an answer
only ever names real catalogue rows. Stock is not here: the product page shows it (data/kb/ordering.md).
"""
from __future__ import annotations

import functools
import re
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable, ContextManager, Dict, Iterable, List, Mapping, Optional, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import Product
from bot.db.session import session_scope
from bot.formatting import money
from bot.kb.lexical import tokenize
from bot.kb.source import ItemWords

SessionFactory = Callable[[], ContextManager[Session]]

# Asking what something costs, or whether Brightbay sells it.
_ASKS_PRICE = re.compile(r"\bhow much\b|\bprices?\b|\bpriced\b|\bcosts?\b", re.IGNORECASE)
_ASKS_SOLD = re.compile(
    r"\bdo (?:you|u)(?: guys)? (?:sell|have|carry|stock|offer)\b|\b(?:in|out of) stock\b|\bavailable\b"
    r"|\bcan i (?:buy|order|get)\b|\bwhere can i (?:buy|find)\b",
    re.IGNORECASE,
)
_ASKS_STOCK = re.compile(r"\b(?:in|out of) stock\b|\bavailab(?:le|ility)\b|\bsold out\b|\bback in\b", re.IGNORECASE)
# A size, colour or specification of a product: the catalogue holds none, its product page does.
_ASKS_DETAILS = re.compile(
    r"\bsizes?\b|\bcolou?rs?\b|\bin (?:black|white|red|blue|green|grey|gray|pink|silver|gold|brown|beige|navy)\b"
    r"|\b(?:bigger|smaller|larger|wider|longer|shorter|lighter|heavier)\b|\bwaterproof\b|\bdimensions?\b|\bweigh(?:s|t)?\b"
    r"|\bspecs?\b|\bspecifications?\b|\bmaterials?\b|\bmade of\b|\bbattery life\b|\bwatts?\b|\bcapacity\b",
    re.IGNORECASE,
)
# Asking for an opinion of a product ("is the espresso machine any good?", "is the tent worth it?"): the assistant
# has none to give; the product page describes it.
_ASKS_OPINION = re.compile(
    r"\bany good\b|\bworth (?:it|buying|the (?:money|price))\b|\bgood quality\b|\b(?:would|do) you recommend\b"
    r"|\b(?:is|are) (?:it|they|this|that|the [\w -]{1,30}?) (?:good|decent|reliable)\b",
    re.IGNORECASE,
)
# Words of a product question that name no product ("how much is the ... in stock?").
_QUESTION_WORDS = frozenset(
    "much price priced cost costs sell have carry stock offer available buy order get find guy u please "
    "brightbay store shop site online right now currently today any one some thing item product new "
    "hi hello hey thanks ok okay also still about like ones".split()
)
# Catalogue words too general to name a product alone ("set", "pack", "with").
_GENERIC_NAME_WORDS = frozenset("set pack with pair person large room".split())
_NOT_NAMING = _QUESTION_WORDS | _GENERIC_NAME_WORDS
# Customer words for catalogue words.
_SYNONYMS = {
    "headset": "headphone", "earphone": "earbud", "earpod": "earbud", "television": "tv", "telly": "tv",
    "notebook": "laptop", "hoover": "vacuum", "flask": "bottle", "backpack": "daypack", "rucksack": "daypack",
    "watch": "smartwatch", "kindle": "reader", "ereader": "reader", "router": "mesh",
}
# Where a product name's noun ends: "Espresso Machine| with Grinder", "Electric Kettle|, 1.7 L", "Carabiner Set| (3-pack)".
_NAME_HEAD = re.compile(r",\s|\(|\s+with\s", re.IGNORECASE)
# Name words after the noun that are not one ("Smartwatch Series 4").
_NOT_A_NOUN = frozenset({"serie"})
# Nouns with an everyday meaning besides the product ("your system prompt", "my bank", "the cover"): no department
# is given for them, so a message using them is not worded about an electronic or home item.
_EVERYDAY_NOUNS = frozenset("system bank band board cover panel pole bag".split())
CACHE_SECONDS = 300.0
# Where a message asking two things splits ("how much is the laptop and does it have a warranty?").
_CLAUSE = re.compile(r"[?.!;]|,\s*(?:and|but|also)\b|\band\b", re.IGNORECASE)
STORE_URL = "https://brightbay.example/products"


@dataclass(frozen=True)
class ProductView:
    sku: str
    name: str
    category: str
    price: Decimal


@dataclass(frozen=True)
class CatalogueMatch:
    """The products a message names, best first, and whether the best one covers every word that names it
    (of the whole message, or of one clause of it)."""

    products: Tuple[ProductView, ...]
    exact: bool
    whole: bool = True  # False: only one clause of the message named them, the rest asks something else


def _words(text: str) -> List[str]:
    """Words of ``text`` as the catalogue index spells them ("watches" -> "smartwatch")."""
    words = []
    for token in tokenize(text):
        if token.endswith("e") and token[:-1] in ("watch", "box", "brush", "dish"):
            token = token[:-1]  # the tokenizer strips only the "s" of "watches"
        words.append(_SYNONYMS.get(token, token))
    return words


def item_words(names: Iterable[str], departments: Mapping[str, str] = {}) -> ItemWords:
    """The words (as ``bot.kb.lexical.tokenize`` spells them) that name products called ``names``: the noun that
    says what each is (the last naming word before a comma, parenthesis or "with": "machine" of "Espresso Machine
    with Grinder") and the words before it, with the customer words for them ("telly" for "tv"); and for each noun
    whose products ``departments`` (name -> department) puts in one department, that department."""
    nouns, modifiers = set(), set()
    noun_departments: Dict[str, set] = {}
    for name in names:
        words = [w for w in _words(_NAME_HEAD.split(name)[0]) if w not in _NOT_NAMING and len(w) > 1 and not w[0].isdigit()]
        words = [w for w in words if w not in _NOT_A_NOUN] or words
        if words:
            nouns.add(words[-1])
            modifiers.update(words[:-1])
            noun_departments.setdefault(words[-1], set()).add(departments.get(name))
    for said, meant in _SYNONYMS.items():
        (nouns if meant in nouns else modifiers if meant in modifiers else set()).add(said)
        if meant in noun_departments:
            noun_departments[said] = noun_departments[meant]
    single = {noun: next(iter(d)) for noun, d in noun_departments.items()
              if len(d) == 1 and None not in d and noun not in _EVERYDAY_NOUNS}
    return ItemWords(frozenset(nouns), frozenset(modifiers - nouns), single)


def asks_about_products(text: str) -> bool:
    """"how much is the espresso machine?", "do you sell tents?", "is the kettle in stock"."""
    return bool(_ASKS_PRICE.search(text) or _ASKS_SOLD.search(text))


def asks_stock(text: str) -> bool:
    """"is it in stock?", "is the kettle available?"."""
    return bool(_ASKS_STOCK.search(text))


def asks_details(text: str) -> bool:
    """"do you have them in size 10?", "is it available in blue?", "how much does it weigh?"."""
    return bool(_ASKS_DETAILS.search(text))


def asks_opinion(text: str) -> bool:
    """"is the espresso machine any good?", "would you recommend the tent?"."""
    return bool(_ASKS_OPINION.search(text))


def asks_price(text: str) -> bool:
    return bool(_ASKS_PRICE.search(text))


class ProductCatalog:
    """The catalogue in the orders database, read at most every ``CACHE_SECONDS`` (prices change rarely)."""

    def __init__(self, session_factory: SessionFactory = session_scope, cache_seconds: float = CACHE_SECONDS) -> None:
        self._session_factory = session_factory
        self._cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._loaded_at = float("-inf")
        self._products: List[ProductView] = []
        self._index: Dict[str, List[int]] = {}
        self._item_words = ItemWords()

    def _snapshot(self) -> Tuple[List[ProductView], Dict[str, List[int]]]:
        """The products, by SKU, and the index of their name words, read together (a refresh by another
        thread replaces both, and the item words). Blocking: database (when the cache is stale)."""
        with self._lock:
            if time.monotonic() - self._loaded_at > self._cache_seconds:
                with self._session_factory() as session:
                    rows = session.execute(select(Product).order_by(Product.sku)).scalars().all()
                    products = [ProductView(r.sku, r.name, r.category, r.price) for r in rows]
                index: Dict[str, List[int]] = {}
                for i, product in enumerate(products):
                    for word in set(_words(product.name)) - _GENERIC_NAME_WORDS:
                        index.setdefault(word, []).append(i)
                self._products, self._index = products, index
                # Built once per refresh: every help-center question reads them.
                self._item_words = item_words([p.name for p in products], {p.name: p.category for p in products})
                self._loaded_at = time.monotonic()
            return self._products, self._index

    def find(self, text: str, limit: int = 3) -> Optional[CatalogueMatch]:
        """The products ``text`` names, best first (most of its words in the name), or None.

        A message asking two things ("how much is the laptop and does it come with a warranty?") is matched
        exactly by its product question's clause; ``CatalogueMatch.whole`` then says the rest asks more.
        """
        products, index = self._snapshot()
        match = _best_match(text, products, index, limit)
        if match is None or match.exact:
            return match
        for clause in _CLAUSE.split(text):
            if clause.strip() and clause.strip() != text.strip() and asks_about_products(clause):
                part = _best_match(clause, products, index, limit)
                if part is not None and part.exact:
                    return CatalogueMatch(part.products, exact=True, whole=False)
        return match

    def item_words(self) -> ItemWords:
        """The words naming the catalogue's products (see ``item_words``). Blocking: database (when stale)."""
        self._snapshot()
        return self._item_words  # replaced whole by a refresh, never changed in place

    def named_by_url(self, url: str) -> Optional[CatalogueMatch]:
        """The product whose page ``url`` is (as ``catalogue_url`` gives it), as an exact match; None for another
        address or a product no longer in the catalogue."""
        if not url.startswith(STORE_URL + "/"):
            return None
        sku = url[len(STORE_URL) + 1:]
        products, _ = self._snapshot()
        found = [p for p in products if p.sku == sku]
        return CatalogueMatch((found[0],), exact=True) if found else None


def _best_match(
    text: str, products: List[ProductView], index: Dict[str, List[int]], limit: int
) -> Optional[CatalogueMatch]:
    """The products whose names hold most of ``text``'s naming words."""
    wanted = {w for w in _words(text) if w not in _NOT_NAMING and not w[0].isdigit()}
    # A word in few names says more ("smartwatch" over "smart"): each counts 1 / the names it is in.
    scores: Dict[int, float] = {}
    matched: Dict[int, set] = {}
    for word in wanted:
        holders = index.get(word, ())
        for i in holders:
            scores[i] = scores.get(i, 0.0) + 1.0 / len(holders)
            matched.setdefault(i, set()).add(word)
    if not scores:
        return None
    best = max(scores.values())
    ranked = sorted((i for i, score in scores.items() if score >= best - 1e-9), key=lambda i: products[i].name)
    return CatalogueMatch(tuple(products[i] for i in ranked[:limit]), exact=matched[ranked[0]] == wanted)


@functools.lru_cache(maxsize=8)
def shared_catalog(session_factory: SessionFactory = session_scope) -> ProductCatalog:
    """The catalogue of one database, shared by every action of a process: one cache, one reload every
    ``CACHE_SECONDS`` (rasa-sdk gives actions no container to share it through)."""
    return ProductCatalog(session_factory)


def catalogue_answer(match: CatalogueMatch, text: str, price: Optional[bool] = None, stock_note: bool = True) -> str:
    """The reply naming the matched products and their prices, and (``stock_note``) that the product page
    shows stock. ``price`` says whether the price was asked (None: read from ``text``)."""
    listed = "; ".join(f"{p.name}, {money(p.price)}" for p in match.products)
    if match.exact and len(match.products) == 1:
        product = match.products[0]
        head = (f"The {product.name} costs {money(product.price)}." if (asks_price(text) if price is None else price)
                else f"Yes, we sell the {product.name} ({money(product.price)}).")
    elif match.exact:
        head = f"We have: {listed}."
    else:
        head = f"I couldn't find exactly that in our catalogue. The closest: {listed}."
    if not stock_note:
        return head
    return (f"{head} Its product page at brightbay.example shows whether it's in stock and how soon it ships."
            if len(match.products) == 1 else
            f"{head} Each product page at brightbay.example shows whether it's in stock and how soon it ships.")


def catalogue_url(match: CatalogueMatch) -> str:
    """The product's page, or the catalogue's when several are named."""
    return f"{STORE_URL}/{match.products[0].sku}" if len(match.products) == 1 else STORE_URL

