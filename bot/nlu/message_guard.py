"""Marks messages no classifier should guess at: empty, wordless or huge.

Runs last in the pipeline. Such a message gets intent `nlu_fallback` and a
`message_problem` code in its parse data, so `action_fallback` can say exactly
what was wrong instead of guessing an intent.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

MESSAGE_PROBLEM = "message_problem"
EMPTY = "empty"
NO_WORDS = "no_words"
TOO_LONG = "too_long"


def message_problem(text: Optional[str], max_chars: int) -> Optional[str]:
    """The reason a message cannot be understood, or None when it can be read."""
    if text is None or not text.strip():
        return EMPTY
    if len(text) > max_chars:
        return TOO_LONG
    if not any(ch.isalnum() for ch in text):
        return NO_WORDS
    return None


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class MessageGuard(GraphComponent, IntentClassifier):
    """Overrides the intent of unreadable messages with `nlu_fallback`."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            # Messages longer than this many characters are not classified.
            "max_chars": 1000,
        }

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._max_chars = config["max_chars"]

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "MessageGuard":
        if not isinstance(config["max_chars"], int) or config["max_chars"] < 1:
            raise ValueError(f"MessageGuard: 'max_chars' must be a positive integer, got {config['max_chars']!r}.")
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            problem = message_problem(message.get(TEXT), self._max_chars)
            if problem is None:
                continue
            message.set(MESSAGE_PROBLEM, problem, add_to_output=True)
            message.set(
                INTENT,
                {INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME, PREDICTED_CONFIDENCE_KEY: 1.0},
                add_to_output=True,
            )
            message.set("entities", [], add_to_output=True)
        return messages
