"""Where the assistant's answers come from: an interface, and the local help-center index behind it."""
from __future__ import annotations

import functools
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import FrozenSet, List, Mapping, Optional, Sequence

import numpy as np

from bot.kb.documents import KB_DIR
from bot.kb.index import CONTEXT_WEIGHTS, DEFAULT_INDEX_DIR, Hit, HybridIndex, encode_in_context, encode_query, load_or_build
from bot.kb.lexical import tokenize
from bot.llm.redaction import redact
from bot.parsing import says_charged_twice

_FOLLOW_UP_CUE = re.compile(r"^\s*(and|but|or|also|same|what about|how about|what if|then)\b", re.IGNORECASE)
# Pronouns, and "the" + a noun with nothing after it that says which ("how much is the fee?", "how long
# is the window?"); "the warranty on the headphones" names its topic itself.
_REFERENCE = re.compile(r"\b(it|that|this|those|these|they|them|one)\b|\bthe \w+\s*[?.!]*\s*$", re.IGNORECASE)
# A passage found with the earlier turns mixed in must stay at least this relevant to the new message on
# its own (cosine, relative to the best passage for the message alone). Below it the message is read as a
# new topic worded like a follow-up ("and how do I pay for it?" after a shipping question), and the earlier
# turns are dropped. Genuine follow-ups in data/kb_eval keep 0.68 or more; topic switches fall to 0.33-0.43.
TOPIC_KEPT_RATIO = 0.55
# A passage found with the earlier turns that is nearly as relevant to the message on its own as the
# message's own best is the one meant, even when the mixed query scores it lower ("who pays the
# shipping?" after the return policy: return shipping, not the shipping rates).
CONTEXT_PREFERRED_RATIO = 0.85
# Words that ask about whatever came before without naming anything: "how does that work?", "what happens
# next?", "what does that mean?", "ok so what now".
_NO_TOPIC_WORDS = frozenset(
    "work happen mean next now ok okay so exactly option options choice choices process step procedure what".split()
)
# Such a message asking how, or what comes next, asks for the steps of what the earlier turns asked. It is
# searched and answered worded as STEPS_QUESTION, which the encoder reads as a request for steps (the
# return steps after "i'd like to return my tent"; "how does that work?" alone finds the return window).
_ASKS_FOR_STEPS = re.compile(
    r"\bhow\b|\bwhat (do|should|can) (i|we) do\b|\bwhat happens\b|\bwhat now\b|\bthen what\b|\bwhat next\b"
    r"|\bprocess\b|\bsteps?\b|\bprocedure\b",
    re.IGNORECASE,
)
STEPS_QUESTION = "how do I do that"
# Words that open a message without adding to it ("ok how do i order", "so, what's the fee?"). Left in, they
# pull the message's vector towards whatever passage happens to sit near them.
_OPENING_FILLER = re.compile(
    r"^\s*(?:(?:ok(?:ay)?|so|well|hmm+|alright|all right|right|um+|uh+|cool|great|thanks|thank you|hi|hello|hey)\b[\s,.!:-]*)+",
    re.IGNORECASE,
)

# A product named in a question about a policy ("what's the return window for the espresso machine", "can i return
# a tent i used once") with words no passage uses: they give the search nothing and pull the question's vector
# away from the policy (0.31 to the return window, under the relevance floor). Such a question is also searched
# with the product worded as an item (ANY_ITEM after "a", GENERIC_ITEM otherwise), and the better of the two is kept.
GENERIC_ITEM = "the item"
ANY_ITEM = "an item"
# A product of one department is worded with it ("how long is the warranty on the kayak": the outdoor item), so
# that a policy of that department's passage can be found.
DEPARTMENT_WORDS = {"electronics": "electronic", "home": "home", "outdoor": "outdoor"}
# How much less close the department's wording may be than "the item" and still be searched with.
DEPARTMENT_MARGIN = 0.05
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'-]*")
_DETERMINER_BEFORE = re.compile(
    r"\b(?:the|a|an|my|your|this|that|these|those|our|his|her)\s+(?:(?:new|old|used|brand new)\s+)?$", re.IGNORECASE
)


@dataclass(frozen=True)
class ItemWords:
    """Words that name the store's products (``bot.catalog.item_words``), as ``tokenize`` spells them."""

    nouns: FrozenSet[str] = frozenset()  # what a product is: "tent", "machine", "bottle"
    modifiers: FrozenSet[str] = frozenset()  # the words before the noun in a name: "espresso", "water", "sleeping"
    # The store's department of the products a noun names, where they share one: "kayak" -> "outdoor".
    departments: Mapping[str, str] = field(default_factory=dict)

    def departments_in(self, text: str) -> FrozenSet[str]:
        """The departments of the products ``text`` names by a noun ("my kettle and the tent": home, outdoor)."""
        return frozenset(self.departments[token] for token in tokenize(text) if token in self.departments)


def _noun_of(word: str, item_words: ItemWords) -> str:
    """The noun as ``ItemWords`` holds it ("tents" -> "tent")."""
    tokens = [t for t in tokenize(word) if t in item_words.nouns]
    return tokens[-1] if tokens else word


# Words that carry on from the turn before: "checked spam already", "not in junk either", "still nothing".
_CONTINUATION = re.compile(r"\b(?:already|either|still)\b", re.IGNORECASE)


def is_elliptic(message: str) -> bool:
    """A follow-up that leans on earlier turns: "and for express?", "how long does it take?", "how much?",
    "checked spam already"."""
    return bool(
        _FOLLOW_UP_CUE.search(message) or _REFERENCE.search(message) or len(tokenize(message)) <= 1
        or names_no_topic(message) or _CONTINUATION.search(message)
    )


def names_no_topic(message: str) -> bool:
    """Not one word of its own ("how do i do that", "how does that work?"): it means what the earlier turns asked."""
    return all(token in _NO_TOPIC_WORDS for token in tokenize(message))


def without_opening_filler(message: str) -> str:
    """The message without the "ok", "so", "well"... it opens with (the whole message if that is all it is)."""
    rest = _OPENING_FILLER.sub("", message, count=1)
    return rest if rest.strip() else message


# A promo code quoted in a question ("my code SAVE10 doesn't work", "is WELCOME15 still valid?"): letters then
# digits, in capitals or in a message that speaks of codes. No passage holds it, and it pulls the question's
# vector away from the passages about codes.
_PROMO_CODE = re.compile(r"\b[A-Za-z]{3,}\d{1,4}\b")
_SPEAKS_OF_CODES = re.compile(r"\b(?:codes?|coupons?|promo|discount|voucher|valid|expired?|apply|applied)\b", re.IGNORECASE)
_NAMES_A_CODE = re.compile(r"\b(?:codes?|coupons?|promo|vouchers?)\b", re.IGNORECASE)


_PLACEHOLDER = re.compile(r"<[A-Z]+>")


def without_personal_data(message: str) -> str:
    """The message without the email addresses, phone numbers and other personal data it quotes ("can you update
    my phone number to 555-123-4567" -> "can you update my phone number to"). No passage holds them, and the
    number's digits took that request to the passage with our own phone number."""
    masked = redact(message)
    return message if masked == message else re.sub(r"\s{2,}", " ", _PLACEHOLDER.sub(" ", masked)).strip()


def without_promo_codes(message: str) -> str:
    """The message with each promo code it quotes left out when it already says "code" ("my code SAVE10 doesn't
    work" -> "my code doesn't work"), else worded as one ("is WELCOME15 still valid?" -> "is promo code still
    valid?")."""
    speaks_of_codes = bool(_SPEAKS_OF_CODES.search(message))

    def plain(match: "re.Match[str]") -> str:
        code = match.group(0)
        if not (code.isupper() or speaks_of_codes):
            return code
        return "" if _NAMES_A_CODE.search(message) else "promo code"

    result = _PROMO_CODE.sub(plain, message)
    return message if result == message else re.sub(r"\s{2,}", " ", result).strip()


# A lower price at another store ("the tent is $40 cheaper at walmart", "best buy has it for less", "amazon has
# the espresso machine for $550", or "cheaper there" after a question naming the store): the help center's words
# for it are "prices from other stores", and the message alone finds shipping costs or the own-site price drop.
_STORE_NAMES = r"amazon|walmart|target|best ?buy|costco|ebay|home depot|lowe'?s|rei|newegg|etsy|wayfair|aliexpress|temu"
_OTHER_STORE = re.compile(
    rf"\b(?:{_STORE_NAMES}"
    r"|another (?:store|shop|site|website|retailer)|other (?:stores?|shops?|sites?|websites?|retailers?)"
    r"|elsewhere|somewhere else|competitors?)\b",
    re.IGNORECASE,
)
_STORE_NAME = re.compile(rf"\b({_STORE_NAMES})\b", re.IGNORECASE)
_STORE_SPELLING = {"ebay": "eBay", "rei": "REI", "aliexpress": "AliExpress", "bestbuy": "Best Buy", "lowes": "Lowe's"}


def store_named(message: str) -> Optional[str]:
    """The other store the message names, spelled as the store does ("walmart" -> "Walmart"), or None."""
    match = _STORE_NAME.search(message)
    if not match:
        return None
    name = match.group(1).lower()
    return _STORE_SPELLING.get(name.replace(" ", "").replace("'", ""), name.title())


_LOWER_PRICE = re.compile(
    r"\b(?:cheaper|for less|less money|lower|better (?:price|deal)|price ?match\w*|on sale)\b|\$\s?\d", re.IGNORECASE
)
_THERE = re.compile(r"\b(?:there|them|they)\b", re.IGNORECASE)
_ABOUT_THE_DIFFERENCE = re.compile(r"\b(?:difference|price ?match\w*|match (?:it|that|the price))\b", re.IGNORECASE)
OTHER_STORE_QUESTION = "do you match prices from other stores"
# Brightbay's own site named for the lower price ("what about if it gets cheaper on your site?" right after another
# store's): searched with those turns, it found the other-stores passage again.
_OWN_SITE = re.compile(r"\b(?:your (?:own )?(?:site|website|store|shop|app)|brightbay|you guys)\b", re.IGNORECASE)
OWN_SITE_QUESTION = "what if the price drops on brightbay's own site after i buy"
# How far (cosine) another article's passage may lead the best of the intent's own article and still be left out;
# 0.03-0.08 gave the same on data/kb_eval (2026-12-07), 0.12 moved "do you ship to PO boxes" off its passage.
INTENT_ARTICLE_MARGIN = 0.05


def other_store_price_wording(message: str, history: Sequence[str] = ()) -> Optional[str]:
    """OTHER_STORE_QUESTION for a message about a lower price at another store (named in it, or "there" / "they"
    after the customer's previous message named one), or asking for the difference or naming another store right
    after one; OWN_SITE_QUESTION for a follow-up naming Brightbay's own site right after one; None otherwise."""
    after_other_store = bool(history) and other_store_price_wording(history[-1], history[:-1]) == OTHER_STORE_QUESTION
    if after_other_store and _ABOUT_THE_DIFFERENCE.search(message) and not _OWN_SITE.search(message):
        return OTHER_STORE_QUESTION  # "ok how do i get the difference" right after saying so
    if after_other_store and _OTHER_STORE.search(message):
        return OTHER_STORE_QUESTION  # "what about walmart" right after "do you price match amazon?"
    if after_other_store and _OWN_SITE.search(message) and not _OTHER_STORE.search(message) and is_elliptic(message):
        return OWN_SITE_QUESTION  # "what about if it gets cheaper on your site?", "so it has to be brightbay?"
    if not _LOWER_PRICE.search(message):
        return None
    if _OTHER_STORE.search(message):
        return OTHER_STORE_QUESTION
    if history and _THERE.search(message) and _OTHER_STORE.search(history[-1]):
        return OTHER_STORE_QUESTION
    return None


# The charged-twice section's question: "ok so when do i get it back" right after "i was charged twice" is about
# the extra charge, not a return's refund (seen in a chat: the refunds passage, "after the return reaches our
# warehouse").
SECOND_CHARGE_QUESTION = "when do i get the extra charge back"
_WHEN_MONEY_BACK = re.compile(
    r"\b(?:when|how long|how soon)\b[^.?!]{0,40}\b(?:back|refunded|returned)\b|\b(?:get|have) (?:it|that|my money) back\b",
    re.IGNORECASE,
)
_NAMES_A_RETURN = re.compile(r"\b(?:return(?:ed|ing)?|sent (?:it|them) back|send (?:it|them) back)\b", re.IGNORECASE)


def second_charge_wording(message: str, history: Sequence[str] = ()) -> Optional[str]:
    """SECOND_CHARGE_QUESTION for a question about when money comes back that names no return, right after the
    customer said they were charged twice; None otherwise."""
    if not history or not says_charged_twice(history[-1]) or says_charged_twice(message):
        return None
    if _WHEN_MONEY_BACK.search(message) and not _NAMES_A_RETURN.search(message):
        return SECOND_CHARGE_QUESTION
    return None


# "it's been used a few times, is that ok?" right after asking to return the item: whether a used item can go back
# (seen in a chat: refused, its words closest to the passage on selling used items, at 0.27).
USED_ITEM_QUESTION = "can I return an item I used"
_SAYS_USED = re.compile(
    r"\b(?:been used|used (?:it|them|once|twice|a (?:few|couple)|for|several)|i(?:'ve| have)? (?:already )?used"
    r"|opened (?:it|them|the box))\b",
    re.IGNORECASE,
)


def used_item_wording(message: str, history: Sequence[str] = ()) -> Optional[str]:
    """USED_ITEM_QUESTION for a message saying the item was used, right after the customer asked about returning
    it (one of their two previous messages names a return and this one doesn't); None otherwise."""
    if not history or not _SAYS_USED.search(message) or _NAMES_A_RETURN.search(message):
        return None
    return USED_ITEM_QUESTION if any(_NAMES_A_RETURN.search(turn) for turn in history[-2:]) else None


# "send back" is the customers' word for a return; the help center says "return", and the words apart ("i need
# to send back the lantern i ordered") read to the encoder as sending or ordering (the order-confirmation email
# was found for "what are the steps for that?" after it).
# ("send me back a refund" is sent to the customer: not a return.)
_SEND_BACK = re.compile(
    r"\b(send|sending|sent)\b(?!\s+(?:me|us|you)\b)((?:\s+(?!back\b)[\w'-]+){0,3}?)\s+back\b", re.IGNORECASE
)
_RETURN_WORD = {"send": "return", "sending": "returning", "sent": "returned"}


def in_help_center_words(message: str) -> str:
    """``message`` with "send ... back" worded as the help center words it ("can i send it back" -> "can i
    return it", "i sent the tent back" -> "i returned the tent")."""
    return _SEND_BACK.sub(lambda m: _RETURN_WORD[m.group(1).lower()] + m.group(2), message)


# Words that ask ("how much is it", "and how long?") without naming what about: such a turn leaned on the ones
# before it, and as an earlier turn of the next follow-up it only dilutes them (seen in a chat: "and how long?"
# after "do you ship to canada?" and "how much is it" was refused, the Canada question weighing a quarter).
# ("why can't you do it?" after "i want to close my account" names nothing either: as an earlier turn it took "how
# long does it take?" to shipping times.)
_ONLY_ASKING_WORDS = _NO_TOPIC_WORDS | frozenset(
    "long much many soon cost costs price fee take takes why can't cannot won't".split()
)


def only_asks(message: str) -> bool:
    """Only words that ask ("and how long?", "how much is it"), or none of its own: it means what the earlier
    turns asked."""
    return all(token in _ONLY_ASKING_WORDS for token in tokenize(message))


def topic_turns(turns: Sequence[str]) -> List[str]:
    """The earlier turns a follow-up can lean on: those that name a topic ("how does that work?" and "how much is
    it" name none)."""
    return [t for t in turns if not only_asks(t)]


def contextual_query(message: str, history: Sequence[str] = ()) -> str:
    """The message, prefixed by the previous user turns it depends on (for lexical search and answer extraction)."""
    if not history or not is_elliptic(message):
        return message
    turns = list(history)[-len(CONTEXT_WEIGHTS):]
    return " ".join(turns + [message])


@dataclass(frozen=True)
class Retrieval:
    """The passages found for a message, and the earlier turns they were found with."""

    hits: List[Hit]
    context: List[str] = field(default_factory=list)  # empty when the message was searched on its own
    reworded: Optional[str] = None  # the wording searched instead of the message's own, if any

    def question(self, message: str) -> str:
        """The question the answer should be read for: the message, or the wording it was searched as."""
        return self.reworded or message


def with_preferred_articles(found: Retrieval, articles: FrozenSet[str], margin: float = INTENT_ARTICLE_MARGIN) -> Retrieval:
    """``found`` with only the passages of ``articles`` when another article's passage leads their best by less
    than ``margin`` (cosine) and the message was searched on its own; else ``found``. For an intent the NLU is
    sure of: "do you deliver to Australia" (delivery_options, 1.0) ranked the PO-box passage first and was
    answered "USPS delivers to PO boxes"; with the shipping article's passages alone, the international one."""
    hits = list(found.hits)
    if not articles or found.context or not hits or hits[0].chunk.article_id in articles:
        return found
    preferred = [hit for hit in hits if hit.chunk.article_id in articles]
    if preferred and max(hit.dense_score for hit in preferred) >= hits[0].dense_score - margin:
        return replace(found, hits=preferred)
    return found


class KnowledgeSource(ABC):
    """Anything that finds help-center passages for a customer's message."""

    @abstractmethod
    def search(self, query: str, history: Sequence[str] = ()) -> List[Hit]:
        """Best passages for ``query``; ``history`` holds the earlier user messages, oldest first."""

    def retrieve(
        self, query: str, history: Sequence[str] = (), follow_up: bool = False, item_words: ItemWords = ItemWords(),
        articles: FrozenSet[str] = frozenset(),
    ) -> Retrieval:
        """The passages and the earlier turns the answer should read the question with.

        ``follow_up`` says the conversation makes the message a follow-up whatever its wording (a question
        asked while a change the earlier turns requested waits for a yes). ``item_words`` are the words that
        name the store's products (``bot.catalog.item_words``), for sources that search a question naming one
        as a question about any item. ``articles`` are those of the message's intent when the NLU is sure of it:
        a follow-up that finds them is not a change of topic. Sources that cannot tell a follow-up from a new
        topic keep the whole history.
        """
        return Retrieval(self.search(query, history), list(history))


class LocalKnowledgeSource(KnowledgeSource):
    """The help-center articles in ``data/kb`` behind a :class:`HybridIndex`."""

    def __init__(self, index: HybridIndex, k: int = 3) -> None:
        self.index = index
        self.k = k

    @classmethod
    def from_directory(
        cls, kb_dir: Path = KB_DIR, index_dir: Path = DEFAULT_INDEX_DIR, k: int = 3
    ) -> "LocalKnowledgeSource":
        """Load the saved index, rebuilding it only when the articles changed."""
        return cls(load_or_build(kb_dir, index_dir), k)

    def search(self, query: str, history: Sequence[str] = ()) -> List[Hit]:
        return self.retrieve(query, history).hits

    def retrieve(
        self, query: str, history: Sequence[str] = (), follow_up: bool = False, item_words: ItemWords = ItemWords(),
        articles: FrozenSet[str] = frozenset(),
    ) -> Retrieval:
        """The passages for the message as written and, when it names a product in words no passage uses, for
        it worded about an item instead, or about an item of its department when that scores within
        DEPARTMENT_MARGIN of it: the wording whose best passage is closest. A quoted promo code and personal data
        are left out. A passage naming a rare word of the message is marked (``Hit.names_rare_term``)."""
        found = self._retrieve_worded(query, history, follow_up, item_words, articles)
        return replace(found, hits=self.index.with_rare_terms_marked(found.question(query), found.hits))

    def _retrieve_worded(
        self, query: str, history: Sequence[str], follow_up: bool, item_words: ItemWords, articles: FrozenSet[str],
    ) -> Retrieval:
        plain = without_promo_codes(without_personal_data(query))
        if plain != query:
            return replace(self.retrieve(plain, history, follow_up, item_words, articles), reworded=plain)
        worded, history_worded = in_help_center_words(query), [in_help_center_words(turn) for turn in history]
        if worded != query or history_worded != list(history):
            found = self.retrieve(worded, history_worded, follow_up, item_words, articles)
            return replace(found, reworded=found.reworded or (worded if worded != query else None))
        elsewhere = (other_store_price_wording(query, history) or second_charge_wording(query, history)
                     or used_item_wording(query, history))
        if elsewhere and elsewhere != query:
            return replace(self.retrieve(elsewhere, (), False, item_words, articles), reworded=elsewhere)
        found = self._retrieve(query, history, follow_up, articles)
        if found.context and item_words.nouns and not names_no_topic(query):
            # "does it come with a warranty" after "is the espresso machine in stock?": the earlier turns' products
            # worded by their department ("the home item"), as a message naming one is. ("how do i do that" is all
            # about the earlier turn, which is searched as written.)
            by_department = [self.generic_wording(turn, item_words, by_department=True) or turn for turn in history]
            if by_department != list(history):
                found = self._retrieve(query, by_department, follow_up, articles)
        generic = self.generic_wording(query, item_words)
        if generic is None:
            return found
        general = self._retrieve(generic, history, follow_up, articles)
        by_department = self.generic_wording(query, item_words, by_department=True)
        if by_department != generic:
            # It says more about the product than "the item" does, so it wins when nearly as close.
            departmental = self._retrieve(by_department, history, follow_up, articles)
            if _top_dense(departmental.hits) >= _top_dense(general.hits) - DEPARTMENT_MARGIN:
                general, generic = departmental, by_department
        if _top_dense(general.hits) <= _top_dense(found.hits):
            return found
        return replace(general, reworded=general.reworded or generic)

    def generic_wording(self, query: str, item_words: ItemWords, by_department: bool = False) -> Optional[str]:
        """``query`` with each product it names in words the help center never uses (a run of name words ending
        in a product noun, with the "the", "a", "my" before it) replaced by ANY_ITEM after "a" / "an", else by
        GENERIC_ITEM, or with ``by_department`` by an item of the product's department ("the outdoor item");
        None when it has none.
        ("does the warranty cover water damage" keeps "water": no product noun follows it.)"""
        vocabulary = self.index.lexical.vocabulary

        def kind(word: str) -> Optional[str]:
            tokens = tokenize(word)
            if not tokens or any(t in vocabulary for t in tokens):
                return None
            if all(t in item_words.nouns for t in tokens):
                return "noun"
            return "modifier" if all(t in item_words.nouns or t in item_words.modifiers for t in tokens) else None

        runs: List[list] = []  # [start, end, the noun ending the run or None]
        for match in _WORD.finditer(query):
            word_kind = kind(match.group())
            if word_kind is None:
                continue
            noun = match.group().lower() if word_kind == "noun" else None
            if runs and not query[runs[-1][1]:match.start()].strip():
                runs[-1][1:] = [match.end(), noun]  # "espresso machine": one product, one item
            else:
                runs.append([match.start(), match.end(), noun])
        runs = [run for run in runs if run[2]]
        if not runs:
            return None
        for start, end, noun in reversed(runs):
            determiner = _DETERMINER_BEFORE.search(query[:start])
            department = by_department and DEPARTMENT_WORDS.get(item_words.departments.get(_noun_of(noun, item_words), ""))
            # "a tent" is any item ("can i return an item i used once" finds the return policy, "the item" the
            # damaged-item replacement); "the kayak" the outdoor item.
            if determiner and determiner.group().split()[0].lower() in ("a", "an"):
                item = f"{'an' if department[0] in 'aeiou' else 'a'} {department} item" if department else ANY_ITEM
            else:
                item = f"the {department} item" if department else GENERIC_ITEM
            query = query[: determiner.start() if determiner else start] + item + query[end:]
        return query

    def _retrieve(
        self, query: str, history: Sequence[str], follow_up: bool, articles: FrozenSet[str] = frozenset()
    ) -> Retrieval:
        """For an elliptic follow-up (or one the conversation makes a follow-up), also search with the earlier
        turns mixed in and keep the better-scoring result, unless its passage has little to do with the new
        message itself (a change of topic) and isn't of ``articles`` (those of an intent the NLU is sure of)."""
        if not history or not (follow_up or is_elliptic(query)):
            # A message of its own is searched without the "ok", "so"... it opens with. (A follow-up keeps
            # them: "ok and what about..." is read as typed, against the turns before it.)
            stripped = without_opening_filler(query)
            return Retrieval(self.index.search(stripped, self.k), reworded=stripped if stripped != query else None)
        alone = self.index.search(query, self.k)
        if not alone:
            return Retrieval(alone)
        used_history = list(history)[-len(CONTEXT_WEIGHTS):]
        if names_no_topic(query):
            # Whatever it matches alone, it matches by chance: it means what the earlier turns asked, read as
            # one text with them ("how do i do that"), not as a message weighing twice its earlier turns.
            reworded = STEPS_QUESTION if _ASKS_FOR_STEPS.search(query) else None
            text = contextual_query(reworded or query, history)
            with_context = self.index.search(text, self.k, query_vector=encode_query(text))
            # The latest earlier turn alone, when it matches better ("what are my options?" after "i bought a tv
            # and it has dead pixels": the words of the question dilute the turn it means).
            earlier = self.index.search(used_history[-1], self.k)
            if _top_dense(earlier) > _top_dense(with_context):
                with_context = earlier
            return Retrieval(with_context, used_history, reworded) if with_context else Retrieval(alone)
        with_context = self.index.search(
            contextual_query(query, history), self.k, query_vector=encode_in_context(query, history)
        )
        if not with_context:
            return Retrieval(alone)
        # The alone search scored its passages against the message's own vector: alone[0].dense_score.
        kept = self._relevance(with_context[0], encode_query(query)) / max(alone[0].dense_score, 1e-6)
        if with_context[0].chunk.article_id in articles:
            # The NLU is sure the message is about this article's topic, which the earlier turns found: not a
            # change of topic ("actually wait, how much is the fee?" after "i need to cancel my order", whose
            # words alone lean to the return shipping fee).
            return Retrieval(with_context, used_history)
        if _top_dense(with_context) <= _top_dense(alone) and kept < CONTEXT_PREFERRED_RATIO:
            return Retrieval(alone)
        if kept < TOPIC_KEPT_RATIO:
            return Retrieval(alone)
        return Retrieval(with_context, used_history)

    def _relevance(self, hit: Hit, vector: np.ndarray) -> float:
        """Cosine between a hit's passage and a query vector."""
        return float(self.index.embeddings[self._row[id(hit.chunk)]] @ vector)

    @functools.cached_property
    def _row(self) -> dict:
        return {id(chunk): row for row, chunk in enumerate(self.index.chunks)}


def _top_dense(hits: List[Hit]) -> float:
    return hits[0].dense_score if hits else float("-inf")
