"""Sentiment and anger of every customer message, for the handoff policy.

Adds `sentiment: {score, label, anger, source}` to each message's parse data,
scored by `bot.sentiment` (VADER + anger cues, shouting, threats). When the LLM
stage classified the message, its sentiment replaces this one (see
FewShotIntentClassifier).
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.sentiment import score_text

SENTIMENT = "sentiment"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SupportSentimentScorer(GraphComponent):
    """Adds `sentiment` (score, label, anger, source) to every message."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            # A score at or below this marks the message as angry.
            "anger_threshold": -0.6,
            # Subtracted from the score per anger cue (insults, profanity, "fed up", "rip-off").
            "cue_penalty": 0.3,
            # Subtracted for shouting (two or more words in capitals, or "!!!").
            "shouting_penalty": 0.2,
            # Subtracted for a threat (lawyer, chargeback...); a threat always counts as anger.
            "threat_penalty": 0.5,
        }

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._config = {key: config[key] for key in self.get_default_config()}

    @classmethod
    def create(
        cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource, execution_context: ExecutionContext
    ) -> "SupportSentimentScorer":
        if not -1.0 <= config["anger_threshold"] <= 1.0:
            raise ValueError(f"SupportSentimentScorer: 'anger_threshold' must be in [-1, 1], got {config['anger_threshold']!r}.")
        for key in ("cue_penalty", "shouting_penalty", "threat_penalty"):
            if not 0.0 <= config[key] <= 2.0:
                raise ValueError(f"SupportSentimentScorer: '{key}' must be in [0, 2], got {config[key]!r}.")
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data  # nothing to learn

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            message.set(SENTIMENT, score_text(message.get(TEXT), **self._config).as_dict(), add_to_output=True)
        return messages
