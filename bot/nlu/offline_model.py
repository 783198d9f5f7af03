"""The offline intent model: sentence embeddings + n-grams, two classifiers, calibrated.

No Rasa imports: the Rasa component (`few_shot_intent_classifier.py`) and the
benchmarks (`benchmarks/`) use this same class.

Features and classifiers
- all-MiniLM-L6-v2 embeddings (meaning) joined with TF-IDF character n-grams inside
  word boundaries (spelling, typos, order-number formats) and word uni/bigrams;
  a linear SVM (one-vs-rest) over all of them;
- an RBF-kernel SVM over the embeddings alone (non-linear boundaries in meaning space).
Each classifier's decision scores are divided by their spread on the training data and
the two are mixed (`kernel_weight`); the mixed scores go through a softmax.

Calibration
The softmax temperature is fitted (minimum negative log-likelihood) on out-of-fold
scores: the training set is split in `calibration_folds` stratified folds, each fold
is scored by models trained on the others, and the temperature that makes those
held-out probabilities most likely is kept. So a confidence of 0.8 means right about
80% of the time on unseen messages, which is what the out-of-scope threshold and the
fallback threshold need.

Out-of-scope
`apply_out_of_scope` turns a probability row into a verdict: the top intent, or the
out-of-scope intent when the top probability is below a threshold, unless the top two
in-scope intents together hold at least `pair_threshold`: a message torn between two of
the assistant's intents ("i want to cancel order 10001 and get a refund": cancel_order
0.49, get_refund 0.49) is ambiguous, not foreign, and an off-topic message spreads its
probability wider.
"""
from __future__ import annotations

import functools
import json
import logging
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import joblib
import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import SVC, LinearSVC

from bot.nlu.embeddings import training_threads

logger = logging.getLogger(__name__)

STATE_FILE = "offline_intent_model.joblib"
META_FILE = "offline_intent_model.json"
FORMAT_VERSION = 1

Embedder = Callable[[List[str], int, bool], np.ndarray]


def _default_embedder(texts: List[str], batch_size: int, show_progress: bool) -> np.ndarray:
    from bot.nlu.embeddings import embed

    return embed(texts, batch_size, show_progress)


def _as_matrix(scores: np.ndarray) -> np.ndarray:
    """sklearn gives a 1-d decision vector for two classes; make it (n, 2)."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim == 1:
        return np.column_stack([-scores, scores])
    return scores


@functools.lru_cache(maxsize=8)
def _pair_incidence(n_classes: int) -> Tuple[np.ndarray, np.ndarray]:
    """(pairs x classes) 0/1 matrices marking each SVC pair's first and second class, built once per class count."""
    first, second = np.triu_indices(n_classes, k=1)  # the pair order of SVC's columns
    pairs = np.arange(len(first))
    to_first = np.zeros((len(first), n_classes))
    to_second = np.zeros_like(to_first)
    to_first[pairs, first] = 1.0
    to_second[pairs, second] = 1.0
    to_first.setflags(write=False)
    to_second.setflags(write=False)
    return to_first, to_second


def one_vs_rest_scores(one_vs_one: np.ndarray, n_classes: int) -> np.ndarray:
    """sklearn's SVC one-vs-one decisions turned into its one-vs-rest scores, as matrix products.

    Same result as ``sklearn.utils.multiclass._ovr_decision_function`` (votes plus squashed
    summed confidences), whose Python loop over the n(n-1)/2 class pairs cost more than the
    kernel evaluation itself for one message (11% of a Rasa process's CPU under load).
    """
    to_first, to_second = _pair_incidence(n_classes)
    second_wins = (one_vs_one < 0).astype(np.float64)
    votes = (1.0 - second_wins) @ to_first + second_wins @ to_second
    confidence = one_vs_one @ to_first - one_vs_one @ to_second
    return votes + confidence / (3 * (np.abs(confidence) + 1))


def expected_calibration_error(probabilities: np.ndarray, correct: np.ndarray, bins: int = 15) -> float:
    """ECE: the gap between confidence and accuracy, averaged over equal-width confidence bins."""
    confidence = np.asarray(probabilities).max(axis=1) if np.ndim(probabilities) == 2 else np.asarray(probabilities)
    correct = np.asarray(correct, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    ece = 0.0
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (confidence > low) & (confidence <= high)
        if inside.any():
            ece += inside.mean() * abs(confidence[inside].mean() - correct[inside].mean())
    return float(ece)


def fit_temperature(scores: np.ndarray, label_index: np.ndarray) -> float:
    """The temperature T > 0 minimising the NLL of softmax(scores / T) for the true labels."""

    def nll(log_t: float) -> float:
        logp = log_softmax(scores / np.exp(log_t), axis=1)
        return float(-logp[np.arange(len(label_index)), label_index].mean())

    result = minimize_scalar(nll, bounds=(np.log(1e-3), np.log(1e3)), method="bounded")
    return float(np.exp(result.x))


def apply_out_of_scope(
    probabilities: np.ndarray, intents: Sequence[str], threshold: float, out_of_scope_intent: str = "out_of_scope",
    pair_threshold: Optional[float] = None,
) -> List[Tuple[str, float]]:
    """(intent, confidence) per row: the top intent, or out-of-scope below the threshold (unless the top two
    in-scope intents hold ``pair_threshold`` together; None: no such exception).

    A rejected message gets confidence 1 - p(top intent): how sure we are it is not that intent.
    """
    verdicts = []
    for row in np.atleast_2d(probabilities):
        ranked = np.argsort(-row, kind="stable")
        top, second = int(ranked[0]), int(ranked[min(1, len(ranked) - 1)])
        torn = (pair_threshold is not None and second != top and intents[second] != out_of_scope_intent
                and row[top] + row[second] >= pair_threshold)
        if row[top] < threshold and intents[top] != out_of_scope_intent and not torn:
            verdicts.append((out_of_scope_intent, float(1.0 - row[top])))
        else:
            verdicts.append((intents[top], float(row[top])))
    return verdicts


class OfflineIntentModel:
    """Embeddings + n-grams -> linear SVM and RBF SVM -> temperature-scaled softmax."""

    def __init__(
        self,
        regularization: float = 0.3,
        char_ngram_range: Sequence[int] = (2, 5),
        word_ngram_range: Sequence[int] = (1, 2),
        embedding_weight: float = 3.0,
        kernel_regularization: float = 3.0,
        kernel_weight: float = 0.8,
        calibration_folds: int = 3,
        max_chars: int = 1000,
        batch_size: int = 64,
        random_state: int = 0,
        embedder: Optional[Embedder] = None,
    ) -> None:
        self.params = {
            "regularization": float(regularization),
            "char_ngram_range": [int(x) for x in char_ngram_range],
            "word_ngram_range": [int(x) for x in word_ngram_range],
            "embedding_weight": float(embedding_weight),
            "kernel_regularization": float(kernel_regularization),
            "kernel_weight": float(kernel_weight),
            "calibration_folds": int(calibration_folds),
            "max_chars": int(max_chars),
            "batch_size": int(batch_size),
            "random_state": int(random_state),
        }
        self._embedder = embedder or _default_embedder
        self.classes_: List[str] = []
        self.temperature_: float = 1.0
        self.calibration_: Dict[str, float] = {}
        self.fit_seconds_: float = 0.0
        self._char: Optional[TfidfVectorizer] = None
        self._word: Optional[TfidfVectorizer] = None
        self._linear: Optional[LinearSVC] = None
        self._kernel: Optional[SVC] = None
        self._scales: Tuple[float, float] = (1.0, 1.0)

    # Features ---------------------------------------------------------------

    def _clip(self, texts: Sequence[str]) -> List[str]:
        return [(t or "")[: self.params["max_chars"]] for t in texts]

    def embed(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """Unit-length embeddings of the (clipped) texts."""
        return np.asarray(self._embedder(self._clip(texts), self.params["batch_size"], progress), dtype=np.float64)

    @staticmethod
    def _vectorizers(params: Dict) -> Tuple[TfidfVectorizer, TfidfVectorizer]:
        char = TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(params["char_ngram_range"]), sublinear_tf=True)
        word = TfidfVectorizer(
            analyzer="word", ngram_range=tuple(params["word_ngram_range"]), sublinear_tf=True, token_pattern=r"(?u)\b\w+\b"
        )
        return char, word

    def _sparse(self, texts: List[str], embeddings: np.ndarray, char, word) -> sp.csr_matrix:
        return sp.hstack(
            [sp.csr_matrix(embeddings * self.params["embedding_weight"]), char.transform(texts), word.transform(texts)],
            format="csr",
        )

    # Training ---------------------------------------------------------------

    def _fit_parts(self, texts: List[str], embeddings: np.ndarray, labels: np.ndarray):
        char, word = self._vectorizers(self.params)
        char.fit(texts)
        word.fit(texts)
        linear = LinearSVC(C=self.params["regularization"], max_iter=5000).fit(
            self._sparse(texts, embeddings, char, word), labels
        )
        kernel = SVC(
            C=self.params["kernel_regularization"], kernel="rbf", gamma="scale", decision_function_shape="ovo"
        ).fit(embeddings, labels)
        return char, word, linear, kernel

    def _raw_scores(self, parts, texts: List[str], embeddings: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        char, word, linear, kernel = parts
        return (
            _as_matrix(linear.decision_function(self._sparse(texts, embeddings, char, word))),
            self._kernel_scores(kernel, embeddings),
        )

    @staticmethod
    def _kernel_scores(kernel: SVC, embeddings: np.ndarray) -> np.ndarray:
        if len(kernel.classes_) == 2:
            return _as_matrix(kernel.decision_function(embeddings))
        return one_vs_rest_scores(kernel.decision_function(embeddings), len(kernel.classes_))

    def _mix(self, linear_scores: np.ndarray, kernel_scores: np.ndarray, scales: Tuple[float, float]) -> np.ndarray:
        w = self.params["kernel_weight"]
        return (1.0 - w) * linear_scores / scales[0] + w * kernel_scores / scales[1]

    @staticmethod
    def _spread(scores: np.ndarray) -> float:
        spread = float(np.std(scores))
        return spread if spread > 1e-9 else 1.0

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        progress: bool = False,
        embeddings: Optional[np.ndarray] = None,
    ) -> "OfflineIntentModel":
        """Trains on (text, intent) pairs; `embeddings` may be passed to skip re-embedding."""
        started = time.perf_counter()
        texts = self._clip(texts)
        y = np.asarray(labels)
        self.classes_ = sorted(set(labels))
        if len(self.classes_) < 2:
            raise ValueError(f"OfflineIntentModel needs at least two intents, got {self.classes_!r}.")
        if embeddings is None:
            with training_threads():
                embeddings = self.embed(texts, progress)
        embeddings = np.asarray(embeddings, dtype=np.float64)
        index = np.searchsorted(self.classes_, y)

        # Out-of-fold scores for the temperature.
        folds = min(self.params["calibration_folds"], int(np.bincount(index).min()))
        oof = None
        if folds >= 2:
            oof_linear = np.zeros((len(texts), len(self.classes_)))
            oof_kernel = np.zeros_like(oof_linear)
            splitter = StratifiedKFold(folds, shuffle=True, random_state=self.params["random_state"])
            splits = list(splitter.split(texts, index))
            iterator = splits
            if progress:
                from tqdm import tqdm

                iterator = tqdm(splits, desc="calibration folds")
            for train_idx, held_idx in iterator:
                parts = self._fit_parts([texts[i] for i in train_idx], embeddings[train_idx], y[train_idx])
                lin, ker = self._raw_scores(parts, [texts[i] for i in held_idx], embeddings[held_idx])
                oof_linear[held_idx], oof_kernel[held_idx] = lin, ker
            oof = (oof_linear, oof_kernel)
        else:
            logger.warning("An intent has fewer than 2 examples; confidences are not calibrated (temperature 1).")

        parts = self._fit_parts(texts, embeddings, y)
        self._char, self._word, self._linear, self._kernel = parts
        train_linear, train_kernel = self._raw_scores(parts, texts, embeddings)
        self._scales = (self._spread(train_linear), self._spread(train_kernel))

        if oof is not None:
            scores = self._mix(oof[0], oof[1], self._scales)
            self.temperature_ = fit_temperature(scores, index)
            correct = scores.argmax(axis=1) == index
            self.calibration_ = {
                "folds": folds,
                "out_of_fold_accuracy": float(correct.mean()),
                "ece_before": expected_calibration_error(softmax(scores, axis=1), correct),
                "ece_after": expected_calibration_error(softmax(scores / self.temperature_, axis=1), correct),
            }
        else:
            self.temperature_ = 1.0
            self.calibration_ = {"folds": 0}
        self.fit_seconds_ = time.perf_counter() - started
        return self

    # Inference --------------------------------------------------------------

    @property
    def is_fitted(self) -> bool:
        return self._linear is not None

    def decision_scores(self, texts: Sequence[str], embeddings: Optional[np.ndarray] = None) -> np.ndarray:
        """Mixed, un-tempered scores, one row per text, columns in `classes_` order."""
        if not self.is_fitted:
            raise RuntimeError("OfflineIntentModel is not trained.")
        texts = self._clip(texts)
        if embeddings is None:
            embeddings = self.embed(texts)
        parts = (self._char, self._word, self._linear, self._kernel)
        return self._mix(*self._raw_scores(parts, texts, np.asarray(embeddings, dtype=np.float64)), self._scales)

    def predict_proba(
        self, texts: Sequence[str], embeddings: Optional[np.ndarray] = None, temperature: Optional[float] = None
    ) -> np.ndarray:
        """Calibrated probabilities (rows sum to 1), columns in `classes_` order."""
        if len(texts) == 0:
            return np.zeros((0, len(self.classes_)))
        scores = self.decision_scores(texts, embeddings)
        return softmax(scores / (temperature or self.temperature_), axis=1)

    def predict(self, texts: Sequence[str], out_of_scope_threshold: float = 0.0, **kwargs) -> List[Tuple[str, float]]:
        return apply_out_of_scope(self.predict_proba(texts, **kwargs), self.classes_, out_of_scope_threshold)

    # Persistence ------------------------------------------------------------

    def save(self, directory: Union[str, Path]) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        joblib.dump(
            {
                "char": self._char,
                "word": self._word,
                "linear": self._linear,
                "kernel": self._kernel,
                "scales": self._scales,
            },
            directory / STATE_FILE,
        )
        meta = {
            "format_version": FORMAT_VERSION,
            "params": self.params,
            "classes": self.classes_,
            "temperature": self.temperature_,
            "calibration": self.calibration_,
            "fit_seconds": self.fit_seconds_,
        }
        (directory / META_FILE).write_text(json.dumps(meta, indent=2))
        return directory

    @classmethod
    def load(cls, directory: Union[str, Path], embedder: Optional[Embedder] = None) -> "OfflineIntentModel":
        directory = Path(directory)
        meta = json.loads((directory / META_FILE).read_text())
        if meta.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"Unknown offline model format {meta.get('format_version')!r} in {directory}.")
        model = cls(**meta["params"], embedder=embedder)
        state = joblib.load(directory / STATE_FILE)
        model._char, model._word = state["char"], state["word"]
        model._linear, model._kernel = state["linear"], state["kernel"]
        # Pairwise decisions; `one_vs_rest_scores` combines them (models saved before it used "ovr").
        model._kernel.decision_function_shape = "ovo"
        model._scales = tuple(state["scales"])
        model.classes_ = list(meta["classes"])
        model.temperature_ = float(meta["temperature"])
        model.calibration_ = dict(meta.get("calibration", {}))
        model.fit_seconds_ = float(meta.get("fit_seconds", 0.0))
        return model
