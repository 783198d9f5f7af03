"""The LLM path under load: concurrent REST conversations against a slow fake LLM.

Starts the real action server and Rasa (REST channel) on loopback with a fake
OpenAI-compatible server that answers in --delay seconds, then runs
--conversations concurrent conversations of --turns turns, twice: with the
threshold set so every turn calls the LLM, and with the default threshold.
Prints p50/p95 turn latency, turns per second, the share of turns that called
the LLM and tokens per turn, and draws results/benchmarks/llm_load.png.

    .venv/bin/python benchmarks/llm_load.py
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
import requests
from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.db.models import Customer, Order  # noqa: E402
from bot.db.seed import ensure_demo_data  # noqa: E402
from bot.db.session import session_scope  # noqa: E402
from tests.fake_openai import FakeOpenAI, Reply  # noqa: E402
from tests.servers import assistant_servers  # noqa: E402

OPENERS = ["hi", "hello there", "hey, good morning", "hi, I need some help", "hello!"]
QUESTIONS = [
    "how long does standard shipping take?", "do you take paypal", "is there a fee to cancel?",
    "what's your return policy", "how do I reset my password", "can I get an invoice for my order",
]


def plausible_llm(request: dict) -> Reply:
    """Answers like a model that trusts the nearest few-shot example."""
    text = request["messages"][0]["content"]
    first_shot = next((line for line in text.splitlines() if line.startswith('{"message": ')), None)
    intent = json.loads(first_shot)["intent"] if first_shot else "out_of_scope"
    return Reply(content=json.dumps({"intent": intent, "confidence": 0.9, "sentiment": 0.1, "anger": False}))


def conversations(database_url: str, count: int, turns: int, seed: int = 7) -> List[List[str]]:
    rng = random.Random(seed)
    with session_scope(database_url) as session:
        pairs = session.execute(select(Order.id, Customer.email).join(Order.customer).order_by(Order.id)).all()
    scripts = []
    for n in range(count):
        order_id, email = pairs[rng.randrange(len(pairs))]
        script = [rng.choice(OPENERS), f"where is my order {order_id}", email]
        while len(script) < turns - 1:
            script.append(rng.choice(QUESTIONS))
        script.append("thanks, bye")
        scripts.append(script[:turns])
    return scripts


def run_conversation(rasa_url: str, sender: str, script: List[str], latencies: List[float], lock: threading.Lock) -> None:
    with requests.Session() as http:
        for text in script:
            start = time.perf_counter()
            reply = http.post(f"{rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=120)
            reply.raise_for_status()
            with lock:
                latencies.append(time.perf_counter() - start)


def llm_usage(rasa_url: str, senders: List[str]) -> Tuple[int, int, int]:
    """(turns, turns that called the LLM, LLM tokens) from the stored trackers."""
    turns = called = tokens = 0
    for sender in senders:
        events = requests.get(f"{rasa_url}/conversations/{sender}/tracker", timeout=30).json()["events"]
        for event in events:
            if event.get("event") != "user":
                continue
            turns += 1
            llm = (event.get("parse_data") or {}).get("llm")
            if llm and llm.get("called"):
                called += 1
                tokens += int(llm.get("prompt_tokens", 0)) + int(llm.get("completion_tokens", 0))
    return turns, called, tokens


def measure(label: str, scripts: List[List[str]], database_url: str, fake: FakeOpenAI, extra_env: Dict[str, str]) -> Dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, assistant_servers(
        Path(tmp), database_url, enable_api=True, OPENAI_API_KEY="bench", OPENAI_BASE_URL=fake.base_url, **extra_env
    ) as rasa_url:
        # Unmeasured warm-up over every path of the scripts (forms, help-center index, TF tracing), in parallel.
        warm_up = conversations(database_url, 5, len(scripts[0]), seed=99)
        with ThreadPoolExecutor(len(warm_up)) as pool:
            list(pool.map(lambda n: run_conversation(rasa_url, f"warm-up-{n}", warm_up[n], [], threading.Lock()), range(len(warm_up))))
        senders = [f"{label.replace(' ', '-')}-{n}" for n in range(len(scripts))]
        latencies: List[float] = []
        lock = threading.Lock()
        requests_before = len(fake.requests)
        start = time.perf_counter()
        with ThreadPoolExecutor(len(scripts)) as pool:
            for future in [pool.submit(run_conversation, rasa_url, s, script, latencies, lock) for s, script in zip(senders, scripts)]:
                future.result()
        elapsed = time.perf_counter() - start
        turns, called, tokens = llm_usage(rasa_url, senders)
    ms = np.array(latencies) * 1000
    return {
        "label": label,
        "turns": len(latencies),
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "turns_per_s": len(latencies) / elapsed,
        "llm_share": called / max(turns, 1),
        "tokens_per_turn": tokens / max(turns, 1),
        "llm_requests": len(fake.requests) - requests_before,
    }


def chart(results: List[Dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    labels = [r["label"] for r in results]
    x = np.arange(len(labels))
    left.bar(x - 0.2, [r["p50_ms"] for r in results], 0.4, label="p50")
    left.bar(x + 0.2, [r["p95_ms"] for r in results], 0.4, label="p95")
    left.axhline(1500, color="red", linestyle="--", linewidth=1, label="p95 target")
    left.set_xticks(x, labels)
    left.set_ylabel("turn latency (ms)")
    left.legend()
    right.bar(x, [r["turns_per_s"] for r in results], 0.5, color="tab:green")
    right.axhline(10, color="red", linestyle="--", linewidth=1)
    right.set_xticks(x, labels)
    right.set_ylabel("turns per second")
    fig.suptitle("LLM path under load (fake LLM, REST channel)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--delay", type=float, default=0.5, help="seconds the fake LLM takes per answer")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        database_url = f"sqlite:///{Path(tmp) / 'brightbay.db'}"
        ensure_demo_data(database_url)
        scripts = conversations(database_url, args.conversations, args.turns)
        with FakeOpenAI(default=lambda request: Reply(**{**plausible_llm(request).__dict__, "delay_s": args.delay})) as fake:
            results = []
            for label, env in (("every turn", {"LLM_THRESHOLD": "1.0"}), ("default threshold", {})):
                print(f"running {args.conversations} conversations x {args.turns} turns, LLM {label} ...", flush=True)
                results.append(measure(label, scripts, database_url, fake, env))
    print(f"\nfake LLM delay {args.delay * 1000:.0f} ms, {args.conversations} concurrent conversations x {args.turns} turns")
    print(f"{'run':<18} {'turns':>6} {'p50 ms':>8} {'p95 ms':>8} {'turns/s':>8} {'LLM share':>10} {'tokens/turn':>12} {'LLM requests':>13}")
    for r in results:
        print(
            f"{r['label']:<18} {r['turns']:>6} {r['p50_ms']:>8.0f} {r['p95_ms']:>8.0f} {r['turns_per_s']:>8.1f} "
            f"{r['llm_share']:>9.0%} {r['tokens_per_turn']:>12.0f} {r['llm_requests']:>13}"
        )
    out = ROOT / "results" / "benchmarks" / "llm_load.png"
    chart(results, out)
    print(f"\nchart: {out}")


if __name__ == "__main__":
    main()
