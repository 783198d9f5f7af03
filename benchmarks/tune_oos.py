"""Tunes the out-of-scope threshold of the offline model.

Data: the project's own examples (data/nlu, its `out_of_scope` intent included),
scored out-of-fold with 5 stratified folds (each fold's model is trained, and
calibrated, on the other four), plus the 200 CLINC150 out-of-scope utterances of
../shared/datasets/clinc150/oos_dev.json, scored by the model trained on all of data/nlu
(read here at run time only; nothing is copied into data/).

For every threshold t the verdict is out_of_scope when p(top intent) < t (or when the
top intent is out_of_scope). Score = mean of
  in-scope accuracy  (in-scope project examples with the right intent, not rejected)
  out-of-scope recall (project out_of_scope examples and CLINC oos, each set weighted 1/2)
The best t (ties: the lowest) is printed; put it in config.yml and in the
classifier's get_default_config().

    PYTHONPATH=$PWD .venv/bin/python benchmarks/tune_oos.py
"""
from __future__ import annotations

import argparse
from typing import Optional

import numpy as np
from sklearn.model_selection import StratifiedKFold
from tqdm import tqdm

from benchmarks.common import assistant_config, assistant_model, cached_embeddings, chart_path, clinc_oos, project_examples
from bot.nlu.offline_model import apply_out_of_scope

OOS = "out_of_scope"


def evaluate(probabilities: np.ndarray, classes, labels: np.ndarray, clinc_probabilities: np.ndarray, t: float,
             pair_threshold: Optional[float] = None):
    verdict = np.array([n for n, _ in apply_out_of_scope(probabilities, classes, t, OOS, pair_threshold)])
    clinc_verdict = np.array([n for n, _ in apply_out_of_scope(clinc_probabilities, classes, t, OOS, pair_threshold)])
    in_scope = labels != OOS
    in_acc = float((verdict[in_scope] == labels[in_scope]).mean())
    own_recall = float((verdict[~in_scope] == OOS).mean())
    clinc_recall = float((clinc_verdict == OOS).mean())
    return in_acc, own_recall, clinc_recall, (in_acc + 0.5 * (own_recall + clinc_recall)) / 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()

    texts, labels = project_examples()
    labels = np.array(labels)
    model = assistant_model()
    embeddings = cached_embeddings(texts, model)
    clinc = clinc_oos()
    clinc_embeddings = cached_embeddings(clinc, model)
    print(f"data/nlu: {len(texts)} examples ({int((labels == OOS).sum())} out_of_scope); CLINC oos_dev: {len(clinc)}")

    classes = sorted(set(labels))
    oof = np.zeros((len(texts), len(classes)))
    splitter = StratifiedKFold(args.folds, shuffle=True, random_state=0)
    for train_idx, held_idx in tqdm(list(splitter.split(texts, labels)), desc="cross-validation folds"):
        fold = assistant_model().fit([texts[i] for i in train_idx], labels[train_idx], embeddings=embeddings[train_idx])
        oof[held_idx] = fold.predict_proba([texts[i] for i in held_idx], embeddings=embeddings[held_idx])
    full = assistant_model().fit(texts, labels, embeddings=embeddings)
    clinc_probabilities = full.predict_proba(clinc, embeddings=clinc_embeddings)

    grid = np.round(np.arange(0.0, 0.91, 0.01), 2)
    # With the pair rule the assistant runs with (a message torn between two intents stays in scope).
    pair = assistant_config()["out_of_scope_pair_threshold"]
    rows = [(t, *evaluate(oof, classes, labels, clinc_probabilities, t, pair)) for t in grid]
    best = max(rows, key=lambda r: (round(r[4], 6), -r[0]))
    print(f"{'threshold':>9} {'in-scope acc':>12} {'own oos recall':>14} {'CLINC oos recall':>16} {'score':>6}")
    for row in rows:
        if round(row[0] * 100) % 5 == 0 or row is best:
            mark = "  <- chosen" if row is best else ""
            print(f"{row[0]:9.2f} {100 * row[1]:11.1f}% {100 * row[2]:13.1f}% {100 * row[3]:15.1f}% {row[4]:6.3f}{mark}")
    print(f"chosen out_of_scope_threshold: {best[0]:.2f} (in-scope accuracy {100 * best[1]:.1f}%, own out_of_scope "
          f"recall {100 * best[2]:.1f}%, CLINC oos recall {100 * best[3]:.1f}%, cross-validated)")

    import matplotlib.pyplot as plt

    path = chart_path("tune_oos.png")
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(grid, [100 * r[1] for r in rows], label="in-scope accuracy (data/nlu, out-of-fold)")
    ax.plot(grid, [100 * r[2] for r in rows], label="out_of_scope recall (data/nlu, out-of-fold)")
    ax.plot(grid, [100 * r[3] for r in rows], label="CLINC oos_dev recall")
    ax.axvline(best[0], color="grey", linestyle="--", label=f"chosen {best[0]:.2f}")
    ax.set_xlabel("out_of_scope_threshold")
    ax.set_ylabel("%")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"chart: {path}")


if __name__ == "__main__":
    main()
