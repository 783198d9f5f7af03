"""Sentiment and anger of each customer message, for the handoff policy.

Offline, a lexicon scorer (VADER, whose lexicon ships with the package) is
adjusted for what support chats show and VADER misses: shouting in capitals,
runs of exclamation marks, insults and threats. When the LLM stage classified
the message, its sentiment replaces this one (see FewShotIntentClassifier).
Every message gets `sentiment: {score, label, anger, source}` in its parse data.
"""
from __future__ import annotations

import re
import threading
from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

SENTIMENT = "sentiment"

_INSULTS = re.compile(
    r"\b(idiot\w*|stupid|useless|incompetent|pathetic|garbage|trash|scam\w*|rip[- ]?off|clowns?|morons?|"
    r"worst|disgrace\w*|shit\w*|crap|damn|wtf|f+u+c+k\w*|ridiculous|unacceptable|joke)\b",
    re.I,
)
_THREATS = re.compile(
    r"\b(sue|suing|lawyer|attorney|legal action|court|chargeback|dispute (?:the|this) charge|report you|"
    r"better business bureau|bbb|never (?:shop|order|buy)\w* (?:here|from you) again)\b",
    re.I,
)
_vader_lock = threading.Lock()
_vader = None


@dataclass(frozen=True)
class Sentiment:
    score: float  # -1 (very negative) .. 1 (very positive)
    label: str  # negative | neutral | positive
    anger: bool
    source: str  # lexicon | llm

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)


def label_for(score: float, neutral_band: float = 0.2) -> str:
    if score <= -neutral_band:
        return "negative"
    if score >= neutral_band:
        return "positive"
    return "neutral"


def _analyzer():
    global _vader
    with _vader_lock:
        if _vader is None:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

            _vader = SentimentIntensityAnalyzer()
        return _vader


def score_text(
    text: Optional[str],
    anger_threshold: float = -0.6,
    caps_penalty: float = 0.25,
    insult_penalty: float = 0.45,
    threat_penalty: float = 0.5,
) -> Sentiment:
    """Lexicon sentiment plus the support-chat signals VADER misses."""
    if not text or not text.strip():
        return Sentiment(0.0, "neutral", False, "lexicon")
    score = _analyzer().polarity_scores(text)["compound"]
    words = re.findall(r"[A-Za-z]{3,}", text)
    shouting = len(words) >= 2 and sum(w.isupper() for w in words) / len(words) >= 0.6
    exclaims = text.count("!") >= 3
    insults = bool(_INSULTS.search(text))
    threats = bool(_THREATS.search(text))
    if shouting or exclaims:
        score -= caps_penalty
    if insults:
        score -= insult_penalty
    if threats:
        score -= threat_penalty
    score = max(-1.0, min(1.0, score))
    anger = score <= anger_threshold or threats or (insults and score < 0) or ((shouting or exclaims) and score < -0.2)
    return Sentiment(round(score, 3), label_for(score), anger, "lexicon")


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SupportSentimentScorer(GraphComponent):
    """Adds `sentiment` (score, label, anger, source) to every message."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            # A score at or below this marks the message as angry.
            "anger_threshold": -0.6,
            # Subtracted from the score for shouting (mostly capitals) or "!!!".
            "caps_penalty": 0.25,
            # Subtracted when the message insults (idiots, useless, scam...).
            "insult_penalty": 0.45,
            # Subtracted when the message threatens (lawyer, chargeback...); threats are always anger.
            "threat_penalty": 0.5,
        }

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._config = {k: config[k] for k in self.get_default_config()}

    @classmethod
    def create(
        cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource, execution_context: ExecutionContext
    ) -> "SupportSentimentScorer":
        if not -1.0 <= config["anger_threshold"] <= 1.0:
            raise ValueError(f"SupportSentimentScorer: 'anger_threshold' must be in [-1, 1], got {config['anger_threshold']!r}.")
        for key in ("caps_penalty", "insult_penalty", "threat_penalty"):
            if not 0.0 <= config[key] <= 2.0:
                raise ValueError(f"SupportSentimentScorer: '{key}' must be in [0, 2], got {config[key]!r}.")
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:  # nothing to learn
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            message.set(SENTIMENT, score_text(message.get(TEXT), **self._config).as_dict(), add_to_output=True)
        return messages
