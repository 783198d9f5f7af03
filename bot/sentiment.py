"""Sentiment and anger of a customer message, from the text alone (no Rasa imports).

VADER's lexicon (shipped with the package) scores the words; support chats add
signals it misses: anger cues (insults, profanity, "fed up", "rip-off"),
shouting in capitals or "!!!", and threats (lawyers, chargebacks). The NLU
component `bot.nlu.sentiment.SupportSentimentScorer` puts this on every message;
the handoff decision reads it back with `sentiment_of`.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Dict, Mapping, Optional

NEUTRAL_BAND = 0.05

# Anger rather than mere disappointment: "ugh" and "annoying" are deliberately absent,
# mild annoyance is no reason to hand a conversation off.
_ANGER_CUES = re.compile(
    r"\b(?:f+u+c+k\w*|f\*+k\w*|wtf|shit\w*|bullshit|crap\w*|goddamn\w*|damn\w*|bloody|piss(?:ed)?|"
    r"idiot\w*|stupid|moron\w*|useless|pathetic|incompetent|ridiculous|unacceptable|outrageous|"
    r"disgrace\w*|disgusting|furious|livid|outraged|infuriat\w*|angry|mad at|fed up|sick of|"
    r"sick and tired|had enough|worst|terrible service|horrible service|joke of a|never again|"
    r"rip[- ]?off|scam\w*|fraudsters?|thie(?:f|ves)|clowns?)\b",
    re.IGNORECASE,
)
_THREATS = re.compile(
    r"\b(?:sue|suing|lawyer|attorney|legal action|take you to court|chargeback|report you|better business bureau|bbb)\b",
    re.IGNORECASE,
)
_SHOUTED_WORD = re.compile(r"\b[A-Z]{3,}\b")
# Capitals that are conventions, not shouting: carriers, acronyms, and SQL keywords (pasted code is no anger).
_NOT_SHOUTING = {
    "UPS", "USPS", "ZIP", "USA", "EST", "PDF", "SMS", "FAQ", "CEO", "ETA", "VIP", "GDPR", "CCPA", "BBB",
    "SELECT", "DROP", "TABLE", "INSERT", "INTO", "DELETE", "UPDATE", "UNION", "FROM", "NULL", "AND",
}


@dataclass(frozen=True)
class Sentiment:
    score: float  # -1 (very negative) .. 1 (very positive)
    label: str  # negative | neutral | positive
    anger: bool
    source: str  # lexicon | llm | nlu

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)


def label_for(score: float) -> str:
    if score <= -NEUTRAL_BAND:
        return "negative"
    if score >= NEUTRAL_BAND:
        return "positive"
    return "neutral"


# Words that describe what is wrong with an order, not how the customer feels about it ("it has dead pixels",
# "wrong item and it is damaged"): VADER scores them like emotions (dead -3.3), which made plain defect reports
# read as anger. They keep this share of their score, so a report is still negative.
PRODUCT_FAULT_WORDS = (
    "dead", "broken", "damaged", "defective", "faulty", "died", "lost", "missing", "wrong", "stolen", "problem",
    "error", "fail", "failed", "fails", "shattered", "stuck",
)
PRODUCT_FAULT_WEIGHT = 0.4
# The words of what happens to an order or a payment ("can i refuse the delivery?", "my card was declined and
# charged", "cancel it"): VADER scores them like feelings (refuse -1.2, cancel -1.0), which with an "ugh" made a
# question read as anger and handed it off. They keep the same share.
ORDER_PROCESS_WORDS = (
    "refuse", "refused", "reject", "rejected", "cancel", "cancelled", "charged", "delay", "delayed", "blocked",
    "denied", "deny", "dispute", "complaint", "complain", "stop",
)


@lru_cache(maxsize=1)
def _analyzer():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    for word in PRODUCT_FAULT_WORDS + ORDER_PROCESS_WORDS:
        if word in analyzer.lexicon:
            analyzer.lexicon[word] *= PRODUCT_FAULT_WEIGHT
    return analyzer


@lru_cache(maxsize=4096)
def score_text(
    text: Optional[str],
    anger_threshold: float = -0.6,
    cue_penalty: float = 0.3,
    shouting_penalty: float = 0.2,
    threat_penalty: float = 0.5,
) -> Sentiment:
    """Lexicon sentiment adjusted for anger cues, shouting and threats."""
    if not text or not text.strip():
        return Sentiment(0.0, "neutral", False, "lexicon")
    compound = float(_analyzer().polarity_scores(text)["compound"])
    cues = len(_ANGER_CUES.findall(text))
    threats = bool(_THREATS.search(text))
    shouted = [w for w in _SHOUTED_WORD.findall(text) if w not in _NOT_SHOUTING]
    shouting = len(shouted) >= 2 or "!!!" in text
    score = compound - cue_penalty * cues - (shouting_penalty if shouting else 0.0) - (threat_penalty if threats else 0.0)
    score = max(-1.0, min(1.0, score))
    anger = (
        score <= anger_threshold
        or threats
        or cues >= 2
        or (cues >= 1 and score <= -0.3)
        or (shouting and score <= -0.3)
    )
    return Sentiment(round(score, 3), label_for(score), bool(anger), "lexicon")


def sentiment_of(parse_data: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """A message's sentiment: the NLU's when present and well-formed, else scored from its text."""
    parse_data = parse_data or {}
    given = parse_data.get("sentiment")
    if isinstance(given, Mapping):
        try:
            score = max(-1.0, min(1.0, float(given.get("score", 0.0))))
        except (TypeError, ValueError):
            score = None
        if score is not None:
            return {
                "score": score,
                "label": given.get("label") or label_for(score),
                "anger": bool(given.get("anger", False)),
                "source": given.get("source") or "nlu",
            }
    return score_text(parse_data.get("text")).as_dict()
