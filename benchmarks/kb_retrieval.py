"""Help-center retrieval benchmark: quality on data/kb_eval/questions.yml for the extractive and the LLM
path (the LLM is the fake OpenAI-compatible server answering from the passages it is sent), then scale
(ABCD manual, synthetic 100k chunks).

    PYTHONPATH=$PWD .venv/bin/python benchmarks/kb_retrieval.py [--sweep] [--verbose] [--skip-scale] [--intents]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.catalog import item_words  # noqa: E402
from bot.db.seed import CATALOG, CATEGORIES  # noqa: E402
from bot.kb.answer import DEFAULT_MIN_RELEVANCE, extract_answer  # noqa: E402
from bot.kb.documents import Chunk  # noqa: E402
from bot.kb.grounded import LLMAnswerer  # noqa: E402
from bot.kb.index import HybridIndex  # noqa: E402
from bot.llm import LLMSettings  # noqa: E402
from actions.answers import articles_of_intent  # noqa: E402
from bot.kb.source import ItemWords, LocalKnowledgeSource, topic_turns, with_preferred_articles  # noqa: E402
from bot.nlu.embeddings import embed, embed_one  # noqa: E402

QUESTIONS = ROOT / "data" / "kb_eval" / "questions.yml"
ABCD = ROOT.parent / "shared" / "datasets" / "abcd_policies" / "guidelines.json"
# The demo catalogue's product words, as action_answer_question passes the live catalogue's.
ITEM_WORDS = item_words([name for _, name, _ in CATALOG], {name: CATEGORIES[sku[:2]] for sku, name, _ in CATALOG})


def load_questions(path: Path = QUESTIONS) -> List[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["questions"]


def evaluate(source: LocalKnowledgeSource, questions: Sequence[dict], min_relevance: float, verbose: bool = False,
             item_words: ItemWords = ITEM_WORDS, parses: Optional[Dict[str, dict]] = None) -> Dict[str, float]:
    """recall@1/@3 by article, fact share of extracted answers, refusal rates. With ``parses`` (question -> the
    NLU's parse), an intent the NLU is sure of prefers its article, as action_answer_question does."""
    answerable = [q for q in questions if q["article"]]
    unanswerable = [q for q in questions if not q["article"]]
    at1 = at3 = facts = false_refusals = refusals = 0
    for item in questions:
        articles = articles_of_intent(parses[item["q"]]) if parses is not None else frozenset()
        found = source.retrieve(item["q"], topic_turns(item.get("history", [])), item_words=item_words, articles=articles)
        found = with_preferred_articles(found, articles)
        hits = found.hits
        answer = extract_answer(found.question(item["q"]), hits, min_relevance, found.context)
        ids = [h.chunk.article_id for h in hits]
        if item["article"]:
            at1 += ids[:1] == [item["article"]]
            at3 += item["article"] in ids[:3]
            found = answer.grounded and item["fact"].lower() in answer.text.lower()
            facts += found
            false_refusals += not answer.grounded
            if verbose and not found:
                print(f"  MISS {item['q']!r} -> {ids} d={hits[0].dense_score:.2f}: {' '.join(answer.sentences)[:150]!r}")
        else:
            refusals += not answer.grounded
            if verbose and answer.grounded:
                print(f"  ANSWERED {item['q']!r} -> {ids[0]} d={hits[0].dense_score:.2f}")
    return {
        "recall@1": at1 / len(answerable),
        "recall@3": at3 / len(answerable),
        "fact_in_answer": facts / len(answerable),
        "false_refusal": false_refusals / len(answerable),
        "refusal_unanswerable": refusals / len(unanswerable) if unanswerable else float("nan"),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
    }


def evaluate_llm(source: LocalKnowledgeSource, questions: Sequence[dict], min_relevance: float, verbose: bool = False,
                 item_words: ItemWords = ITEM_WORDS) -> Dict[str, float]:
    """The same figures for the LLM path, against the fake server scripted to answer from the passages it gets."""
    from tests.fake_grounded import passage_answering_model
    from tests.fake_openai import FakeOpenAI

    answerable = [q for q in questions if q["article"]]
    unanswerable = [q for q in questions if not q["article"]]
    counts = {"facts": 0, "false_refusals": 0, "refusals": 0, "rejected": 0, "calls": 0, "tokens": 0}

    async def run_all(answerer: LLMAnswerer) -> None:
        for item in questions:
            history = item.get("history", [])
            found = source.retrieve(item["q"], topic_turns(history), item_words=item_words)
            conversation = [("customer", turn) for turn in history]
            answer = await answerer.answer(found.question(item["q"]), found.context, found.hits, conversation)
            if answer.usage:
                counts["calls"] += 1
                counts["tokens"] += answer.usage["prompt_tokens"] + answer.usage["completion_tokens"]
            counts["rejected"] += answer.rejected is not None
            if item["article"]:
                found = answer.grounded and item["fact"].lower() in answer.text.lower()
                counts["facts"] += found
                counts["false_refusals"] += not answer.grounded
                if verbose and not found:
                    print(f"  LLM MISS {item['q']!r}: {answer.text[:150]!r}")
            else:
                counts["refusals"] += not answer.grounded
        await answerer.aclose()

    with FakeOpenAI(default=passage_answering_model) as fake:
        settings = LLMSettings(api_key="bench", base_url=fake.base_url, timeout_s=5.0)
        asyncio.run(run_all(LLMAnswerer(settings, min_relevance=min_relevance)))
    return {
        "fact_in_answer": counts["facts"] / len(answerable),
        "false_refusal": counts["false_refusals"] / len(answerable),
        "refusal_unanswerable": counts["refusals"] / len(unanswerable),
        "calls": counts["calls"],
        "rejected": counts["rejected"],
        "tokens": counts["tokens"],
    }


def sweep(source: LocalKnowledgeSource, questions: Sequence[dict]) -> None:
    """Top-hit cosine of answerable vs unanswerable questions, to pick min_relevance."""
    scored = [(source.search(q["q"], q.get("history", []))[0].dense_score, bool(q["article"])) for q in questions]
    print("threshold  answered(answerable)  refused(unanswerable)")
    for threshold in np.arange(0.25, 0.50, 0.025):
        ok = np.mean([s >= threshold for s, a in scored if a])
        refused = np.mean([s < threshold for s, a in scored if not a])
        print(f"  {threshold:.3f}    {ok:6.1%}                {refused:6.1%}")


def latency(index: HybridIndex, queries: Sequence[str], with_encoding: bool) -> Dict[str, float]:
    """p50/p95 of search() in ms; without encoding, query vectors are computed beforehand.

    With encoding, the query-vector cache is emptied first, so every query is encoded (cold).
    """
    vectors = None if with_encoding else embed(list(queries))
    index.search("warm-up query", 3)
    embed_one.cache_clear()
    times = []
    for i, query in enumerate(queries):
        start = time.perf_counter()
        index.search(query, 3, query_vector=None if vectors is None else vectors[i])
        times.append((time.perf_counter() - start) * 1000)
    return {"p50_ms": float(np.percentile(times, 50)), "p95_ms": float(np.percentile(times, 95))}


def index_size_mb(index: HybridIndex) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        index.save(Path(tmp))
        return sum(p.stat().st_size for p in Path(tmp).iterdir()) / 1e6


def abcd_chunks(path: Path = ABCD) -> List[Chunk]:
    """The ABCD agent manual (read at run time only) as chunks: one per action step of each subflow."""
    chunks = []
    for flow, data in json.loads(path.read_text(encoding="utf-8")).items():
        for subflow, sub in data.get("subflows", {}).items():
            for action in sub.get("actions", []):
                text = " ".join([action.get("text", "")] + list(action.get("subtext", []))).strip()
                if text:
                    chunks.append(Chunk(f"abcd/{flow}/{subflow}", subflow, action.get("button", ""), text))
    return chunks


def run_abcd(queries: Sequence[str]) -> None:
    if not ABCD.exists():
        print(f"\nABCD manual: {ABCD} not found, skipped")
        return
    chunks = abcd_chunks()
    start = time.perf_counter()
    index = HybridIndex.build(chunks, show_progress=False)
    build = time.perf_counter() - start
    titles = sorted({c.title for c in chunks})
    # Sanity check only (no labelled questions): a subflow's own name should retrieve one of its steps.
    hit3 = np.mean([t in [h.chunk.title for h in index.search(t.lower(), 3)] for t in titles])
    lat = latency(index, list(queries), with_encoding=True)
    print(f"\nABCD agent manual: {len(chunks)} chunks, build {build:.1f} s, index {index_size_mb(index):.2f} MB, "
          f"subflow-name recall@3 {hit3:.1%} ({len(titles)} subflows), "
          f"query p50 {lat['p50_ms']:.1f} ms / p95 {lat['p95_ms']:.1f} ms (with query encoding)")


_WORDS = ("order return refund shipping express standard warranty invoice account password address payment card "
          "gift cancel delivery carrier tracking damaged defective replacement protection plan price match "
          "newsletter support agent hours label package warehouse business days fee discount").split()
_PRODUCTS = [f"{a} {b}" for a in ("smart", "wireless", "outdoor", "portable", "compact", "pro", "mini", "ultra")
             for b in ("speaker", "lamp", "tent", "kettle", "camera", "router", "grill", "blender", "drone", "heater")]


def synthetic_chunks(n: int, seed: int = 7) -> List[Chunk]:
    """``n`` help-center-like chunks: support words, product names and model codes (a long-tailed vocabulary)."""
    rng = random.Random(seed)
    chunks = []
    for i in range(n):
        product = rng.choice(_PRODUCTS)
        words = rng.choices(_WORDS, k=40) + [f"model{rng.randint(0, 20000)}", f"sku{i}"]
        chunks.append(Chunk(f"synthetic/{i // 8}", f"{product} help {i // 8}", f"section {i % 8}", " ".join(words)))
    return chunks


def run_synthetic(n: int, queries: Sequence[str], sample: int = 1000) -> None:
    chunks = synthetic_chunks(n)
    start = time.perf_counter()
    embed([c.search_text for c in chunks[:sample]])
    per_chunk = (time.perf_counter() - start) / sample
    # Encoding 100k chunks on this CPU takes many minutes; latency doesn't depend on the vectors' values,
    # so the matrix is random unit vectors and the encoding time is extrapolated from the sample.
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((n, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    start = time.perf_counter()
    index = HybridIndex.build(chunks, embeddings=vectors, show_progress=True)
    build = time.perf_counter() - start
    lexical_only = latency(index, list(queries), with_encoding=False)
    full = latency(index, list(queries), with_encoding=True)
    print(f"\nSynthetic KB: {n:,} chunks, BM25 + matrix build {build:.1f} s, encoding ~{per_chunk * n / 60:.1f} min "
          f"extrapolated ({per_chunk * 1000:.1f} ms/chunk on {sample} chunks), index {index_size_mb(index):.0f} MB")
    print(f"  search p50 {lexical_only['p50_ms']:.1f} ms / p95 {lexical_only['p95_ms']:.1f} ms (query vector given); "
          f"p50 {full['p50_ms']:.1f} ms / p95 {full['p95_ms']:.1f} ms (including query encoding), {len(queries)} queries")


def parse_with_trained_model(texts: Sequence[str]) -> Dict[str, dict]:
    """Each text's parse by the trained assistant's NLU (intent and confidence, as the action reads them)."""
    from rasa.core.agent import Agent

    model = ROOT / "models" / "brightbay.tar.gz"
    if not model.exists():
        raise SystemExit(f"{model} is missing: run `make train` first")
    agent = Agent.load(str(model))

    async def parse_all() -> Dict[str, dict]:
        return {text: await agent.parse_message(text) for text in texts}

    return asyncio.run(parse_all())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-relevance", type=float, default=DEFAULT_MIN_RELEVANCE)
    parser.add_argument("--sweep", action="store_true", help="print answered/refused shares per threshold")
    parser.add_argument("--verbose", action="store_true", help="print misses")
    parser.add_argument("--skip-scale", action="store_true", help="only the quality figures")
    parser.add_argument("--no-item-words", action="store_true",
                        help="search questions naming a product only as written (no 'the item' rewording)")
    parser.add_argument("--intents", action="store_true",
                        help="read each question's intent with the trained model (models/brightbay.tar.gz), as the "
                             "assistant does, and let a sure intent prefer its article")
    parser.add_argument("--synthetic", type=int, default=100_000)
    args = parser.parse_args()

    questions = load_questions()
    with tempfile.TemporaryDirectory() as tmp:
        source = LocalKnowledgeSource.from_directory(index_dir=Path(tmp))
    if args.sweep:
        sweep(source, questions)
    item_words = ItemWords() if args.no_item_words else ITEM_WORDS
    parses = parse_with_trained_model([q["q"] for q in questions]) if args.intents else None
    m = evaluate(source, questions, args.min_relevance, args.verbose, item_words, parses)
    print(f"Brightbay help center: {len(source.index)} chunks; {m['answerable']} answerable + {m['unanswerable']} "
          f"unanswerable questions, min_relevance {args.min_relevance}")
    print(f"  retrieval: recall@1 {m['recall@1']:.1%}  recall@3 {m['recall@3']:.1%}")
    print(f"  extractive: expected fact in answer {m['fact_in_answer']:.1%}  false refusals {m['false_refusal']:.1%}  "
          f"refusal on unanswerable {m['refusal_unanswerable']:.1%}")
    in_conversation = [q for q in questions if q.get("history")]
    c = evaluate(source, in_conversation, args.min_relevance, item_words=item_words, parses=parses)
    print(f"  of which {c['answerable']} asked after earlier turns (follow-ups and changes of topic): "
          f"recall@1 {c['recall@1']:.1%}  expected fact in answer {c['fact_in_answer']:.1%}")
    llm = evaluate_llm(source, questions, args.min_relevance, args.verbose, item_words)
    print(f"  LLM (fake server answering from its passages): expected fact in answer {llm['fact_in_answer']:.1%}  "
          f"false refusals {llm['false_refusal']:.1%}  refusal on unanswerable {llm['refusal_unanswerable']:.1%}  "
          f"({llm['calls']} calls, {llm['rejected']} answers rejected by the checks, {llm['tokens']} tokens)")
    lat = latency(source.index, [q["q"] for q in questions], with_encoding=True)
    print(f"  query p50 {lat['p50_ms']:.1f} ms / p95 {lat['p95_ms']:.1f} ms (with query encoding, cache emptied)")
    if args.skip_scale:
        return
    queries = [q["q"] for q in questions][:200]
    run_abcd(queries)
    run_synthetic(args.synthetic, queries)


if __name__ == "__main__":
    main()
