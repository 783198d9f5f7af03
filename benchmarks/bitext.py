"""The assistant's own offline model on Bitext customer-support dev.csv (27 of the domain's intents).

The model is trained exactly as `rasa train` trains FewShotIntentClassifier: the
examples of data/nlu (loaded by Rasa's loader) and the classifier's config from
config.yml over its defaults, through the same OfflineIntentModel class. It is
not loaded from models/*.tar.gz, so the figures follow data/ and config.yml as they
are now. Bitext texts are only read here, never written to data/.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bitext.py
"""
from __future__ import annotations

import argparse
import re
import time
from collections import Counter

import numpy as np

from benchmarks.common import (assistant_config, assistant_model, bitext_rows, cached_embeddings, chart_path,
                               project_examples)
from benchmarks.overlap import NEAR_COPY_JACCARD, near_copies
from bot.nlu.offline_model import apply_out_of_scope, expected_calibration_error


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threshold", type=float, default=None, help="out-of-scope threshold (default: config.yml)")
    args = parser.parse_args()
    threshold = assistant_config()["out_of_scope_threshold"] if args.threshold is None else args.threshold
    pair = assistant_config()["out_of_scope_pair_threshold"]

    texts, labels = project_examples()
    rows = bitext_rows()
    dev_texts = [r["instruction"] for r in rows]
    dev_labels = np.array([r["intent"] for r in rows])

    ours = {normalise(t) for t in texts}
    overlap = sorted({normalise(t) for t in dev_texts} & ours)
    print(f"verbatim overlap data/nlu vs bitext dev.csv: {len(overlap)} of {len(ours)} training examples "
          f"({100 * len(overlap) / len(ours):.2f}%){': ' + repr(overlap[:5]) if overlap else ''}")
    copies = near_copies(texts, dev_texts)
    print(f"near copies (char-trigram Jaccard >= {NEAR_COPY_JACCARD} after normalising): {len(copies)} of {len(texts)} "
          f"training examples ({100 * len(copies) / len(texts):.2f}%)"
          f"{': ' + repr([(ours_text, theirs_text) for ours_text, theirs_text, _ in copies[:5]]) if copies else ''}")

    model = assistant_model()
    started = time.perf_counter()
    model.fit(texts, labels, progress=True)
    print(f"trained on {len(texts)} examples of {len(model.classes_)} intents in {time.perf_counter() - started:.1f} s; "
          f"temperature {model.temperature_:.3f}")

    probabilities = model.predict_proba(dev_texts, embeddings=cached_embeddings(dev_texts, model))
    classes = np.array(model.classes_)
    top = classes[probabilities.argmax(axis=1)]
    verdict = np.array([name for name, _ in apply_out_of_scope(probabilities, model.classes_, threshold,
                                                               pair_threshold=pair)])
    raw_acc = float((top == dev_labels).mean())
    acc = float((verdict == dev_labels).mean())
    print(f"bitext dev: {len(rows)} messages, {len(set(dev_labels))} intents")
    print(f"accuracy (top intent): {100 * raw_acc:.2f}%")
    print(f"accuracy with out-of-scope threshold {threshold} (pair {pair}): {100 * acc:.2f}% "
          f"({int((verdict == 'out_of_scope').sum())} rejected as out_of_scope)")
    correct = top == dev_labels
    ece_before = expected_calibration_error(np.exp(np.log(probabilities + 1e-12) * model.temperature_)
                                            / np.exp(np.log(probabilities + 1e-12) * model.temperature_).sum(1, keepdims=True), correct)
    ece_after = expected_calibration_error(probabilities, correct)
    print(f"ECE on bitext: {100 * ece_before:.2f}% uncalibrated (T=1) -> {100 * ece_after:.2f}% calibrated "
          f"(T={model.temperature_:.3f})")

    print("\nper-intent accuracy (top intent):")
    per_intent = {}
    for intent in sorted(set(dev_labels)):
        mask = dev_labels == intent
        per_intent[intent] = float((top[mask] == intent).mean())
    for intent, value in sorted(per_intent.items(), key=lambda kv: kv[1]):
        print(f"  {intent:28s} {100 * value:6.1f}%  (n={int((dev_labels == intent).sum())})")

    print("\nconfusion pairs (true -> predicted, count):")
    pairs = Counter((t, p) for t, p in zip(dev_labels, top) if t != p)
    for (true, predicted), count in pairs.most_common(15):
        print(f"  {true:28s} -> {predicted:28s} {count}")

    import matplotlib.pyplot as plt

    path = chart_path("bitext_per_intent.png")
    names = sorted(per_intent, key=per_intent.get)
    fig, ax = plt.subplots(figsize=(8, 8))
    ax.barh(names, [100 * per_intent[n] for n in names], color="tab:blue")
    ax.axvline(100 * raw_acc, color="tab:red", linestyle="--", label=f"overall {100 * raw_acc:.1f}%")
    ax.set_xlabel("accuracy on Bitext dev (%)")
    ax.set_xlim(0, 100)
    ax.legend(loc="lower right")
    ax.set_title("Brightbay offline model on Bitext dev.csv, per intent")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"\nchart: {path}")


if __name__ == "__main__":
    main()
