"""Brightbay's intent classifier: an offline stage, and an LLM stage when configured.

The offline stage, always on, is `OfflineIntentModel` (bot/nlu/offline_model.py, no
Rasa imports): all-MiniLM-L6-v2 embeddings joined with character and word n-grams, a
linear SVM and an RBF SVM mixed, and a softmax temperature fitted on out-of-fold
scores so confidences mean something. Below `out_of_scope_threshold` the intent
becomes `out_of_scope` (the ranking is left as the model gave it).

The LLM stage (bot/nlu/llm_stage.py) runs only when an OpenAI-compatible endpoint is
configured and the offline stage is unsure or says out_of_scope. Any LLM failure
keeps the offline verdict. Each call's model, tokens, latency and cost go into the
message's parse data under `llm`.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Text, Tuple

import numpy as np
import yaml
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.llm import AsyncLLMClient, LLMError, LLMSettings, make_cache
from bot.llm.runner import BackgroundLoop
from bot.nlu import offload
from bot.nlu.embeddings import embed, embed_one, load_encoder, training_threads
from bot.nlu.llm_stage import ExampleIndex, LLMIntentStage, LLMVerdict
from bot.nlu.offline_model import OfflineIntentModel, apply_out_of_scope
from bot.nlu.sentiment import SENTIMENT
from bot.sentiment import label_for

logger = logging.getLogger(__name__)

DESCRIPTIONS_FILE = Path(__file__).with_name("intent_descriptions.yml")
LLM = "llm"
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
    """Classifies intents offline with calibrated confidences, asking an LLM when unsure."""

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
            # ...unless the top two intents (neither out of scope) hold at least this together: a message torn
            # between two of the assistant's intents is ambiguous, not off-topic (1.0 switches it off);
            # measured by benchmarks/oos.py.
            "out_of_scope_pair_threshold": 0.9,
            # The intent given to messages below the threshold.
            "out_of_scope_intent": "out_of_scope",
            # Characters of a message that are classified; the rest is ignored.
            "max_chars": 1000,
            # Intents listed in the ranking (0 lists all).
            "ranking_length": 10,
            # Texts embedded per batch.
            "batch_size": 64,
            # The LLM stage runs when OPENAI_API_KEY or OPENAI_BASE_URL is set and the offline
            # top confidence is below this (or the offline verdict is out_of_scope); 1.0 asks
            # on every message. LLM_THRESHOLD in the environment overrides it at load time.
            "llm_threshold": 0.7,
            # The fast model's confidence below which the strong model is asked as well.
            "strong_model_threshold": 0.75,
            # The fast, cheap model asked first; None takes LLM_FAST_MODEL or the client's default.
            "fast_model": None,
            # The strong model for unsure or disputed verdicts; None takes LLM_STRONG_MODEL or the default.
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
        model: Optional[OfflineIntentModel] = None,
        examples: Optional[ExampleIndex] = None,
        llm_stage: Optional[LLMIntentStage] = None,
    ) -> None:
        self.component_config = config
        self._model_storage = model_storage
        self._resource = resource
        self._model = model
        self._examples = examples
        self._llm_stage = llm_stage
        self._llm_loop = BackgroundLoop() if llm_stage is not None else None

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
        for key in ("kernel_weight", "out_of_scope_threshold", "out_of_scope_pair_threshold", "llm_threshold",
                    "strong_model_threshold"):
            value = config[key]
            if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ValueError(f"FewShotIntentClassifier: '{key}' must be in [0, 1], got {value!r}.")
        if config["max_chars"] < 1:
            raise ValueError(f"FewShotIntentClassifier: 'max_chars' must be >= 1, got {config['max_chars']!r}.")
        if config["ranking_length"] < 0:
            raise ValueError(f"FewShotIntentClassifier: 'ranking_length' must be >= 0, got {config['ranking_length']!r}.")
        for key in ("llm_timeout", "llm_budget"):
            if not config[key] > 0:
                raise ValueError(f"FewShotIntentClassifier: '{key}' must be > 0 seconds, got {config[key]!r}.")
        for model, price in (config["prices"] or {}).items():
            if not (isinstance(price, (list, tuple)) and len(price) == 2 and all(p >= 0 for p in price)):
                raise ValueError(
                    f"FewShotIntentClassifier: price of {model!r} must be [prompt, completion] USD per 1M tokens, got {price!r}."
                )

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
        clipped = [t[: self.component_config["max_chars"]] for t in texts]
        with training_threads():
            embeddings = embed(clipped, self.component_config["batch_size"], show_progress=len(texts) > 500)
        self._model = self._new_model().fit(texts, labels, progress=len(texts) > 500, embeddings=embeddings)
        self._examples = ExampleIndex(texts, labels, embeddings)
        logger.info(f"Offline intent model: temperature {self._model.temperature_:.3f}, {self._model.calibration_}.")
        self.persist()
        return self._resource

    def persist(self) -> None:
        with self._model_storage.write_to(self._resource) as directory:
            self._model.save(directory)
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
                model = OfflineIntentModel.load(directory)
                examples = ExampleIndex.load(directory) if (directory / ExampleIndex.FILE).exists() else None
        except (ValueError, FileNotFoundError):
            logger.warning("FewShotIntentClassifier found no trained model; it will predict nothing.")
            return cls(config, model_storage, resource)
        load_encoder()  # now, not on the first customer's message
        if os.environ.get("LLM_THRESHOLD"):
            # Operators tune when the LLM is asked without retraining the model.
            config = {**config, "llm_threshold": float(os.environ["LLM_THRESHOLD"])}
        stage = cls._llm_stage_from_env(config, list(model.classes_), os.environ)
        if stage is not None:
            offload.enable(config["nlu_workers"])
        return cls(config, model_storage, resource, model, examples, stage)

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

    @property
    def model(self) -> Optional[OfflineIntentModel]:
        return self._model

    def predict_proba(self, texts: List[str]) -> np.ndarray:
        """Calibrated intent probabilities, one row per text, columns in `self.intents` order."""
        clipped = [t[: self.component_config["max_chars"]] for t in texts]
        # A served message is embedded through the shared cache (greetings and yes/no repeat all day).
        embeddings = embed_one(clipped[0])[None, :] if len(clipped) == 1 else None
        return self._model.predict_proba(clipped, embeddings=embeddings)

    @property
    def intents(self) -> List[str]:
        return list(self._model.classes_) if self._model is not None else []

    def process(self, messages: List[Message]) -> List[Message]:
        if self._model is None or not messages:
            return messages
        probabilities = self.predict_proba([m.get(TEXT) or "" for m in messages])
        out_of_scope = self.component_config["out_of_scope_intent"]
        for message, row in zip(messages, probabilities):
            scores = {intent: float(p) for intent, p in zip(self.intents, row)}
            [(name, confidence)] = apply_out_of_scope(
                row[None, :], self.intents, self.component_config["out_of_scope_threshold"], out_of_scope,
                self.component_config["out_of_scope_pair_threshold"],
            )
            top = max(scores, key=scores.get)
            message.set(OFFLINE_KEY, {INTENT_NAME_KEY: top, PREDICTED_CONFIDENCE_KEY: scores[top], "out_of_scope": name != top}, add_to_output=True)
            threshold = self.component_config["llm_threshold"]
            if self._llm_stage is not None and (scores[top] < threshold or threshold >= 1.0 or name == out_of_scope):
                verdict = self._ask_llm(message, scores)
                if verdict is not None:
                    scores = self._scores_with(verdict, scores)
                    name, confidence = verdict.intent, verdict.confidence
            self._set_ranking(message, scores, name, confidence)
        return messages

    def _set_ranking(self, message: Message, scores: Dict[str, float], name: str, confidence: float) -> None:
        length = self.component_config["ranking_length"] or len(scores)
        ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)[:length]
        message.set(INTENT, {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: confidence}, add_to_output=True)
        message.set(
            "intent_ranking",
            [{INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: score} for intent, score in ranked],
            add_to_output=True,
        )

    def _ask_llm(self, message: Message, offline: Dict[str, float]) -> Optional[LLMVerdict]:
        """The LLM's verdict, or None (offline verdict kept) when the LLM fails."""
        text = (message.get(TEXT) or "")[: self.component_config["max_chars"]]
        examples: List[Tuple[str, str]] = []
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
            return None
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
        return verdict

    @staticmethod
    def _scores_with(verdict: LLMVerdict, offline: Dict[str, float]) -> Dict[str, float]:
        """The LLM's intent leads with its confidence; the others keep their offline proportions."""
        rest = {name: p for name, p in offline.items() if name != verdict.intent}
        total = sum(rest.values()) or 1.0
        scores = {name: (1.0 - verdict.confidence) * p / total for name, p in rest.items()}
        scores[verdict.intent] = verdict.confidence
        return scores
