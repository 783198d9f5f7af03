"""A small sentiment and anger scorer, used only when a message carries no ``sentiment``.

The NLU pipeline is expected to attach ``parse_data["sentiment"] = {"score", "label",
"anger", "source"}`` to every user message. Until it does (and for trackers written
before it did), the handoff policy scores the text itself with VADER plus a short list
of anger cues (profanity, insults, shouting), so the decision degrades gracefully.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Dict, Mapping, Optional

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

NEGATIVE_BELOW = -0.05
POSITIVE_ABOVE = 0.05
CUE_PENALTY = 0.3

# Words that signal anger rather than mere disappointment. "ugh" and "annoying" are
# deliberately absent: mild annoyance is not a reason to hand off.
_ANGER_CUES = re.compile(
    r"\b(?:f+u+c+k\w*|f\*+k\w*|wtf|shit\w*|bullshit|crap\w*|goddamn\w*|damn\w*|bloody|piss(?:ed)?|"
    r"idiot\w*|stupid|moron\w*|useless|pathetic|incompetent|ridiculous|unacceptable|outrageous|"
    r"disgrace\w*|disgusting|furious|livid|outraged|infuriat\w*|angry|mad at|fed up|sick of|"
    r"sick and tired|had enough|worst|terrible service|horrible service|joke of a|never again|"
    r"rip[- ]?off|fraudsters?|thie(?:f|ves))\b",
    re.IGNORECASE,
)
_SHOUTED_WORD = re.compile(r"\b[A-Z]{3,}\b")
_NOT_SHOUTING = {"UPS", "USPS", "ZIP", "USA", "EST", "PDF", "SMS", "FAQ", "CEO", "ETA", "VIP", "GDPR", "CCPA", "BBB"}


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def label_for(score: float) -> str:
    if score <= NEGATIVE_BELOW:
        return "negative"
    if score >= POSITIVE_ABOVE:
        return "positive"
    return "neutral"


@lru_cache(maxsize=4096)
def _score_text(text: str) -> Dict[str, Any]:
    compound = float(_analyzer().polarity_scores(text)["compound"]) if text.strip() else 0.0
    cues = len(_ANGER_CUES.findall(text))
    shouted = [w for w in _SHOUTED_WORD.findall(text) if w not in _NOT_SHOUTING]
    shouting = len(shouted) >= 2 or "!!!" in text
    score = compound - CUE_PENALTY * cues - (0.2 if shouting else 0.0)
    score = max(-1.0, min(1.0, score))
    anger = cues >= 2 or (cues >= 1 and score <= -0.3) or (shouting and score <= -0.3)
    return {"score": round(score, 3), "label": label_for(score), "anger": bool(anger), "source": "lexicon"}


def score_text(text: Optional[str]) -> Dict[str, Any]:
    """The sentiment dict the NLU would attach, computed from ``text`` alone."""
    return dict(_score_text(text or ""))


def sentiment_of(parse_data: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """The message's sentiment: the NLU's when present and well-formed, else our own."""
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
    return score_text(parse_data.get("text"))
