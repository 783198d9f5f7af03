"""Rule-based extractor for order numbers, emails and ZIP codes.

These entities have fixed formats, so rules beat a trained tagger: they never
miss "#10001" written a new way and never invent a number that isn't there.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.parsing import EMAIL, ORDER_ID, ZIP_CODE, find_entities

SUPPORTED_ENTITIES = (ORDER_ID, EMAIL, ZIP_CODE)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class OrderEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Finds `order_id`, `email` and `zip_code` entities with `bot.parsing`."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            # Entities to report; any of order_id, email, zip_code.
            "entities": list(SUPPORTED_ENTITIES),
        }

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._entities = set(config["entities"])

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "OrderEntityExtractor":
        unknown = sorted(set(config["entities"]) - set(SUPPORTED_ENTITIES))
        if unknown:
            raise ValueError(
                f"OrderEntityExtractor cannot extract {unknown}; choose from {list(SUPPORTED_ENTITIES)}."
            )
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            found = [
                {"entity": span.entity, "value": span.value, "start": span.start, "end": span.end, "confidence_entity": 1.0}
                for span in find_entities(message.get(TEXT))
                if span.entity in self._entities
            ]
            if found:
                entities = message.get(ENTITIES, []) + self.add_extractor_name(found)
                message.set(ENTITIES, entities, add_to_output=True)
        return messages
