"""Verbatim and near-copy overlap between our training examples and an external data set.

A training example is a *near copy* of an external sentence when, after normalising both
(lower case, punctuation removed, whitespace collapsed), their sets of character trigrams
have a Jaccard similarity of at least NEAR_COPY_JACCARD. That catches a copied sentence
with one word, a city or a number swapped, or a typo fixed, which verbatim comparison misses.

Used by tests/test_training_data.py and benchmarks/bitext.py; no model is loaded here, so
the check takes well under a second for a few thousand sentences (sparse trigram vectors,
one sparse product).
"""
from __future__ import annotations

import re
from typing import List, Sequence, Tuple

NEAR_COPY_JACCARD = 0.8

_PUNCTUATION = re.compile(r"[^\w\s]|_")
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Lower case, punctuation removed, whitespace collapsed."""
    return _SPACES.sub(" ", _PUNCTUATION.sub(" ", text.lower())).strip()


def near_copies(ours: Sequence[str], theirs: Sequence[str],
                threshold: float = NEAR_COPY_JACCARD) -> List[Tuple[str, str, float]]:
    """(our text, closest external text, Jaccard) for each of ours with a trigram Jaccard >= threshold.

    Texts shorter than three characters after normalising have no trigrams: they count as a
    near copy only when they are equal to an external text.
    """
    import numpy as np
    from sklearn.feature_extraction.text import CountVectorizer

    ours_n = [normalise(t) for t in ours]
    theirs_n = [normalise(t) for t in theirs]
    found: List[Tuple[str, str, float]] = []
    if not ours_n or not theirs_n:
        return found
    vectoriser = CountVectorizer(analyzer="char", ngram_range=(3, 3), binary=True, lowercase=False,
                                 dtype=np.float32)
    vectoriser.fit(list(ours_n) + list(theirs_n))
    a = vectoriser.transform(ours_n)
    b = vectoriser.transform(theirs_n)
    size_a = np.asarray(a.sum(axis=1)).ravel()
    size_b = np.asarray(b.sum(axis=1)).ravel()
    shared = (a @ b.T).tocsr()  # trigrams in common, only for pairs sharing at least one
    short_theirs = {t for t in theirs_n if len(t) < 3}
    for i, text in enumerate(ours_n):
        if len(text) < 3:
            if text in short_theirs:
                found.append((ours[i], text, 1.0))
            continue
        row = shared.getrow(i)
        if row.nnz == 0:
            continue
        inter = row.data
        union = size_a[i] + size_b[row.indices] - inter
        jaccard = inter / union
        best = int(jaccard.argmax())
        if jaccard[best] >= threshold:
            found.append((ours[i], theirs[row.indices[best]], float(jaccard[best])))
    return found
