"""Where the assistant's answers come from: an interface, and the local help-center index behind it."""
from __future__ import annotations

import re
from abc import ABC, abstractmethod
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np

from bot.kb.documents import KB_DIR
from bot.kb.index import DEFAULT_INDEX_DIR, Hit, HybridIndex, encode_query, load_or_build
from bot.kb.lexical import tokenize

_FOLLOW_UP_CUE = re.compile(r"^\s*(and|but|or|also|same|what about|how about|what if|then)\b", re.IGNORECASE)
_REFERENCE = re.compile(r"\b(it|that|this|those|these|they|them|one)\b", re.IGNORECASE)
CONTEXT_WEIGHTS = (0.5, 0.25)  # previous user turn, the one before; the new message weighs 1


def is_elliptic(message: str) -> bool:
    """A follow-up that leans on earlier turns: "and for express?", "how long does it take?", "how much?"."""
    return bool(_FOLLOW_UP_CUE.search(message) or _REFERENCE.search(message) or len(tokenize(message)) <= 1)


def contextual_query(message: str, history: Sequence[str] = ()) -> str:
    """The message, prefixed by the previous user turns it depends on (for lexical search and answer extraction)."""
    if not history or not is_elliptic(message):
        return message
    turns = list(history)[-len(CONTEXT_WEIGHTS):]
    return " ".join(turns + [message])


class KnowledgeSource(ABC):
    """Anything that finds help-center passages for a customer's message."""

    @abstractmethod
    def search(self, query: str, history: Sequence[str] = ()) -> List[Hit]:
        """Best passages for ``query``; ``history`` holds the earlier user messages, oldest first."""


class LocalKnowledgeSource(KnowledgeSource):
    """The help-center articles in ``data/kb`` behind a :class:`HybridIndex`."""

    def __init__(self, index: HybridIndex, k: int = 3) -> None:
        self.index = index
        self.k = k

    @classmethod
    def from_directory(
        cls, kb_dir: Path = KB_DIR, index_dir: Path = DEFAULT_INDEX_DIR, k: int = 3
    ) -> "LocalKnowledgeSource":
        """Load the saved index, rebuilding it only when the articles changed."""
        return cls(load_or_build(kb_dir, index_dir), k)

    def search(self, query: str, history: Sequence[str] = ()) -> List[Hit]:
        """For an elliptic follow-up, also search with the earlier turns mixed in and keep the better-scoring result."""
        alone = self.index.search(query, self.k)
        context = self._context_vector(query, history)
        if context is None:
            return alone
        with_context = self.index.search(contextual_query(query, history), self.k, query_vector=context)
        return max((alone, with_context), key=_top_dense)

    def _context_vector(self, query: str, history: Sequence[str]) -> Optional[np.ndarray]:
        # Weighted sum of turn embeddings: the new message leads, the older turns only set the topic.
        if not history or not is_elliptic(query):
            return None
        turns = list(history)[-len(CONTEXT_WEIGHTS):]
        weights = [1.0] + list(CONTEXT_WEIGHTS[: len(turns)])
        vectors = np.stack([encode_query(t) for t in [query] + turns[::-1]])
        mixed = np.asarray(weights, dtype=np.float32) @ vectors
        return mixed / np.linalg.norm(mixed)


def _top_dense(hits: List[Hit]) -> float:
    return hits[0].dense_score if hits else float("-inf")
