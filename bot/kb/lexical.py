"""BM25 over a sparse inverted index: one precomputed weight per (chunk, term)."""
from __future__ import annotations

import math
import re
from collections import Counter
from typing import Dict, Iterable, List, Sequence

import numpy as np
from scipy import sparse

_TOKEN = re.compile(r"\$?\d+(?:[.,:\-]\d+)*|[a-z]+(?:'[a-z]+)?")
_STOPWORDS = frozenset(
    "a an and are as at be by can could do does for from had has have how i if in is it its "
    "me my of on or our so that the their them then there they this to up was we were what when what's "
    "where where's which who will with would you your i'm it's that's there's i'd i've don't".split()
)


# Words a question asks with rather than about ("do you take amex", "what about klarna"): not what it names.
ASKING_WORDS = frozenset("take get got need want know tell long much many soon able make like about".split())
# A term in more chunks than this is no one passage's own ("order", "item"): its postings are not walked.
RARE_TERM_MAX_CHUNKS = 20


def _stem(token: str) -> str:
    # Plural "s" only: enough to match "returns"/"return", "cards"/"card" without a stemmer dependency.
    if len(token) > 3 and token.endswith("s") and not token.endswith("ss") and not token[0].isdigit():
        return token[:-1]
    return token


def tokenize(text: str) -> List[str]:
    """Lower-cased word and number tokens without stop words ("$14.99" and "5-7" stay whole)."""
    return [_stem(t) for t in _TOKEN.findall(text.lower()) if t not in _STOPWORDS]


class SparseBM25:
    """Okapi BM25 whose document side is a CSC matrix, so a query only touches its terms' postings."""

    def __init__(self, vocabulary: Dict[str, int], weights: sparse.csc_matrix) -> None:
        self.vocabulary = vocabulary
        self.weights = weights

    @classmethod
    def fit(cls, tokenized: Iterable[Sequence[str]], k1: float = 1.5, b: float = 0.75) -> "SparseBM25":
        vocabulary: Dict[str, int] = {}
        rows: List[int] = []
        cols: List[int] = []
        tfs: List[int] = []
        lengths: List[int] = []
        for row, tokens in enumerate(tokenized):
            lengths.append(len(tokens))
            for term, count in Counter(tokens).items():
                rows.append(row)
                cols.append(vocabulary.setdefault(term, len(vocabulary)))
                tfs.append(count)
        n_docs = len(lengths)
        doc_len = np.asarray(lengths, dtype=np.float32)
        avg_len = float(doc_len.mean()) if n_docs else 0.0
        rows_a, cols_a = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
        tf = np.asarray(tfs, dtype=np.float32)
        doc_freq = np.bincount(cols_a, minlength=len(vocabulary)).astype(np.float32)
        # Lucene's non-negative idf: terms in most chunks still count a little instead of negatively.
        idf = np.log1p((n_docs - doc_freq + 0.5) / (doc_freq + 0.5))
        norm = k1 * (1.0 - b + b * doc_len[rows_a] / max(avg_len, 1e-9))
        data = idf[cols_a] * tf * (k1 + 1.0) / (tf + norm)
        weights = sparse.csc_matrix((data.astype(np.float32), (rows_a, cols_a)), shape=(n_docs, len(vocabulary)))
        return cls(vocabulary, weights)

    def chunks_with(self, term: str) -> np.ndarray:
        """Rows of the chunks that hold ``term`` (a token as ``tokenize`` gives it); empty when none does."""
        column = self.vocabulary.get(term)
        if column is None:
            return np.zeros(0, dtype=np.int64)
        return self.weights.indices[self.weights.indptr[column]:self.weights.indptr[column + 1]]

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk for ``query`` (zeros when no term is known)."""
        counts = Counter(t for t in tokenize(query) if t in self.vocabulary)
        scores = np.zeros(self.weights.shape[0], dtype=np.float32)
        # Walk each term's postings in place: slicing columns out of the matrix copies them, which costs
        # more than the scoring itself when a term is in most of 100k chunks.
        indptr, rows, data = self.weights.indptr, self.weights.indices, self.weights.data
        for term, count in counts.items():
            column = self.vocabulary[term]
            start, end = indptr[column], indptr[column + 1]
            # A row appears once per column, so this fancy-index add cannot drop repeated rows.
            scores[rows[start:end]] += data[start:end] * count
        return scores

    @property
    def n_docs(self) -> int:
        return self.weights.shape[0]


def idf_of(n_docs: int, doc_freq: int) -> float:
    """The idf used by :class:`SparseBM25` (exposed for tests)."""
    return math.log1p((n_docs - doc_freq + 0.5) / (doc_freq + 0.5))
