"""Fusion order, BM25 scoring, persistence and fingerprint-driven rebuilds."""
from pathlib import Path

import numpy as np

from bot.kb import index as index_module
from bot.kb.documents import Chunk
from bot.kb.index import HybridIndex, IndexSettings, load_or_build, rrf_fuse
from bot.kb.lexical import SparseBM25, tokenize


def test_rrf_prefers_items_ranked_well_by_both():
    fused = rrf_fuse([[1, 2, 3], [3, 2, 1]], [1.0, 1.0], k=60)
    assert fused[0][0] == 2 or fused[0][1] == fused[1][1]  # 1 and 3 tie with 2 only at equal weights
    fused = rrf_fuse([[1, 2, 3], [2, 3, 1]], [1.0, 1.0], k=60)
    assert [i for i, _ in fused] == [2, 1, 3]


def test_rrf_weights_tip_the_balance():
    assert rrf_fuse([[1, 2], [2, 1]], [2.0, 1.0], k=60)[0][0] == 1
    assert rrf_fuse([[1, 2], [2, 1]], [1.0, 2.0], k=60)[0][0] == 2


def test_tokens_keep_prices_and_ranges():
    assert tokenize("Express is $14.99 and takes 1-2 days") == ["express", "$14.99", "take", "1-2", "day"]


def test_bm25_ranks_the_document_with_rare_terms_first():
    docs = [tokenize(t) for t in ["express shipping costs", "standard shipping is free", "gift cards and shipping"]]
    scores = SparseBM25.fit(docs).scores("express shipping")
    assert scores.argmax() == 0 and (scores > 0).all()
    assert SparseBM25.fit(docs).scores("unknownword").sum() == 0


def _chunks():
    texts = ["express shipping costs fifteen dollars", "refunds take a week", "reset links last an hour"]
    return [Chunk("a", "A", f"s{i}", t) for i, t in enumerate(texts)]


def test_dense_and_lexical_agree_on_the_top_hit():
    index = HybridIndex.build(_chunks(), embeddings=np.eye(3, 384, dtype=np.float32))
    hits = index.search("express shipping", k=2, query_vector=np.eye(1, 384, dtype=np.float32)[0])
    assert hits[0].chunk.section == "s0" and hits[0].score > hits[1].score
    assert hits[0].dense_score == 1.0 and hits[0].lexical_score > 0


def test_a_lexical_match_outranks_a_dense_only_match_when_lexical_weighs_more():
    index = HybridIndex.build(_chunks(), IndexSettings(lexical_weight=3.0), embeddings=np.eye(3, 384, dtype=np.float32))
    hits = index.search("refunds", k=3, query_vector=np.eye(1, 384, dtype=np.float32)[0])
    assert hits[0].chunk.section == "s1"


def test_save_and_load_round_trip(tmp_path: Path, kb_index: HybridIndex):
    kb_index.save(tmp_path)
    loaded = HybridIndex.load(tmp_path)
    assert loaded.chunks == kb_index.chunks and not loaded.built_now
    assert np.allclose(loaded.embeddings, kb_index.embeddings)
    query = "how much is express shipping"
    assert [h.chunk for h in loaded.search(query)] == [h.chunk for h in kb_index.search(query)]


def test_rebuilds_only_when_articles_change(kb_copy: Path, tmp_path: Path, monkeypatch):
    builds = []
    original = HybridIndex.build.__func__
    monkeypatch.setattr(HybridIndex, "build", classmethod(lambda cls, *a, **kw: builds.append(1) or original(cls, *a, **kw)))
    index_dir = tmp_path / "index"

    first = load_or_build(kb_copy, index_dir)
    assert first.built_now and len(builds) == 1
    second = load_or_build(kb_copy, index_dir)
    assert not second.built_now and len(builds) == 1 and second.fingerprint == first.fingerprint

    article = kb_copy / "shipping.md"
    article.write_text(article.read_text().replace("$14.99", "$16.99"))
    third = load_or_build(kb_copy, index_dir)
    assert third.built_now and len(builds) == 2
    assert any("$16.99" in c.text for c in third.chunks)
    assert not load_or_build(kb_copy, index_dir).built_now

    assert load_or_build(kb_copy, index_dir, IndexSettings(rrf_k=10)).built_now  # settings are fingerprinted too


def test_a_damaged_index_is_rebuilt(kb_copy: Path, tmp_path: Path):
    load_or_build(kb_copy, tmp_path)
    (tmp_path / "chunks.json").write_text("not json")
    assert load_or_build(kb_copy, tmp_path).built_now


def test_default_index_dir_is_under_var():
    assert index_module.DEFAULT_INDEX_DIR.parts[-2:] == ("var", "kb-index")
