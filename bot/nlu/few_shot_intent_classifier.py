"""Brightbay's intent classifier: sentence embeddings plus character n-grams.

The offline stage: all-MiniLM-L6-v2 embeddings of each example (meaning) are
joined with TF-IDF character n-grams (spelling: typos, order-number formats) and
a multinomial logistic regression is trained over both. It needs no GPU, trains
in seconds and returns a full, normalised intent ranking.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

import joblib
import numpy as np
import scipy.sparse as sp
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from bot.nlu.embeddings import embed

logger = logging.getLogger(__name__)

MODEL_FILE = "offline_classifier.joblib"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class FewShotIntentClassifier(GraphComponent, IntentClassifier):
    """Classifies intents from embeddings and character n-grams."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            # Inverse regularisation strength of the logistic regression.
            "regularization": 20.0,
            # Character n-gram sizes (inside word boundaries) for the TF-IDF features.
            "char_ngram_range": [2, 5],
            # Weight of the embedding block against the n-gram block.
            "embedding_weight": 2.0,
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
        vectorizer: Optional[TfidfVectorizer] = None,
        classifier: Optional[LogisticRegression] = None,
    ) -> None:
        self.component_config = config
        self._model_storage = model_storage
        self._resource = resource
        self._vectorizer = vectorizer
        self._classifier = classifier

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "FewShotIntentClassifier":
        if config["regularization"] <= 0:
            raise ValueError(f"FewShotIntentClassifier: 'regularization' must be > 0, got {config['regularization']!r}.")
        low, high = config["char_ngram_range"]
        if not 1 <= low <= high:
            raise ValueError(f"FewShotIntentClassifier: bad 'char_ngram_range' {config['char_ngram_range']!r}.")
        if config["max_chars"] < 1:
            raise ValueError(f"FewShotIntentClassifier: 'max_chars' must be >= 1, got {config['max_chars']!r}.")
        return cls(config, model_storage, resource)

    # Training ---------------------------------------------------------------

    def _features(self, texts: List[str], show_progress: bool = False) -> sp.csr_matrix:
        texts = [t[: self.component_config["max_chars"]] for t in texts]
        dense = embed(texts, self.component_config["batch_size"], show_progress) * self.component_config["embedding_weight"]
        return sp.hstack([sp.csr_matrix(dense), self._vectorizer.transform(texts)], format="csr")

    def train(self, training_data: TrainingData) -> Resource:
        examples = [e for e in training_data.intent_examples if e.get(TEXT) and e.get(INTENT)]
        if len({e.get(INTENT) for e in examples}) < 2:
            logger.warning("FewShotIntentClassifier needs at least two intents to train; skipping.")
            return self._resource
        texts = [e.get(TEXT) for e in examples]
        labels = [e.get(INTENT) for e in examples]
        self._vectorizer = TfidfVectorizer(
            analyzer="char_wb", ngram_range=tuple(self.component_config["char_ngram_range"]), sublinear_tf=True, lowercase=True
        ).fit(texts)
        logger.info(f"Embedding {len(texts)} training examples.")
        features = self._features(texts, show_progress=len(texts) > 500)
        self._classifier = LogisticRegression(C=self.component_config["regularization"], max_iter=3000)
        self._classifier.fit(features, labels)
        self.persist()
        return self._resource

    def persist(self) -> None:
        with self._model_storage.write_to(self._resource) as directory:
            joblib.dump({"vectorizer": self._vectorizer, "classifier": self._classifier}, directory / MODEL_FILE)

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
                state = joblib.load(directory / MODEL_FILE)
        except (ValueError, FileNotFoundError):
            logger.warning("FewShotIntentClassifier found no trained model; it will predict nothing.")
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, state["vectorizer"], state["classifier"])

    # Inference --------------------------------------------------------------

    def predict_proba(self, texts: List[str]) -> np.ndarray:
        """Intent probabilities, one row per text, columns in `self.intents` order."""
        return self._classifier.predict_proba(self._features(texts))

    @property
    def intents(self) -> List[str]:
        return list(self._classifier.classes_) if self._classifier is not None else []

    def process(self, messages: List[Message]) -> List[Message]:
        if self._classifier is None or not messages:
            return messages
        probabilities = self.predict_proba([m.get(TEXT) or "" for m in messages])
        length = self.component_config["ranking_length"] or len(self.intents)
        for message, row in zip(messages, probabilities):
            order = np.argsort(row)[::-1]
            ranking = [
                {INTENT_NAME_KEY: self.intents[i], PREDICTED_CONFIDENCE_KEY: float(row[i])} for i in order[:length]
            ]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set("intent_ranking", ranking, add_to_output=True)
        return messages
