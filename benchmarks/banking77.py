"""BANKING77: the offline model against Rasa's DIET pipeline, same split, same run.

Split: 80/20 by hash. A text is in the test 20% when int(md5(text), 16) % 5 == 0
(1,948 test / 8,055 train of the 10,003 rows of train.csv).

Offline: OfflineIntentModel (the class the assistant uses, default parameters)
trained on the 80%; training time includes embedding the texts. DIET: the pipeline
WhitespaceTokenizer, RegexFeaturizer, LexicalSyntacticFeaturizer, CountVectorsFeaturizer
(words) and (char_wb 1-4), DIETClassifier(epochs=N) trained with rasa.model_training.train_nlu
on an NLU YAML written to a temp dir, loaded with rasa.core.agent.Agent and evaluated on
the same 20%. Latency: one message at a time, wall clock per message.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/banking77.py --diet-epochs 5    # quick look
    PYTHONPATH=$PWD .venv/bin/python benchmarks/banking77.py --diet-epochs 55   # README figures (~35 min)
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import hashlib
import tempfile
import time
from pathlib import Path
from typing import List

import numpy as np
from sklearn.metrics import f1_score
from tqdm import tqdm

from benchmarks.common import DATASETS, chart_path, percentile_ms
from bot.nlu.offline_model import OfflineIntentModel, expected_calibration_error


def load_split():
    with (DATASETS / "banking77" / "train.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    train, test = [], []
    for row in rows:
        (test if int(hashlib.md5(row["text"].encode()).hexdigest(), 16) % 5 == 0 else train).append(
            (row["text"], row["category"])
        )
    return train, test


def run_offline(train, test, latency_samples: int):
    texts, labels = zip(*train)
    test_texts, test_labels = zip(*test)
    model = OfflineIntentModel()
    started = time.perf_counter()
    model.fit(list(texts), list(labels), progress=True)
    seconds = time.perf_counter() - started
    probabilities = model.predict_proba(list(test_texts))
    predicted = np.array(model.classes_)[probabilities.argmax(axis=1)]
    correct = predicted == np.array(test_labels)
    model.predict_proba([test_texts[0]])  # warm-up
    latencies = []
    for text in tqdm(test_texts[:latency_samples], desc="offline latency"):
        t0 = time.perf_counter()
        model.predict_proba([text])
        latencies.append(time.perf_counter() - t0)
    raw = model.predict_proba(list(test_texts), temperature=1.0)
    return {
        "accuracy": float(correct.mean()),
        "macro_f1": float(f1_score(test_labels, predicted, average="macro")),
        "train_s": seconds,
        "p50_ms": percentile_ms(latencies, 50),
        "p95_ms": percentile_ms(latencies, 95),
        "ece_before": expected_calibration_error(raw, correct),
        "ece_after": expected_calibration_error(probabilities, correct),
        "temperature": model.temperature_,
        "calibration": model.calibration_,
    }


def diet_config(epochs: int) -> str:
    return f"""recipe: default.v1
language: en
assistant_id: banking77-benchmark
pipeline:
  - name: WhitespaceTokenizer
  - name: RegexFeaturizer
  - name: LexicalSyntacticFeaturizer
  - name: CountVectorsFeaturizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 1
    max_ngram: 4
  - name: DIETClassifier
    epochs: {epochs}
    random_seed: 0
policies: []
"""


def write_nlu(path: Path, train) -> None:
    by_intent = {}
    for text, label in train:
        by_intent.setdefault(label, []).append(text)
    lines = ['version: "3.1"', "nlu:"]
    for label, texts in sorted(by_intent.items()):
        lines.append(f"- intent: {label}")
        lines.append("  examples: |")
        for text in texts:
            clean = " ".join(text.replace("[", "(").replace("]", ")").split())
            lines.append(f"    - {clean}")
    path.write_text("\n".join(lines) + "\n")


def run_diet(train, test, epochs: int, latency_samples: int):
    import rasa.model_training
    from rasa.core.agent import Agent

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "data").mkdir()
        write_nlu(tmp / "data" / "nlu.yml", train)
        (tmp / "config.yml").write_text(diet_config(epochs))
        (tmp / "domain.yml").write_text('version: "3.1"\n')
        started = time.perf_counter()
        result = rasa.model_training.train_nlu(
            config=str(tmp / "config.yml"), nlu_data=str(tmp / "data"), output=str(tmp / "models"),
            fixed_model_name="diet", domain=str(tmp / "domain.yml"),
        )
        seconds = time.perf_counter() - started
        agent = Agent.load(result)
        test_texts, test_labels = zip(*test)

        async def parse_all(texts: List[str]):
            out, lat = [], []
            for text in tqdm(texts, desc="DIET evaluation"):
                t0 = time.perf_counter()
                out.append(await agent.parse_message(text))
                lat.append(time.perf_counter() - t0)
            return out, lat

        parsed, latencies = asyncio.run(parse_all(list(test_texts)))
    predicted = np.array([p["intent"]["name"] for p in parsed])
    confidence = np.array([p["intent"]["confidence"] for p in parsed])
    correct = predicted == np.array(test_labels)
    return {
        "accuracy": float(correct.mean()),
        "macro_f1": float(f1_score(test_labels, predicted, average="macro")),
        "train_s": seconds,
        "p50_ms": percentile_ms(latencies[:latency_samples], 50),
        "p95_ms": percentile_ms(latencies[:latency_samples], 95),
        "ece": expected_calibration_error(confidence, correct),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--diet-epochs", type=int, default=5, help="DIET epochs (default 5; Rasa's default is 300)")
    parser.add_argument("--skip-diet", action="store_true")
    parser.add_argument("--latency-samples", type=int, default=300, help="test messages timed one by one")
    args = parser.parse_args()

    train, test = load_split()
    print(f"BANKING77 train.csv: {len(train) + len(test)} rows, split by md5(text) % 5 == 0 -> "
          f"{len(train)} train / {len(test)} test, {len({l for _, l in train})} intents")
    offline = run_offline(train, test, args.latency_samples)
    print(f"offline: accuracy {100 * offline['accuracy']:.2f}%  macro-F1 {100 * offline['macro_f1']:.2f}%  "
          f"training {offline['train_s']:.1f} s  latency p50 {offline['p50_ms']:.1f} ms p95 {offline['p95_ms']:.1f} ms")
    print(f"offline calibration: temperature {offline['temperature']:.3f}; ECE on the test 20% "
          f"{100 * offline['ece_before']:.2f}% (T=1) -> {100 * offline['ece_after']:.2f}% (fitted T); "
          f"out-of-fold {offline['calibration']}")
    figures = {"offline": offline}
    if not args.skip_diet:
        print(f"DIET: training with epochs={args.diet_epochs} (Rasa's default is 300)")
        diet = run_diet(train, test, args.diet_epochs, args.latency_samples)
        figures["DIET"] = diet
        print(f"DIET ({args.diet_epochs} epochs): accuracy {100 * diet['accuracy']:.2f}%  macro-F1 "
              f"{100 * diet['macro_f1']:.2f}%  training {diet['train_s']:.1f} s  latency p50 {diet['p50_ms']:.1f} ms "
              f"p95 {diet['p95_ms']:.1f} ms  ECE {100 * diet['ece']:.2f}%")
        print(f"training speed-up offline vs DIET({args.diet_epochs} epochs): {diet['train_s'] / offline['train_s']:.1f}x; "
              f"DIET per epoch incl. featurising ~{diet['train_s'] / args.diet_epochs:.0f} s, so at its default 300 "
              f"epochs ~{300 * diet['train_s'] / args.diet_epochs / 60:.0f} min "
              f"(~{300 * diet['train_s'] / args.diet_epochs / offline['train_s']:.0f}x, extrapolated, not measured)")

    import matplotlib.pyplot as plt

    path = chart_path("banking77.png")
    names = list(figures)
    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    axes[0].bar(names, [100 * figures[n]["accuracy"] for n in names], color=["tab:blue", "tab:orange"][: len(names)])
    axes[0].set_ylabel("accuracy on 20% split (%)")
    axes[0].axhline(94, color="grey", linestyle="--", label="target 94%")
    axes[0].set_ylim(0, 100)
    axes[0].legend(loc="lower right")
    axes[1].bar(names, [figures[n]["train_s"] for n in names], color=["tab:blue", "tab:orange"][: len(names)])
    axes[1].set_ylabel("training time (s)")
    axes[2].bar(names, [figures[n]["p95_ms"] for n in names], color=["tab:blue", "tab:orange"][: len(names)])
    axes[2].set_ylabel("p95 latency per message (ms)")
    fig.suptitle(f"BANKING77 80/20 md5 split (DIET epochs={args.diet_epochs})")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"chart: {path}")


if __name__ == "__main__":
    main()
