"""When to hand a conversation to a person, and why: one pure function over tracker events.

``evaluate`` reads plain event dicts (``DialogueStateTracker.events`` as dicts in Rasa,
``Tracker.events`` in rasa-sdk), so the policy that decides and the action that writes the
handoff record compute the same reasons from the same tracker. Every threshold lives in
``HandoffConfig`` (defaults = ``HandoffPolicy.get_default_config()``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from bot.parsing import ASKS_TO_SPEED_UP_PATTERN, ASKS_WHY_SO_LONG_PATTERN, WANTS_TO_BUY_PATTERN
from bot.sentiment import sentiment_of

ANGER = "anger"
REPEATED = "repeated"
HIGH_VALUE = "high_value"
EXPLICIT_REQUEST = "explicit_request"
SENSITIVE = "sensitive"
REASONS = (SENSITIVE, ANGER, HIGH_VALUE, REPEATED, EXPLICIT_REQUEST)

HANDOFF_ACTION = "action_handoff"
ACTION_LISTEN = "action_listen"
PRIORITY_LABELS = {3: "urgent", 2: "high", 1: "normal"}

# Conversation boundaries: only what happened after the last one counts.
_SEGMENT_STARTS = {"resume", "restart", "session_started"}

DEFAULTS: Dict[str, Any] = {
    # anger: a message scoring at or below this (sentiment score in [-1, 1]) is strongly negative.
    "anger_score_threshold": -0.6,
    # anger: trust the message's anger flag (NLU sentiment or the lexicon fallback).
    "use_anger_flag": True,
    # anger: the anger flag only counts when the score is at or below this (so "damn, that's great" does not).
    "anger_flag_max_score": -0.25,
    # anger: rising negativity is judged over this many latest customer messages...
    "trend_window": 3,
    # ...whose mean score is at or below this...
    "trend_mean_threshold": -0.3,
    # ...and whose latest score is at least this much below the first in the window.
    "trend_min_drop": 0.2,
    # repeated: this many consecutive not-understood messages (nlu_fallback or low confidence).
    "max_consecutive_fallbacks": 3,
    # repeated: intents that count as not understood whatever their confidence (out_of_scope: the
    # assistant could not help with it; three in a row is a customer the bot is failing).
    "not_understood_intents": ["nlu_fallback", "out_of_scope"],
    # repeated: an intent confidence below this counts as not understood.
    "low_confidence_threshold": 0.4,
    # repeated: the same request (intent + order number) this many times since the last handoff.
    "max_same_request": 3,
    # repeated: without an order number, same-intent messages count as the same request only when their
    # meaning is this close to the latest (cosine of MiniLM embeddings): rephrasings score 0.8-0.98,
    # different questions under one intent ("do you ship to canada", "how long does shipping take") 0.2-0.4.
    "same_request_min_similarity": 0.5,
    # repeated: intents that are answers or small talk, never "the same request again".
    "repeat_ignored_intents": ["inform", "affirm", "deny", "greet", "goodbye", "thank_you", "nlu_fallback"],
    # repeated: the customer says the answer did not help (regular expressions, case-insensitive).
    "not_helped_patterns": [
        r"\b(?:did ?n[o']?t|does ?n[o']?t|do ?n[o']?t|not|never) (?:really )?help(?:ed|ful|ing)?\b",
        r"\bnot (?:very |at all )?helpful\b",
        r"\bunhelpful\b",
        r"\b(?:that|this|it) (?:does ?n[o']?t|did ?n[o']?t|does not|did not) answer\b",
        r"\bnot what i (?:asked|meant|need(?:ed)?)\b",
        r"\byou(?:'re| are) not (?:listening|understanding|getting it)\b",
        r"\byou (?:do ?n[o']?t|don't) understand\b",
        r"\bi (?:already|just) (?:tried|did) (?:that|this|it)\b",
        r"\b(?:same|that) (?:answer|reply|response|thing) again\b",
        r"\b(?:still|it|that|this) (?:does ?n[o']?t|did ?n[o']?t|does not|did not) work\b",
        r"\bstill (?:nothing|no luck|not working|the same|no (?:email|link|code|reply|answer))\b",
        r"\b(?:i|we)(?:'ve| have)? (?:already |also |just )?tried (?:two|2|three|3|several|multiple|different|another|other|both|all|everything)\b",
        r"\bgoing (?:round and round|in circles)\b",
    ],
    # high_value: a verified order above this amount (USD) is high value.
    "high_value_amount": 500,
    # high_value: customer tiers that are always high value.
    "vip_tiers": ["vip"],
    # high_value: after these actions on a high-value order (a refund just filed for approval).
    "high_value_after_actions": ["action_confirm_refund"],
    # high_value: customer intents that hand off a high-value order at once.
    "high_value_intents": ["complaint", "payment_issue"],
    # ...read with at least this confidence ("is it too late?" about a $650 return, read as a complaint at 0.59,
    # handed the customer off mid-question).
    "high_value_intent_min_confidence": 0.7,
    # ...unless the message matches one of these: questions the assistant answers for any order ("can i get it
    # faster", read as a complaint at 0.9, handed a $1,249 order off instead of saying when it ships; "why is it
    # taking so long" about that order, due to ship the same day). A late order's answer offers a person.
    "high_value_question_patterns": [ASKS_TO_SPEED_UP_PATTERN, ASKS_WHY_SO_LONG_PATTERN],
    # explicit_request: the intent that asks for a person...
    "human_intent": "contact_human_agent",
    # ...with at least this confidence.
    "human_intent_min_confidence": 0.4,
    # explicit_request: phrasings that ask for a person even when the intent was missed.
    "human_request_patterns": [
        r"\b(?:talk|speak|chat|connect|transfer|put)\b[^.?!]{0,30}\b(?:human|person|agent|representative|rep|operator|someone|somebody|manager|supervisor|people)\b",
        r"\b(?:real|live|actual) (?:person|human|agent|people)\b",
        r"\bhuman (?:agent|being|please)\b",
        r"^\s*(?:agent|human|representative|operator)(?: please)?[.!]*\s*$",
        # "ok yes connect me" (read as affirm, 0.94) a turn after the offer was made: the words say what the yes
        # is for.
        r"^\W*(?:(?:ok|okay|yes|yeah|yep|sure|fine|alright|please|then|just)\W+)*(?:connect|transfer|put) me"
        r"(?: through| over)?(?! to (?:the |your )?(?:wi-?fi|internet|network|bluetooth|app|tv|speaker))\b",
    ],
    # explicit_request: a yes worded as one of these is a yes to something else, not to an offer of a person ("ok
    # i'll take it" after the product page's "Talk to a person" button handed a buyer off).
    "not_a_yes_to_the_offer_patterns": [WANTS_TO_BUY_PATTERN],
    # explicit_request: a yes right after one of these actions or responses (they offer a person). A yes
    # right after a bot message with a button whose payload is /<human_intent> counts too.
    "agent_offer_actions": [
        "utter_complaint", "utter_damaged_item", "utter_wrong_item", "utter_parcel_not_received", "utter_delay",
        "utter_replacement", "utter_send_missing_item", "utter_stopped_working", "utter_stopped_working_maker", "utter_stopped_working_any",
        "utter_wrong_charge", "utter_double_charge", "action_answer_complaint",
        "action_answer_payment_issue",
    ],
    # sensitive: categories of regular expressions for legal threats, privacy and security.
    "sensitive_patterns": {
        "legal": [
            r"\b(?:lawyer|attorney|solicitor|lawsuit|sue|suing|legal action|small claims|court|litigation)\b",
            r"\b(?:consumer protection|better business bureau|bbb|trading standards|ftc|attorney general)\b",
        ],
        "privacy": [
            r"\b(?:gdpr|ccpa|data protection|privacy (?:request|complaint|violation|breach))\b",
            r"\b(?:data breach|leaked my|sold my (?:data|information)|copy of (?:my|all) (?:personal )?data)\b",
            r"\b(?:delete|erase|remove) (?:all )?(?:of )?my (?:personal )?(?:data|information|info)\b",
            r"\bwhat (?:personal )?data (?:do you|you) (?:have|hold|store)\b",
        ],
        "security": [
            r"\b(?:fraud\w*|scam\w*|identity theft|stolen (?:card|identity|account))\b",
            r"\b(?:hacked|hijacked|compromised|phishing)\b",
            r"\b(?:unauthori[sz]ed|did ?n[o']?t (?:make|authori[sz]e|place)|never (?:made|placed|ordered|authori[sz]ed))\b[^.?!]{0,40}\b(?:charge|purchase|order|payment|transaction)s?\b",
            r"\bsomeone (?:else )?(?:used|accessed|logged into|got into|is using) my (?:account|card)\b",
        ],
    },
    # priority of each reason (3 urgent, 2 high, 1 normal); a handoff takes its reasons' highest.
    "reason_priority": {SENSITIVE: 3, ANGER: 3, HIGH_VALUE: 2, REPEATED: 2, EXPLICIT_REQUEST: 1},
}


@dataclass(frozen=True)
class OrderFacts:
    """What the decision needs to know about the verified order."""

    order_id: int
    total: Decimal
    customer_tier: str


OrderLookup = Callable[[int, str], Optional[OrderFacts]]
TextSimilarity = Callable[[str, str], float]


def embedding_similarity(first: str, second: str) -> float:
    """Cosine of the two texts' MiniLM embeddings (cached per text; the NLU has the model loaded)."""
    from bot.nlu.embeddings import embed_one

    return float(embed_one(first) @ embed_one(second))


@dataclass(frozen=True)
class Turn:
    """One customer message as the decision sees it."""

    text: str
    intent: Optional[str]
    confidence: float
    sentiment: Dict[str, Any]
    order_ids: Tuple[str, ...]
    previous_action: Optional[str]
    timestamp: Optional[float] = None
    # What the bot's messages just before this one offered: the payloads of their buttons
    # ("/contact_human_agent": a person) and the responses they were made from ("utter_complaint",
    # also when a custom action sent it).
    offered_payloads: Tuple[str, ...] = ()
    offered_responses: Tuple[str, ...] = ()
    # How many messages the bot sent just before this one (none recorded in a story test's tracker).
    bot_messages: int = 0
    # The help center's answers to it (grounded answers' texts): understood, whatever its intent and confidence.
    help_center_answers: Tuple[str, ...] = ()

    @property
    def answered_from_help_center(self) -> bool:
        return bool(self.help_center_answers)


@dataclass(frozen=True)
class Decision:
    """Why (and how urgently) to hand off; ``reasons`` empty means no handoff."""

    reasons: Tuple[str, ...] = ()
    evidence: Dict[str, List[str]] = field(default_factory=dict)
    priority: int = 0
    trigger: str = "none"  # "user_turn", "after_action" or "none"

    @property
    def handoff(self) -> bool:
        return bool(self.reasons)

    @property
    def priority_label(self) -> str:
        return PRIORITY_LABELS.get(self.priority, "none")

    def as_metadata(self) -> Dict[str, Any]:
        return {
            "handoff_reasons": list(self.reasons),
            "handoff_evidence": {k: list(v) for k, v in self.evidence.items()},
            "handoff_priority": self.priority,
            "handoff_priority_label": self.priority_label,
            "handoff_trigger": self.trigger,
        }


class HandoffConfigError(ValueError):
    """A handoff setting has a value the decision cannot use."""


def validate_config(config: Mapping[str, Any]) -> Dict[str, Any]:
    """Defaults merged with ``config``; raises HandoffConfigError naming the bad value."""
    merged = {**DEFAULTS, **{k: v for k, v in config.items() if k in DEFAULTS}}

    def number(key: str, low: float, high: float) -> None:
        value = merged[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise HandoffConfigError(f"HandoffPolicy: '{key}' must be a number in [{low}, {high}], got {value!r}")

    def integer(key: str, low: int) -> None:
        value = merged[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise HandoffConfigError(f"HandoffPolicy: '{key}' must be an integer >= {low}, got {value!r}")

    for key in ("anger_score_threshold", "anger_flag_max_score", "trend_mean_threshold"):
        number(key, -1.0, 1.0)
    number("trend_min_drop", 0.0, 2.0)
    number("low_confidence_threshold", 0.0, 1.0)
    number("same_request_min_similarity", -1.0, 1.0)
    number("human_intent_min_confidence", 0.0, 1.0)
    number("high_value_intent_min_confidence", 0.0, 1.0)
    number("high_value_amount", 0, 1e9)
    integer("trend_window", 2)
    integer("max_consecutive_fallbacks", 1)
    integer("max_same_request", 2)
    for key in ("repeat_ignored_intents", "not_understood_intents", "vip_tiers", "high_value_after_actions", "high_value_intents",
                "agent_offer_actions", "not_helped_patterns", "human_request_patterns", "high_value_question_patterns",
                "not_a_yes_to_the_offer_patterns"):
        value = merged[key]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise HandoffConfigError(f"HandoffPolicy: '{key}' must be a list of strings, got {value!r}")
    if not isinstance(merged["use_anger_flag"], bool):
        raise HandoffConfigError(f"HandoffPolicy: 'use_anger_flag' must be true or false, got {merged['use_anger_flag']!r}")
    if not isinstance(merged["human_intent"], str) or not merged["human_intent"]:
        raise HandoffConfigError(f"HandoffPolicy: 'human_intent' must be an intent name, got {merged['human_intent']!r}")
    sensitive = merged["sensitive_patterns"]
    if not isinstance(sensitive, Mapping) or not all(
        isinstance(v, (list, tuple)) and all(isinstance(p, str) for p in v) for v in sensitive.values()
    ):
        raise HandoffConfigError(
            f"HandoffPolicy: 'sensitive_patterns' must map a category to a list of patterns, got {sensitive!r}"
        )
    priority = merged["reason_priority"]
    if not isinstance(priority, Mapping) or set(priority) != set(REASONS) or not all(
        isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 3 for v in priority.values()
    ):
        raise HandoffConfigError(
            f"HandoffPolicy: 'reason_priority' must give each of {list(REASONS)} a priority 1-3, got {priority!r}"
        )
    for key in ("not_helped_patterns", "human_request_patterns", "high_value_question_patterns"):
        for pattern in merged[key]:
            _compile(pattern, key)
    for category, patterns in sensitive.items():
        for pattern in patterns:
            _compile(pattern, f"sensitive_patterns.{category}")
    return merged


def _compile(pattern: str, key: str) -> "re.Pattern[str]":
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise HandoffConfigError(f"HandoffPolicy: '{key}' has an invalid pattern {pattern!r}: {exc}") from None


def _patterns(patterns: Sequence[str]) -> List["re.Pattern[str]"]:
    return [re.compile(p, re.IGNORECASE) for p in patterns]


def segment(events: Sequence[Mapping[str, Any]]) -> List[Mapping[str, Any]]:
    """The events since the conversation last (re)started or was handed back to the bot."""
    start = 0
    for index, event in enumerate(events):
        if event.get("event") in _SEGMENT_STARTS:
            start = index + 1
    return list(events[start:])


def user_turns(events: Sequence[Mapping[str, Any]]) -> List[Turn]:
    """Customer messages of ``events`` with intent, confidence and sentiment."""
    turns: List[Turn] = []
    previous_action: Optional[str] = None
    offered: List[str] = []
    responses: List[str] = []
    sent = 0
    for event in events:
        kind = event.get("event")
        if kind == "action":
            name = event.get("name")
            if name != ACTION_LISTEN:
                previous_action = name
        elif kind == "bot":
            sent += 1
            buttons = (event.get("data") or {}).get("buttons") or []
            offered += [str(b.get("payload")) for b in buttons if isinstance(b, Mapping) and b.get("payload")]
            metadata = event.get("metadata") or {}
            response = metadata.get("utter_action")
            if isinstance(response, str):
                responses.append(response)
            if turns and ((metadata.get("kb_answer") or {}).get("grounded")):
                answers = turns[-1].help_center_answers + (str(event.get("text") or ""),)
                turns[-1] = replace(turns[-1], help_center_answers=answers)
        elif kind == "user":
            parse = dict(event.get("parse_data") or {})
            parse.setdefault("text", event.get("text") or "")
            intent = parse.get("intent") or {}
            entities = parse.get("entities") or []
            turns.append(
                Turn(
                    text=event.get("text") or "",
                    intent=intent.get("name"),
                    confidence=float(intent.get("confidence") or 0.0),
                    sentiment=sentiment_of(parse),
                    order_ids=tuple(str(e.get("value")) for e in entities if e.get("entity") == "order_id"),
                    previous_action=previous_action,
                    timestamp=event.get("timestamp"),
                    offered_payloads=tuple(offered),
                    offered_responses=tuple(responses),
                    bot_messages=sent,
                )
            )
            offered, responses, sent = [], [], 0
    return turns


def latest_trigger(events: Sequence[Mapping[str, Any]]) -> Tuple[str, Optional[str]]:
    """("user_turn", None) right after a customer message, ("after_action", name) right
    after a bot action, ("none", None) otherwise (e.g. handed off already)."""
    for event in reversed(events):
        kind = event.get("event")
        if kind == "user":
            return "user_turn", None
        if kind == "action":
            name = event.get("name")
            if name == ACTION_LISTEN:
                return "none", None
            if name == HANDOFF_ACTION:
                return "none", None
            return "after_action", name
        if kind in _SEGMENT_STARTS or kind == "pause":
            return "none", None
    return "none", None


def _anger(turns: List[Turn], cfg: Mapping[str, Any]) -> List[str]:
    latest = turns[-1]
    score = float(latest.sentiment.get("score", 0.0))
    evidence = []
    if score <= cfg["anger_score_threshold"]:
        evidence.append(f"strongly negative message (sentiment {score:+.2f}): {latest.text!r}")
    elif cfg["use_anger_flag"] and latest.sentiment.get("anger") and score <= cfg["anger_flag_max_score"]:
        evidence.append(f"angry message (sentiment {score:+.2f}, {latest.sentiment.get('source')}): {latest.text!r}")
    window = cfg["trend_window"]
    if not evidence and len(turns) >= window:
        scores = [float(t.sentiment.get("score", 0.0)) for t in turns[-window:]]
        if sum(scores) / window <= cfg["trend_mean_threshold"] and scores[0] - scores[-1] >= cfg["trend_min_drop"]:
            evidence.append("negativity rising over the last messages: " + " → ".join(f"{s:+.2f}" for s in scores))
    return evidence


def _repeated(turns: List[Turn], cfg: Mapping[str, Any], similarity: TextSimilarity) -> List[str]:
    evidence = []
    not_understood = 0
    not_understood_intents = set(cfg["not_understood_intents"])
    for turn in reversed(turns):
        unsure = turn.intent in not_understood_intents or turn.confidence < cfg["low_confidence_threshold"]
        if unsure and not turn.answered_from_help_center:
            not_understood += 1
        else:
            break
    if not_understood >= cfg["max_consecutive_fallbacks"]:
        evidence.append(f"{not_understood} messages in a row not understood")
    latest = turns[-1]
    ignored = set(cfg["repeat_ignored_intents"])
    if latest.intent and latest.intent not in ignored:
        key = (latest.intent, latest.order_ids[:1])
        same = [t for t in turns if (t.intent, t.order_ids[:1]) == key]
        if not latest.order_ids and len(same) >= cfg["max_same_request"]:
            # One intent covers many questions (delivery_options: countries, prices, speeds); asking
            # three of them is exploring, asking one three times is going in circles.
            threshold = cfg["same_request_min_similarity"]
            same = [t for t in same if t is latest or similarity(t.text, latest.text) >= threshold]
            earlier = [t.help_center_answers for t in same if t is not latest]
            if all(earlier) and len(set(earlier)) == len(earlier):
                # Each earlier one got a different help-center answer ("how do i use a discount code",
                # "is there a student discount"): new questions on one topic, not the same one again.
                same = [latest]
        if len(same) >= cfg["max_same_request"]:
            evidence.append(f"asked for {latest.intent} {len(same)} times")
    for pattern in _patterns(cfg["not_helped_patterns"]):
        if pattern.search(latest.text):
            evidence.append(f"says the answer did not help: {latest.text!r}")
            break
    return evidence


def _explicit(turns: List[Turn], cfg: Mapping[str, Any]) -> List[str]:
    latest = turns[-1]
    if latest.intent == cfg["human_intent"] and latest.confidence >= cfg["human_intent_min_confidence"]:
        return [f"asked for a person ({latest.intent}, {latest.confidence:.2f}): {latest.text!r}"]
    for pattern in _patterns(cfg["human_request_patterns"]):
        if pattern.search(latest.text):
            return [f"asked for a person: {latest.text!r}"]
    offers = set(cfg["agent_offer_actions"])
    # A reply that offered a person with a button ("If you'd like, I can connect you...") is an offer too:
    # typing "yes" must do what clicking the button does.
    button = f"/{cfg['human_intent']}"
    by_button = any(p == button or p.startswith(button + "{") for p in latest.offered_payloads)
    by_response = bool(offers & set(latest.offered_responses))
    # A response in the list is the offer itself; a custom action in it counts when its messages offered a
    # person, or none are recorded (a story test's tracker): "ok" after the complaint action answered with the
    # order's dates instead ("It's still on its way...") accepts nothing.
    action = latest.previous_action or ""
    by_action = action in offers and (action.startswith("utter_") or latest.bot_messages == 0 or by_button or by_response)
    if any(pattern.search(latest.text) for pattern in _patterns(cfg["not_a_yes_to_the_offer_patterns"])):
        return []
    if latest.intent == "affirm" and (by_action or by_response):
        return [f"accepted the offer of a person after {latest.previous_action}: {latest.text!r}"]
    if latest.intent == "affirm" and by_button:
        return [f"accepted the offer of a person (button after {latest.previous_action}): {latest.text!r}"]
    return []


def _sensitive(turns: List[Turn], cfg: Mapping[str, Any]) -> List[str]:
    latest = turns[-1]
    evidence = []
    for category, patterns in cfg["sensitive_patterns"].items():
        for pattern in _patterns(patterns):
            match = pattern.search(latest.text)
            if match:
                evidence.append(f"{category}: {match.group(0)!r} in {latest.text!r}")
                break
    return evidence


def _verified_order(slots: Mapping[str, Any], lookup: Optional[OrderLookup]) -> Optional[OrderFacts]:
    order_id, identity = slots.get("order_id"), slots.get("order_identity")
    if lookup is None or not order_id or not identity:
        return None
    try:
        return lookup(int(order_id), str(identity))
    except (TypeError, ValueError):
        return None


def _high_value(order: Optional[OrderFacts], cfg: Mapping[str, Any]) -> List[str]:
    if order is None:
        return []
    evidence = []
    if order.total > Decimal(str(cfg["high_value_amount"])):
        evidence.append(f"order {order.order_id} totals ${order.total:,.2f} (over ${cfg['high_value_amount']:,})")
    if order.customer_tier in set(cfg["vip_tiers"]):
        evidence.append(f"customer tier {order.customer_tier}")
    return evidence


def evaluate(
    events: Sequence[Mapping[str, Any]],
    slots: Mapping[str, Any],
    config: Optional[Mapping[str, Any]] = None,
    order_lookup: Optional[OrderLookup] = None,
    similarity: Optional[TextSimilarity] = None,
) -> Decision:
    """Whether to hand off now, with reason codes and the evidence for each.

    ``similarity`` compares two messages' meaning (default: cosine of their MiniLM embeddings).
    """
    cfg = validate_config(config or {})
    events = segment(events)
    trigger, action = latest_trigger(events)
    turns = user_turns(events)
    if trigger == "none" or not turns:
        return Decision()
    evidence: Dict[str, List[str]] = {}
    if trigger == "after_action":
        if action in set(cfg["high_value_after_actions"]):
            found = _high_value(_verified_order(slots, order_lookup), cfg)
            if found:
                evidence[HIGH_VALUE] = [f"after {action}: " + "; ".join(found)]
    else:
        checks = {
            SENSITIVE: _sensitive(turns, cfg),
            ANGER: _anger(turns, cfg),
            REPEATED: _repeated(turns, cfg, similarity or embedding_similarity),
            EXPLICIT_REQUEST: _explicit(turns, cfg),
        }
        evidence.update({reason: found for reason, found in checks.items() if found})
        latest = turns[-1]
        high_value_intent = (
            latest.intent in set(cfg["high_value_intents"])
            and latest.confidence >= cfg["high_value_intent_min_confidence"]
            and not any(pattern.search(latest.text) for pattern in _patterns(cfg["high_value_question_patterns"]))
        )
        if high_value_intent or (evidence and order_lookup is not None):
            found = _high_value(_verified_order(slots, order_lookup), cfg)
            if found:
                evidence[HIGH_VALUE] = found
    reasons = tuple(reason for reason in REASONS if reason in evidence)
    if not reasons:
        return Decision(trigger=trigger)
    priority = max(cfg["reason_priority"][reason] for reason in reasons)
    return Decision(reasons=reasons, evidence=evidence, priority=priority, trigger=trigger)
