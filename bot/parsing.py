"""Finds order numbers, emails, ZIP codes and the order lines named in a customer's message.

One parser serves the NLU entity extractor and the order form, so both read a
message the same way. Brightbay order numbers and US ZIP codes are both five
digits ("10001" is order 10001 and also Bob's ZIP code), so a number is a ZIP
code only when the words before it say so; the order form settles the rest from
what it asked for.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

ORDER_ID = "order_id"
EMAIL = "email"
ZIP_CODE = "zip_code"

_EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])")
# Exactly five digits, not part of a longer number, a decimal or a word.
_FIVE_DIGITS_RE = re.compile(r"(?<![\w.,$])#?(\d{5})(?![\w]|[.,]\d)")
_LONG_NUMBER_RE = re.compile(r"\d{6,}")
_ZIP_CONTEXT_RE = re.compile(r"\b(?:zip|zipcode|zip\s*code|postal(?:\s*code)?|post\s*code|postcode)\b\W{0,3}(?:(?:is|was|code|number|:)\W{0,3}){0,2}$", re.I)
_US_STATE_CODES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR "
    "PA RI SC SD TN TX UT VT VA WA WV WI WY"
).split()
_US_STATE_NAMES = (
    "alabama", "alaska", "arizona", "arkansas", "california", "colorado", "connecticut", "delaware", "florida",
    "georgia", "hawaii", "idaho", "illinois", "indiana", "iowa", "kansas", "kentucky", "louisiana", "maine",
    "maryland", "massachusetts", "michigan", "minnesota", "mississippi", "missouri", "montana", "nebraska", "nevada",
    "new hampshire", "new jersey", "new mexico", "new york", "north carolina", "north dakota", "ohio", "oklahoma",
    "oregon", "pennsylvania", "rhode island", "south carolina", "south dakota", "tennessee", "texas", "utah",
    "vermont", "virginia", "washington", "west virginia", "wisconsin", "wyoming",
)
# The end of a postal address before the ZIP code: "Springfield, IL 62704", "Austin, Texas 73301". State codes are
# matched in capitals only and after a city ("or 10001" and "in 10001" are not Oregon and Indiana).
_POSTAL_CONTEXT_RE = re.compile(
    r"(?:,\s*|\b[A-Z][a-z]+\s+)(?:" + "|".join(_US_STATE_CODES) + r")\.?,?\s*$"
    r"|,\s*(?i:" + "|".join(_US_STATE_NAMES) + r"),?\s*$"
)
# A street address: a house number, up to four name words and a street type ("123 New Street", "500 Mission St";
# not "2 items on the way").
_NOT_STREET_NAME = r"(?!(?:on|the|in|to|my|is|of|and|or|for|a|an|by|at|with|from|it|this|that|was|are|be|way)\b)"
_STREET_RE = re.compile(
    r"\b\d{1,6}[a-z]?\s+(?:" + _NOT_STREET_NAME + r"[\w.'-]+\s+){0,4}?(?:st|street|ave|avenue|rd|road|blvd|boulevard|ln|lane|dr|drive|way|"
    r"ct|court|pl|place|ter|terrace|pkwy|parkway|hwy|highway|cir|circle|sq|square)\b",
    re.I,
)
_ORDER_CONTEXT_RE = re.compile(r"(?:\border\b|\bno\b\.?|\bnumber\b|\bnr\b\.?|#)\W{0,3}(?:(?:is|was|number|no\.?|#)\W{0,3}){0,2}$", re.I)


@dataclass(frozen=True)
class EntitySpan:
    """An entity found in a message, with its character offsets."""

    entity: str
    value: str
    start: int
    end: int
    # The words around it say what it is ("order #10001", "zip 94110"),
    # rather than the entity being a bare number.
    explicit: bool = False


def find_entities(text: Optional[str]) -> List[EntitySpan]:
    """All emails, order numbers and ZIP codes in the text, in reading order."""
    if not text:
        return []
    spans: List[EntitySpan] = []
    for match in _EMAIL_RE.finditer(text):
        spans.append(EntitySpan(EMAIL, match.group(0).lower(), match.start(), match.end(), True))
    for match in _FIVE_DIGITS_RE.finditer(text):
        if any(s.start <= match.start(1) < s.end for s in spans):
            continue  # digits inside an email address
        before = text[max(0, match.start() - 30) : match.start()]
        start, end = match.start(1), match.end(1)
        hashed = text[match.start()] == "#"
        explicit_order = hashed or bool(_ORDER_CONTEXT_RE.search(before))
        # After a street address or a city and state, five digits end the address: "12 Oak Road, Chicago 60614".
        in_address = not explicit_order and (
            bool(_POSTAL_CONTEXT_RE.search(before)) or bool(_STREET_RE.search(text[: match.start()]))
        )
        if _ZIP_CONTEXT_RE.search(before) or in_address:
            spans.append(EntitySpan(ZIP_CODE, match.group(1), start, end, True))
        else:
            spans.append(EntitySpan(ORDER_ID, match.group(1), start, end, explicit_order))
    return sorted(spans, key=lambda s: s.start)


# The order form's slots (domain.yml): the order to check and the email or ZIP code it is checked with.
ORDER_ID_SLOT = "order_id"
IDENTITY_SLOT = "order_identity"


# An answer made of two bare 5-digit numbers: the order number, then the ZIP code ("10003 94110", "10003, 94110").
_NUMBER_THEN_ZIP = re.compile(r"\W*#?\d{5}(?:\s*[,;/&]\s*|\s+(?:and\s+)?)\d{5}\W*")


def order_values_in(text: str, requested: Optional[str]) -> Dict[str, str]:
    """Slot values in the message, read in the light of what the form asked."""
    spans = find_entities(text)
    values: Dict[str, str] = {}
    emails = [s for s in spans if s.entity == EMAIL]
    zips = [s for s in spans if s.entity == ZIP_CODE]
    numbers = [s for s in spans if s.entity == ORDER_ID]
    if requested == IDENTITY_SLOT:
        # A bare 5-digit answer to "what's your ZIP code" is a ZIP code.
        order_numbers = [s for s in numbers if s.explicit]
        zips += [s for s in numbers if not s.explicit]
    elif requested == ORDER_ID_SLOT and not emails and not zips and _NUMBER_THEN_ZIP.fullmatch(text):
        # Seen in a chat: "10003 94110" to "What's your order number?" kept 10003 and asked for the ZIP code given.
        # The check needs both, so the second number of such an answer is the ZIP code.
        order_numbers, zips = numbers[:1], numbers[1:]
    else:
        order_numbers = numbers
    if order_numbers:
        values[ORDER_ID_SLOT] = order_numbers[0].value
    if emails:
        values[IDENTITY_SLOT] = emails[0].value
    elif zips:
        values[IDENTITY_SLOT] = zips[0].value
    return values


def has_street_address(text: Optional[str]) -> bool:
    """Whether the message holds a street address ("123 New Street, Springfield, IL 62704")."""
    return bool(text and _STREET_RE.search(text))


def has_long_number(text: Optional[str]) -> bool:
    """True when the text holds a number longer than an order number."""
    return bool(text and _LONG_NUMBER_RE.search(text))


def has_digits(text: Optional[str]) -> bool:
    return bool(text and any(ch.isdigit() for ch in text))


# "I don't have it", "I forgot/lost the number", "no idea", "where do I find it?": the customer has no
# order number to give. "forget it" (stop) is not among them.
_NO_ORDER_NUMBER_RE = re.compile(
    r"\b(?:do ?n[o']?t|does ?n[o']?t|ca ?n[o']?t|cannot|could ?n[o']?t|never)\s+(?:\w+\s+)?(?:have|know|remember|find|see|got|get|recall|received?)\b"
    r"|\b(?:forgot|forgotten|lost|misplaced|deleted|threw away)\b|\bno (?:idea|clue)\b|\bnot sure\b"
    r"|\bwhere (?:do|can|would|should|will) i (?:find|get|see|look)\b|\bwhat(?:'s| is) (?:an|the|my) order (?:number|no|#)",
    re.IGNORECASE,
)


def says_no_order_number(text: Optional[str]) -> bool:
    """True when the customer says they don't have (or can't find) their order number."""
    return bool(text and _NO_ORDER_NUMBER_RE.search(text))


# Words that make "the X ..." a sentence about the item rather than its name ("the bottle is broken").
_NOT_IN_A_NAME = (r"(?:is|isn'?t|are|aren'?t|was|wasn'?t|were|has|have|had|does|doesn'?t|did|didn'?t|do|don'?t|will|won'?t|"
                  r"can|can'?t|arrived|came|broke|broken|stopped|leaks?|leaked|never|not|too|also|as)\b")
# "just the carabiners", "actually only the bottle": the refund offered narrowed to some of its items.
_NARROWING_RE = re.compile(
    r"^\W*(?:(?:actually|no|oh|ok|okay|um+|hmm+|sorry|wait)\W+)*(?:just|only) (?:the|that|those|this|these|my|one|\d)\b"
    r"|\b(?:just|only)(?: that| those| this| these)?\W*$"
    # A bare name answering the offer of the whole order's refund: "the water bottle" (not "the whole order").
    r"|^\W*(?:(?:actually|oh|ok|okay|sorry|um+|wait)\W+)*(?:the|my) (?!(?:whole|entire|full|rest|lot|same|both|all|order)\b)"
    r"[a-z][\w'-]*(?: (?!" + _NOT_IN_A_NAME + r")[\w'-]+){0,4}?(?:\W+(?:please|pls|thanks))?\W*$",
    re.IGNORECASE,
)


# "the carabiners are too small", "my jacket doesn't fit", "the bottle is broken": an item named with a reason
# to send it back, which answers "if you're returning only some of it, tell me which item" as "just the
# carabiners" does. A sentence about the order or the parcel names no item.
_NAMED_ITEM = (
    r"^\W*(?:(?:actually|oh|ok|okay|sorry|um+|wait|well)\W+)*(?:the|my) "
    r"(?!(?:whole|entire|full|rest|lot|same|both|all|order|refund|money|package|parcel|box|delivery)\b)"
    r"[a-z][\w'-]*(?: [\w'-]+){0,3}? "
)
_ITEM_WITH_FIT_REASON = re.compile(
    _NAMED_ITEM + r"(?:(?:is|are|was|were) (?:(?:way |much |a bit |a little )?too "
    r"(?:small|big|large|tight|loose|short|long|narrow|wide|heavy)|the wrong (?:size|colou?r|model)|not the right "
    r"(?:size|colou?r))|(?:do|does|did)(?:n'?t| not) fit)\b",
    re.IGNORECASE,
)
_ITEM_WITH_DAMAGE = re.compile(
    _NAMED_ITEM + r"(?:(?:is|are|was|were|came|arrived|got|showed up)(?: (?:all|already|completely))? (?:broken|damaged|"
    r"cracked|dented|smashed|shattered|scratched|chipped|bent|torn|ripped|crushed|faulty|defective|leaking)"
    r"|(?:leaks|leaked|broke|is leaking|are leaking)|(?:does|do|did)(?:n'?t| not) work)\b",
    re.IGNORECASE,
)


# "can i swap them for a smaller pair?", "exchange it for a different colour", "i need a bigger size", "i ordered the
# wrong size jacket, can i exchange it?": another size, colour or model of an item received, which the store handles
# as a return plus a new order. ("can i exchange it for a refund" is a refund.)
_EXCHANGE = re.compile(
    r"\b(?:swap|exchange|trade|switch|change)\w*\b[^.?!]{0,40}?\b(?:sizes?|smaller|bigger|larger|colou?rs?|models?|pairs?)\b"
    r"|\b(?:smaller|bigger|larger|different) (?:sizes?|pair|colou?r|model)\b|\banother (?:size|colou?r|model)\b"
    r"|\bexchange (?:it|them|this|that|one|my|the)\b(?![^.?!]{0,20}\b(?:refund|money|cash|credit)\b)",
    re.IGNORECASE,
)


# Received as a gift, so the order is someone else's ("i got a gift from brightbay", "my aunt gave me a kettle as a
# gift"), not bought as one ("i bought it as a gift for my son").
_RECEIVED_AS_GIFT = re.compile(
    r"\b(?:got|received|was given|been given|gave (?:me|it to me))\b[^.?!]{0,30}\bgift\b(?! for)|\bgift(?:ed)? (?:from|to me)\b"
    r"|\bit was a gift\b(?! for)",
    re.IGNORECASE,
)


def says_received_as_gift(text: Optional[str]) -> bool:
    return bool(text and _RECEIVED_AS_GIFT.search(text))


def asks_for_exchange(text: Optional[str]) -> bool:
    """"my boots are too big, can i swap them for a smaller pair?", "exchange it for a different color"."""
    return bool(text and _EXCHANGE.search(text))


def says_item_damaged(text: Optional[str]) -> bool:
    """"the bottle is broken", "my lamp arrived damaged", "the carabiners don't work": one item, and what's wrong."""
    return bool(text and _ITEM_WITH_DAMAGE.search(text))


def is_narrowing(text: Optional[str]) -> bool:
    """"just the carabiners", "only the water bottle please", "the bottle only", "the carabiners are too small",
    "the bottle is broken"."""
    return bool(text and (_NARROWING_RE.search(text) or _ITEM_WITH_FIT_REASON.search(text) or says_item_damaged(text)))


# Words of product names that don't tell one item from another ("Carabiner Set (3-pack)", "Cable (2 m)").
_GENERIC_ITEM_WORDS = frozenset("set pack the and with for of in on to by cm mm xl pro new".split())
_ITEM_WORD = re.compile(r"[a-z0-9]+")


def _item_words(text: str) -> set:
    words = {w[:-1] if len(w) > 3 and w.endswith("s") else w for w in _ITEM_WORD.findall(text.lower())}
    return {w for w in words if len(w) >= 2 and not w.isdigit() and w not in _GENERIC_ITEM_WORDS}


def names_every_item(text: Optional[str], item_names: Sequence[str]) -> bool:
    """Whether a message names each of several order lines ("both the bottle and the carabiners") or all of them
    in a word ("both", "all of them", "the whole order", "everything")."""
    if len(item_names) < 2 or not text:
        return False
    if _EVERY_ITEM.search(text):
        return True
    words = _item_words(text)
    return all(_item_words(name) & words for name in item_names)


_EVERY_ITEM = re.compile(r"\b(?:both|all of (?:them|it|the items)|everything|the (?:whole|entire|full) order)\b", re.IGNORECASE)


def items_named(text: Optional[str], item_names: Sequence[str]) -> List[str]:
    """The order lines a message names, when it names some of them but not all ("just the water bottle"
    of a bottle and a carabiner set); empty when it names none or every one (the whole order)."""
    words = _item_words(text or "")
    named = [name for name in item_names if _item_words(name) & words]
    return named if len(named) < len(item_names) else []


# The order tasks a message asks for in its own words ("10003, where is it?" asks for its status).
TASK_WORDS = {
    "status": re.compile(r"\b(?:where|track|tracking|status|arriv\w*|ship\w*|deliver\w*|when)\b", re.IGNORECASE),
    "cancel": re.compile(r"\bcancel\w*", re.IGNORECASE),
    "refund": re.compile(r"\b(?:return\w*|refund\w*|money back|send (?:it |them )?back)\b", re.IGNORECASE),
    "refund_status": re.compile(r"\brefund\w*", re.IGNORECASE),
}
# "can you expedite it?", "can i get it faster": asks for an order to come sooner (not "faster than promised").
# Wants to buy the product just talked about ("ok i'll take it", "i want to buy one"): a yes to buying, not to whatever
# the reply before offered (a person, with its "Talk to a person" button).
WANTS_TO_BUY_PATTERN = (
    r"\b(?:take|buy|order|purchase|get)\s+(?:it|one|that|this|them|both|two)\b(?!\s+(?:back|to|for|from|out))"
    r"|\bi want (?:it|one|that|this)\b|\bsold\b|\badd (?:it|one|that) to (?:my |the )?(?:cart|basket)\b"
)
_WANTS_TO_BUY = re.compile(WANTS_TO_BUY_PATTERN, re.IGNORECASE)


def wants_to_buy(text: Optional[str]) -> bool:
    """"ok i'll take it", "great, i want to buy one"."""
    return bool(text and _WANTS_TO_BUY.search(text))


ASKS_TO_SPEED_UP_PATTERN = (
    r"\b(?:expedite|rush|speed (?:it|this|things|that) up|hurry (?:it|this) up"
    r"|(?:get|have|receive|deliver|ship|send|arrive)\b[^.?!]{0,15}\b(?:faster|sooner|quicker|earlier)"
    # "can i change it to express shipping?" about an order placed (seen in a chat: got Express's price alone).
    r"|(?:change|upgrade|switch|move|bump|put)\b[^.?!]{0,20}\b(?:to|into|on|onto) express"
    r"|express (?:shipping )?instead)\b"
    r"(?!\s+than)"
)
_ASKS_TO_SPEED_UP = re.compile(ASKS_TO_SPEED_UP_PATTERN, re.IGNORECASE)
# "why is it taking so long?", "why hasn't it shipped yet": a question the order's own dates answer (late or not).
ASKS_WHY_SO_LONG_PATTERN = (
    r"\bwhy\b[^.?!]{0,30}?(?:\bso (?:long|late)\b|\blate\b"
    r"|(?:\bnot|n'?t)\b[^.?!]{0,15}\b(?:ship(?:ped)?|arrived?|here|come|moving|left)\b)"
)


def asks_to_speed_up(text: Optional[str]) -> bool:
    return bool(text and _ASKS_TO_SPEED_UP.search(text))


# A message worded as a question rather than a statement of the customer's situation.
_QUESTION_OPENER = re.compile(
    r"^\W*(?:(?:ok|okay|so|and|but|hi|hey|well)\W+)*(?:how|what|where|when|why|who|which|can|could|do|does|did|is|are"
    r"|will|would|should|may)\b", re.IGNORECASE,
)


# A charge the customer says was taken ("but i was charged", "you took my money").
_CHARGED = re.compile(
    r"\b(?:charged|billed|debited|(?:took|taken) (?:the |my )?money|i (?:already |have |did )?paid(?! nothing))\b",
    re.IGNORECASE,
)


def says_charged(text: Optional[str]) -> bool:
    """"but i was charged!", "they took the money", "but i paid for it": a payment the customer says was taken."""
    return bool(text and _CHARGED.search(text))


_CHARGED_TWICE = re.compile(
    r"\b(?:extra|double|duplicate|second)[ -](?:charges?|payments?|transactions?)\b"
    r"|\b(?:charged|billed|paid)\b[^.?!]{0,15}\b(?:twice|two times|2 times|double)\b",
    re.IGNORECASE,
)


def says_charged_twice(text: Optional[str]) -> bool:
    """"i was charged twice for my order", "when will i get the extra charge back": a second charge."""
    return bool(text and _CHARGED_TWICE.search(text))


# A help-center answer saying our support team does what was asked ("ask our support team ... and we'll send it").
_SUPPORT_DOES_IT = re.compile(r"\b(?:ask|contact|email|tell|to) our support team\b|\bsupport@brightbay\.example\b", re.IGNORECASE)


def says_support_does_it(text: Optional[str]) -> bool:
    """"contact our support team and we'll fix it": a reply saying our support team does what was asked."""
    return bool(text and _SUPPORT_DOES_IT.search(text))


# A request for the assistant to do something ("can you send it to my work email", "please delete my account"),
# not a question about how ("can you tell me...").
_ASKS_US_TO_ACT = re.compile(
    r"^\W*(?:(?:ok|okay|so|then|and|also|hi|hey)\W+)*"
    r"(?:(?:can|could|would|will) (?:you|u|someone|somebody)(?: please)?(?! (?:tell|explain|show|let me know|help me understand)\b)"
    r"|please (?!tell|explain)\w+|(?:send|email|resend|change|delete|correct|fix|update|cancel|refund) (?:it|me|my|the)\b)",
    re.IGNORECASE,
)


def asks_us_to_act(text: Optional[str]) -> bool:
    """"can you send it to my work email", "please delete my account": a request for the assistant to act."""
    return bool(_ASKS_US_TO_ACT.search(text or ""))


# Whether one order can be refunded, asked about that order: "does order 10003 qualify for a refund", "is my order
# eligible for a return" (not "what qualifies for a refund", a policy question).
_ORDER_ELIGIBLE = re.compile(
    r"\b(?:qualif\w*|eligible|eligibility|entitled|returnable|refundable)\b", re.IGNORECASE)
_ABOUT_AN_ORDER = re.compile(r"\b(?:my|this|that|the) (?:order|purchase)\b", re.IGNORECASE)


def asks_if_order_is_refundable(text: Optional[str]) -> bool:
    """"does order 10003 qualify for a refund", "is my order eligible for a return": one order's eligibility."""
    if not text or not _ORDER_ELIGIBLE.search(text):
        return False
    names_order = any(span.entity == ORDER_ID and span.explicit for span in find_entities(text))
    return names_order or bool(_ABOUT_AN_ORDER.search(text))


def is_question(text: Optional[str]) -> bool:
    """"is the bottle dishwasher safe?", "how do i return it": a question, not a statement ("it was the bottle")."""
    return bool(text) and (text.rstrip().endswith("?") or bool(_QUESTION_OPENER.search(text)))


# "why?", "but why is that", "i just want to know why": asks the reason for what was just said, naming nothing
# ("why not" is a yes).
_ASKS_WHY = re.compile(
    r"^\W*(?:(?:no|nah|but|ok|okay|so|and|well|hm+|wait)\W+)*"
    r"(?:(?:i|we)(?:'d| would)?(?: just| only)? (?:want|wanna|need|like) to know |can you (?:tell me|explain) )?"
    r"(?:why|how come)(?:\W+(?:is that|is it|that|though|tho|so|exactly|would that be|do you (?:ask|need (?:it|that|this))))*"
    r"\W*$",
    re.IGNORECASE,
)


def asks_why(text: Optional[str]) -> bool:
    return bool(text and _ASKS_WHY.match(text))


# "why can't you do it?", "but why can't you just change it for me": asks why the assistant can't do what was asked.
_ASKS_WHY_YOU_CANT = re.compile(
    r"^\W*(?:(?:but|so|ok|okay|and|well|wait)\W+)*why (?:can ?n?'?o?t|cannot|won'?t|couldn'?t|are ?n'?t) (?:you|u)\b"
    r"(?:\s+(?:just\s+)?(?:able to\s+)?(?:do|help|change|delete|close|update|cancel|send|fix|reset|make|edit|remove)\b[^?.!]{0,30})?"
    r"\W*$",
    re.IGNORECASE,
)


def asks_why_you_cant(text: Optional[str]) -> bool:
    return bool(text and _ASKS_WHY_YOU_CANT.match(text))


# Where one request of a message ends and the next begins: "cancel 10002 and refund 10003", "10001; 10003".
_NEXT_REQUEST = re.compile(r"\b(?:and|also|plus|then)\b|[,;]", re.IGNORECASE)


def task_in(words: str) -> Optional[str]:
    """The order task a short stretch of a message asks for by its words, or None: a refund's status ("where
    is my refund"), a cancellation, a refund or return, then a status ("where is", "track")."""
    refund = TASK_WORDS["refund"].search(words)
    if refund and TASK_WORDS["status"].search(words) and TASK_WORDS["refund_status"].search(words):
        return "refund_status"
    if TASK_WORDS["cancel"].search(words):
        return "cancel"
    if refund:
        return "refund"
    return "status" if TASK_WORDS["status"].search(words) else None


def tasks_by_order(text: Optional[str], default: str) -> Dict[str, str]:
    """The task each order number of ``text`` asks for, in reading order: "cancel order 10002 and refund 10003"
    -> {"10002": "cancel", "10003": "refund"}.

    An order number's words are those before it, back to the previous order number or the last "and" / comma
    between them; when those hold no task, the words after it up to the next order number ("10003 needs to go
    back"); else ``default``, the task of the message as a whole ("cancel 10002 and 10004").
    """
    text = text or ""
    numbers = [span for span in find_entities(text) if span.entity == ORDER_ID]
    tasks: Dict[str, str] = {}
    for i, span in enumerate(numbers):
        before = text[numbers[i - 1].end if i else 0 : span.start]
        cuts = list(_NEXT_REQUEST.finditer(before))
        if cuts:
            before = before[cuts[-1].end() :]
        after = text[span.end : numbers[i + 1].start if i + 1 < len(numbers) else len(text)]
        task = task_in(before) or task_in(_NEXT_REQUEST.split(after)[0]) or default
        tasks.setdefault(span.value, task)
    return tasks
