"""Out-of-scope detection at the chosen threshold: what it catches and what it costs.

The assistant's model (trained on data/nlu with config.yml, as in benchmarks/bitext.py)
scores CLINC150 oos_dev.json (200 out-of-scope utterances; recall = share answered
out_of_scope) and Bitext dev.csv (2,208 in-scope messages; accuracy with the threshold).
Note: oos_dev.json is also what tune_oos.py tuned on, so its recall here is a tuning
figure, not a held-out one; the Bitext cost is held out.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/oos.py
"""
from __future__ import annotations

import numpy as np

from benchmarks.common import (assistant_config, assistant_model, bitext_rows, cached_embeddings, chart_path, clinc_oos,
                               project_examples)
from bot.nlu.offline_model import apply_out_of_scope

OOS = "out_of_scope"


def main() -> None:
    chosen = assistant_config()["out_of_scope_threshold"]
    pair = assistant_config()["out_of_scope_pair_threshold"]
    texts, labels = project_examples()
    model = assistant_model()
    model.fit(texts, labels, embeddings=cached_embeddings(texts, model))
    clinc = clinc_oos()
    clinc_p = model.predict_proba(clinc, embeddings=cached_embeddings(clinc, model))
    rows = bitext_rows()
    bitext = [r["instruction"] for r in rows]
    truth = np.array([r["intent"] for r in rows])
    bitext_p = model.predict_proba(bitext, embeddings=cached_embeddings(bitext, model))

    def at(t: float, pair_threshold=pair):
        recall = np.mean([n == OOS for n, _ in apply_out_of_scope(clinc_p, model.classes_, t, OOS, pair_threshold)])
        verdict = np.array([n for n, _ in apply_out_of_scope(bitext_p, model.classes_, t, OOS, pair_threshold)])
        return float(recall), float((verdict == truth).mean()), float((verdict == OOS).mean())

    base = at(0.0)
    thresholds = sorted({0.0, 0.3, 0.4, 0.5, chosen, 0.7, 0.8})
    print(f"{'threshold':>9} {'CLINC oos recall':>16} {'Bitext accuracy':>15} {'Bitext rejected':>15}")
    table = []
    for t in thresholds:
        recall, acc, rejected = at(t)
        table.append((t, recall, acc))
        mark = "  <- config.yml" if t == chosen else ""
        print(f"{t:9.2f} {100 * recall:15.1f}% {100 * acc:14.1f}% {100 * rejected:14.1f}%{mark}")
    recall, acc, _ = at(chosen)
    print(f"at out_of_scope_threshold {chosen}: CLINC oos recall {100 * recall:.1f}% "
          f"(vs {100 * base[0]:.1f}% from the out_of_scope intent alone), Bitext in-scope accuracy {100 * acc:.1f}% "
          f"(costs {100 * (base[1] - acc):.1f} points; out_of_scope_pair_threshold {pair})")
    alone_recall, alone_acc, alone_rejected = at(chosen, None)
    print(f"without the pair rule: CLINC oos recall {100 * alone_recall:.1f}%, Bitext in-scope accuracy "
          f"{100 * alone_acc:.1f}% ({100 * alone_rejected:.1f}% rejected)")

    import matplotlib.pyplot as plt

    path = chart_path("oos.png")
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([100 * (1 - r[2]) for r in table], [100 * r[1] for r in table], marker="o")
    for t, rec, acc in table:
        ax.annotate(f"{t:.2f}", (100 * (1 - acc), 100 * rec), fontsize=8)
    ax.set_xlabel("Bitext in-scope error (%)")
    ax.set_ylabel("CLINC oos recall (%)")
    ax.set_title("out_of_scope_threshold trade-off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"chart: {path}")


if __name__ == "__main__":
    main()
