"""Brightbay's intent classifier: an offline stage, and an LLM stage when configured.

The offline stage, always on: all-MiniLM-L6-v2 embeddings of each example
(meaning) are joined with TF-IDF character n-grams (spelling: typos,
order-number formats) and a multinomial logistic regression is trained over
both. It needs no GPU, trains in seconds and returns a full intent ranking.

The LLM stage (bot/nlu/llm_stage.py) runs only when an OpenAI-compatible
endpoint is configured and the offline stage is unsure or says out_of_scope.
Any LLM failure keeps the offline verdict. Each call's model, tokens, latency
and cost go into the message's parse data under `llm`.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Text

import yaml

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

from bot.llm import AsyncLLMClient, LLMError, LLMSettings, make_cache
from bot.llm.runner import BackgroundLoop
from bot.nlu import offload
from bot.nlu.embeddings import embed, embed_one, load_encoder
from bot.nlu.llm_stage import OUT_OF_SCOPE, ExampleIndex, LLMIntentStage, LLMVerdict
from bot.nlu.sentiment import SENTIMENT
from bot.sentiment import label_for

logger = logging.getLogger(__name__)

MODEL_FILE = "offline_classifier.joblib"
DESCRIPTIONS_FILE = Path(__file__).with_name("intent_descriptions.yml")
LLM = "llm"


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
            # The LLM stage runs when OPENAI_API_KEY or OPENAI_BASE_URL is set and the offline
            # top confidence is below this (or the offline verdict is out_of_scope).
            "llm_threshold": 0.7,
            # The fast model's confidence below which the strong model is asked as well.
            "strong_model_threshold": 0.75,
            # Model names; None takes LLM_FAST_MODEL / LLM_STRONG_MODEL or the client's defaults.
            "fast_model": None,
            "strong_model": None,
            # Training examples nearest to the message that the prompt shows.
            "few_shot_examples": 8,
            # Turns of the conversation before the message that the prompt shows.
            "history_turns": 4,
            # Seconds one LLM request may take (then it is retried or given up).
            "llm_timeout": 3.0,
            # Seconds the whole LLM stage may take before the offline verdict is used.
            "llm_budget": 6.0,
            # USD per million prompt and completion tokens, for cost accounting.
            "prices": {"gpt-4o-mini": [0.15, 0.60], "gpt-4o": [2.50, 10.00]},
            # Threads that run the NLU graph off the server's event loop, so a slow
            # LLM call never stalls other conversations.
            "nlu_workers": 16,
        }

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        vectorizer: Optional[TfidfVectorizer] = None,
        classifier: Optional[LogisticRegression] = None,
        examples: Optional[ExampleIndex] = None,
        llm_stage: Optional[LLMIntentStage] = None,
    ) -> None:
        self.component_config = config
        self._model_storage = model_storage
        self._resource = resource
        self._vectorizer = vectorizer
        self._classifier = classifier
        self._examples = examples
        self._llm_stage = llm_stage
        self._llm_loop = BackgroundLoop() if llm_stage is not None else None

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
        for key in ("llm_threshold", "strong_model_threshold"):
            if not 0.0 <= config[key] <= 1.0:
                raise ValueError(f"FewShotIntentClassifier: '{key}' must be in [0, 1], got {config[key]!r}.")
        for key in ("llm_timeout", "llm_budget"):
            if not config[key] > 0:
                raise ValueError(f"FewShotIntentClassifier: '{key}' must be > 0 seconds, got {config[key]!r}.")
        for model, price in (config["prices"] or {}).items():
            if not (isinstance(price, (list, tuple)) and len(price) == 2 and all(p >= 0 for p in price)):
                raise ValueError(f"FewShotIntentClassifier: price of {model!r} must be [prompt, completion] USD per 1M tokens, got {price!r}.")
        return cls(config, model_storage, resource)

    # Training ---------------------------------------------------------------

    def _features(self, texts: List[str], embeddings: Optional[np.ndarray] = None) -> sp.csr_matrix:
        texts = [t[: self.component_config["max_chars"]] for t in texts]
        if embeddings is None and len(texts) == 1:
            embeddings = embed_one(texts[0])[None, :]  # a served message: cached
        elif embeddings is None:
            embeddings = embed(texts, self.component_config["batch_size"])
        dense = embeddings * self.component_config["embedding_weight"]
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
        clipped = [t[: self.component_config["max_chars"]] for t in texts]
        embeddings = embed(clipped, self.component_config["batch_size"], show_progress=len(texts) > 500)
        self._classifier = LogisticRegression(C=self.component_config["regularization"], max_iter=3000)
        self._classifier.fit(self._features(clipped, embeddings), labels)
        self._examples = ExampleIndex(texts, labels, embeddings)
        self.persist()
        return self._resource

    def persist(self) -> None:
        with self._model_storage.write_to(self._resource) as directory:
            joblib.dump({"vectorizer": self._vectorizer, "classifier": self._classifier}, directory / MODEL_FILE)
            if self._examples is not None:
                self._examples.save(directory)

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
                examples = ExampleIndex.load(directory) if (directory / ExampleIndex.FILE).exists() else None
        except (ValueError, FileNotFoundError):
            logger.warning("FewShotIntentClassifier found no trained model; it will predict nothing.")
            return cls(config, model_storage, resource)
        classifier = state["classifier"]
        load_encoder()  # now, not on the first customer's message
        if os.environ.get("LLM_THRESHOLD"):
            # Operators tune when the LLM is asked without retraining the model.
            config = {**config, "llm_threshold": float(os.environ["LLM_THRESHOLD"])}
        stage = cls._llm_stage_from_env(config, list(classifier.classes_), os.environ)
        if stage is not None:
            offload.enable(config["nlu_workers"])
        return cls(config, model_storage, resource, state["vectorizer"], classifier, examples, stage)

    @staticmethod
    def _llm_stage_from_env(config: Dict[Text, Any], intents: List[str], environ: Any) -> Optional[LLMIntentStage]:
        """The LLM stage when an endpoint is configured; settings are read once, here."""
        overrides: Dict[str, Any] = {
            "timeout_s": config["llm_timeout"],
            "prices": {model: tuple(price) for model, price in (config["prices"] or {}).items()},
        }
        for key in ("fast_model", "strong_model"):
            if config[key]:
                overrides[key] = config[key]
        settings = LLMSettings.from_env(environ, **overrides)
        if not settings.configured:
            return None
        with open(DESCRIPTIONS_FILE) as handle:
            described = yaml.safe_load(handle)
        descriptions = {name: described.get(name, name.replace("_", " ")) for name in intents}
        client = AsyncLLMClient(settings, cache=make_cache(environ.get("REDIS_URL")))
        logger.info(f"LLM stage on: {settings.fast_model} then {settings.strong_model} at {settings.base_url or 'OpenAI'}")
        return LLMIntentStage(
            client, settings.fast_model, settings.strong_model, descriptions, config["strong_model_threshold"]
        )

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
        for message, row in zip(messages, probabilities):
            scores = {intent: float(p) for intent, p in zip(self.intents, row)}
            top = max(scores, key=scores.get)
            if self._llm_stage is not None and (scores[top] < self.component_config["llm_threshold"] or top == OUT_OF_SCOPE):
                scores = self._apply_llm(message, scores)
            self._set_ranking(message, scores)
        return messages

    def _set_ranking(self, message: Message, scores: Dict[str, float]) -> None:
        length = self.component_config["ranking_length"] or len(scores)
        ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)[:length]
        ranking = [{INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: score} for name, score in ranked]
        message.set(INTENT, ranking[0], add_to_output=True)
        message.set("intent_ranking", ranking, add_to_output=True)

    def _apply_llm(self, message: Message, offline: Dict[str, float]) -> Dict[str, float]:
        """Scores after asking the LLM; the offline scores whenever the LLM fails."""
        text = (message.get(TEXT) or "")[: self.component_config["max_chars"]]
        examples = []
        if self._examples is not None:
            examples = self._examples.nearest(embed_one(text), self.component_config["few_shot_examples"])
        history = offload.recent_turns()[-self.component_config["history_turns"] :]
        try:
            verdict: LLMVerdict = self._llm_loop.run(
                lambda: self._llm_stage.classify(text, offline, examples, history), self.component_config["llm_budget"]
            )
        except LLMError as exc:
            logger.warning(f"LLM stage failed ({type(exc).__name__}: {exc}); keeping the offline verdict.")
            message.set(LLM, {"called": True, "used": False, "error": type(exc).__name__, "calls": []}, add_to_output=True)
            return offline
        message.set(
            LLM,
            {
                "called": True,
                "used": True,
                "intent": verdict.intent,
                "model": verdict.model,
                "calls": verdict.calls,
                "cost_usd": round(sum(c.get("cost_usd", 0.0) for c in verdict.calls), 8),
                "prompt_tokens": sum(c.get("prompt_tokens", 0) for c in verdict.calls),
                "completion_tokens": sum(c.get("completion_tokens", 0) for c in verdict.calls),
            },
            add_to_output=True,
        )
        if verdict.sentiment is not None:
            anger = verdict.anger if verdict.anger is not None else verdict.sentiment <= -0.6
            message.set(
                SENTIMENT,
                {"score": verdict.sentiment, "label": label_for(verdict.sentiment), "anger": anger, "source": "llm"},
                add_to_output=True,
            )
        # The LLM's intent leads with its confidence; the others keep their offline proportions.
        rest = {name: p for name, p in offline.items() if name != verdict.intent}
        total = sum(rest.values()) or 1.0
        scores = {name: (1.0 - verdict.confidence) * p / total for name, p in rest.items()}
        scores[verdict.intent] = verdict.confidence
        return scores
