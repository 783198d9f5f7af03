"""Marks messages no classifier should guess at: empty, wordless, huge or not in English.

Runs last in the pipeline. Such a message gets intent `nlu_fallback` and a
`message_problem` code in its parse data, so `action_fallback` can say exactly
what was wrong instead of guessing an intent.
"""
from __future__ import annotations

import re
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
NOT_ENGLISH = "not_english"

# The most frequent short words of the languages Brightbay's customers most often write in besides English,
# without those that are English words too ("a", "me", "no", "die", "son", "per", "est", "as", "um"...).
_FOREIGN_WORDS = frozenset(
    # Spanish
    "el la los las del que por para con una unos está esta dónde donde mi mis qué cómo cuándo cuando hola "
    "gracias quiero necesito tengo puedo pero porque también todavía pedido envío devolución "
    # French
    "le les des du un une où mon ma mes qui pour avec dans sur pas je vous bonjour merci commande veux besoin "
    "comment quand colis remboursement livraison "
    # German
    "der das und ist nicht ich mein meine wo wann wie bitte danke bestellung hallo mit für auf ein eine "
    "haben kann lieferung "
    # Portuguese and Italian
    "os meu minha onde obrigado olá quero preciso não il lo gli della dove mio ordine grazie ciao voglio sono "
    "è".split()
)
_ENGLISH_WORDS = frozenset(
    "the is are my where what when how i you to and it of for on in can do does order please thanks "
    "your with this that have has was not".split()
)
_WORD = re.compile(r"[^\W\d_]+")


def reads_as_foreign(text: str) -> bool:
    """At least two words, at least half of them common words of Spanish, French, German, Portuguese or
    Italian, and fewer English ones. Conservative: a name or one borrowed word leaves a message English."""
    words = _WORD.findall(text.lower())
    if len(words) < 2:
        return False
    foreign = sum(w in _FOREIGN_WORDS for w in words)
    english = sum(w in _ENGLISH_WORDS for w in words)
    return foreign * 2 >= len(words) and english < foreign


def message_problem(text: Optional[str], max_chars: int, english_only: bool = True) -> Optional[str]:
    """The reason a message cannot be understood, or None when it can be read."""
    if text is None or not text.strip():
        return EMPTY
    if len(text) > max_chars:
        return TOO_LONG
    if not any(ch.isalnum() for ch in text):
        return NO_WORDS
    if english_only and reads_as_foreign(text):
        return NOT_ENGLISH
    return None


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class MessageGuard(GraphComponent, IntentClassifier):
    """Overrides the intent of unreadable messages with `nlu_fallback`."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            # Messages longer than this many characters are not classified.
            "max_chars": 1000,
            # Messages that read as Spanish, French, German, Portuguese or Italian are not classified: the
            # assistant and the support team answer in English only (data/kb/contact.md).
            "english_only": True,
        }

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._max_chars = config["max_chars"]
        self._english_only = config["english_only"]

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
        if not isinstance(config["english_only"], bool):
            raise ValueError(f"MessageGuard: 'english_only' must be true or false, got {config['english_only']!r}.")
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            problem = message_problem(message.get(TEXT), self._max_chars, self._english_only)
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
