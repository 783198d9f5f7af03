"""Brightbay's intent classifier (offline stage): a Rasa wrapper around `OfflineIntentModel`.

The model (`bot/nlu/offline_model.py`, no Rasa imports) joins all-MiniLM-L6-v2
embeddings with character and word n-grams, mixes a linear SVM and an RBF SVM and
calibrates the result with a temperature fitted on out-of-fold scores. This component
trains it on the NLU data, persists it through Rasa's model storage, and writes a full
intent ranking. When the top probability is below `out_of_scope_threshold` the intent
becomes `out_of_scope` (the ranking is left as the model gave it).
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.offline_model import OfflineIntentModel, apply_out_of_scope

logger = logging.getLogger(__name__)

# Set on every classified message: the offline verdict before the out-of-scope rule.
OFFLINE_KEY = "offline_intent"
MODEL_PARAMS = (
    "regularization",
    "char_ngram_range",
    "word_ngram_range",
    "embedding_weight",
    "kernel_regularization",
    "kernel_weight",
    "calibration_folds",
    "max_chars",
    "batch_size",
)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class FewShotIntentClassifier(GraphComponent, IntentClassifier):
    """Classifies intents from embeddings and n-grams, with calibrated confidences."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            # C of the linear SVM over embeddings + n-grams (smaller = more regularised).
            "regularization": 0.3,
            # Character n-gram sizes (inside word boundaries) for the TF-IDF features.
            "char_ngram_range": [2, 5],
            # Word n-gram sizes for the TF-IDF features.
            "word_ngram_range": [1, 2],
            # Weight of the embedding block against the n-gram blocks in the linear SVM.
            "embedding_weight": 3.0,
            # C of the RBF-kernel SVM over the embeddings.
            "kernel_regularization": 3.0,
            # Share of the RBF SVM in the mixed scores (0 = linear SVM only, 1 = RBF only).
            "kernel_weight": 0.8,
            # Stratified folds whose out-of-fold scores fit the softmax temperature (< 2 = no calibration).
            "calibration_folds": 3,
            # Below this top probability the intent becomes `out_of_scope_intent`
            # (0 switches it off); tuned by benchmarks/tune_oos.py.
            "out_of_scope_threshold": 0.58,
            # The intent given to messages below the threshold.
            "out_of_scope_intent": "out_of_scope",
            # Characters of a message that are classified; the rest is ignored.
            "max_chars": 1000,
            # Intents listed in the ranking (0 lists all).
            "ranking_length": 10,
            # Texts embedded per batch.
            "batch_size": 64,
        }

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: Optional[OfflineIntentModel] = None,
    ) -> None:
        self.component_config = config
        self._model_storage = model_storage
        self._resource = resource
        self._model = model

    @staticmethod
    def _check_range(config: Dict[Text, Any], key: str) -> None:
        value = config[key]
        if not (isinstance(value, (list, tuple)) and len(value) == 2 and 1 <= value[0] <= value[1]):
            raise ValueError(f"FewShotIntentClassifier: bad '{key}' {list(value) if isinstance(value, tuple) else value!r}.")

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        for key in ("regularization", "kernel_regularization", "embedding_weight"):
            if not config[key] > 0:
                raise ValueError(f"FewShotIntentClassifier: '{key}' must be > 0, got {config[key]!r}.")
        cls._check_range(config, "char_ngram_range")
        cls._check_range(config, "word_ngram_range")
        if not 0.0 <= config["kernel_weight"] <= 1.0:
            raise ValueError(f"FewShotIntentClassifier: 'kernel_weight' must be in [0, 1], got {config['kernel_weight']!r}.")
        threshold = config["out_of_scope_threshold"]
        if not isinstance(threshold, (int, float)) or not 0.0 <= threshold <= 1.0:
            raise ValueError(f"FewShotIntentClassifier: 'out_of_scope_threshold' must be in [0, 1], got {threshold!r}.")
        if config["max_chars"] < 1:
            raise ValueError(f"FewShotIntentClassifier: 'max_chars' must be >= 1, got {config['max_chars']!r}.")
        if config["ranking_length"] < 0:
            raise ValueError(f"FewShotIntentClassifier: 'ranking_length' must be >= 0, got {config['ranking_length']!r}.")

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "FewShotIntentClassifier":
        cls.validate_config(config)
        return cls(config, model_storage, resource)

    def _new_model(self) -> OfflineIntentModel:
        return OfflineIntentModel(**{key: self.component_config[key] for key in MODEL_PARAMS})

    # Training ---------------------------------------------------------------

    def train(self, training_data: TrainingData) -> Resource:
        examples = [e for e in training_data.intent_examples if e.get(TEXT) and e.get(INTENT)]
        if len({e.get(INTENT) for e in examples}) < 2:
            logger.warning("FewShotIntentClassifier needs at least two intents to train; skipping.")
            return self._resource
        texts = [e.get(TEXT) for e in examples]
        labels = [e.get(INTENT) for e in examples]
        logger.info(f"Training the offline intent model on {len(texts)} examples.")
        self._model = self._new_model().fit(texts, labels, progress=len(texts) > 500)
        logger.info(f"Offline intent model: temperature {self._model.temperature_:.3f}, {self._model.calibration_}.")
        self.persist()
        return self._resource

    def persist(self) -> None:
        with self._model_storage.write_to(self._resource) as directory:
            self._model.save(directory)

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "FewShotIntentClassifier":
        try:
            with model_storage.read_from(resource) as directory:
                model = OfflineIntentModel.load(directory)
        except (ValueError, FileNotFoundError):
            logger.warning("FewShotIntentClassifier found no trained model; it will predict nothing.")
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, model)

    # Inference --------------------------------------------------------------

    @property
    def model(self) -> Optional[OfflineIntentModel]:
        return self._model

    def predict_proba(self, texts: List[str]) -> np.ndarray:
        """Calibrated intent probabilities, one row per text, columns in `self.intents` order."""
        return self._model.predict_proba(texts)

    @property
    def intents(self) -> List[str]:
        return list(self._model.classes_) if self._model is not None else []

    def process(self, messages: List[Message]) -> List[Message]:
        if self._model is None or not messages:
            return messages
        probabilities = self.predict_proba([m.get(TEXT) or "" for m in messages])
        verdicts = apply_out_of_scope(
            probabilities,
            self.intents,
            self.component_config["out_of_scope_threshold"],
            self.component_config["out_of_scope_intent"],
        )
        length = self.component_config["ranking_length"] or len(self.intents)
        for message, row, (name, confidence) in zip(messages, probabilities, verdicts):
            order = np.argsort(row)[::-1]
            ranking = [
                {INTENT_NAME_KEY: self.intents[i], PREDICTED_CONFIDENCE_KEY: float(row[i])} for i in order[:length]
            ]
            message.set(INTENT, {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: confidence}, add_to_output=True)
            message.set("intent_ranking", ranking, add_to_output=True)
            message.set(OFFLINE_KEY, dict(ranking[0], out_of_scope=name != ranking[0][INTENT_NAME_KEY]), add_to_output=True)
        return messages
