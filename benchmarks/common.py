"""Shared helpers of the NLU benchmarks: data loading, the assistant's model config, an embedding cache, charts."""
from __future__ import annotations

import csv
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT.parent / "shared" / "datasets"
RESULTS = ROOT / "results" / "benchmarks"
CACHE = RESULTS / "cache"

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.nlu.offline_model import OfflineIntentModel  # noqa: E402

CLASSIFIER = "bot.nlu.few_shot_intent_classifier.FewShotIntentClassifier"


def project_examples() -> Tuple[List[str], List[str]]:
    """(texts, intents) of data/nlu as `rasa train nlu` sees them (entity markup removed)."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(ROOT / "data" / "nlu"))
    examples = [e for e in data.intent_examples if e.get("text") and e.get("intent")]
    return [e.get("text") for e in examples], [e.get("intent") for e in examples]


def assistant_config() -> Dict:
    """The classifier's config as `rasa train` builds it: defaults overridden by config.yml."""
    from bot.nlu.few_shot_intent_classifier import FewShotIntentClassifier

    config = FewShotIntentClassifier.get_default_config()
    for item in yaml.safe_load((ROOT / "config.yml").read_text())["pipeline"]:
        if item.get("name") == CLASSIFIER:
            config.update({k: v for k, v in item.items() if k != "name"})
    return config


def assistant_model() -> OfflineIntentModel:
    from bot.nlu.few_shot_intent_classifier import MODEL_PARAMS

    config = assistant_config()
    return OfflineIntentModel(**{k: config[k] for k in MODEL_PARAMS})


def cached_embeddings(texts: Sequence[str], model: OfflineIntentModel, progress: bool = True) -> np.ndarray:
    """Embeddings of texts, cached on disk under results/benchmarks/cache by text hash."""
    CACHE.mkdir(parents=True, exist_ok=True)
    clipped = model._clip(texts)
    key = hashlib.sha1("\n".join(clipped).encode()).hexdigest()[:16]
    path = CACHE / f"emb-{key}.npy"
    if path.exists():
        return np.load(path)
    vectors = model.embed(clipped, progress)
    np.save(path, vectors)
    return vectors


def bitext_rows() -> List[Dict[str, str]]:
    with (DATASETS / "bitext_customer_support" / "dev.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def clinc_oos() -> List[str]:
    data = json.loads((DATASETS / "clinc150" / "oos_dev.json").read_text())
    return [text for key in ("oos_train", "oos_val") for text, _ in data[key]]


def chart_path(name: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    import matplotlib

    matplotlib.use("Agg")
    return RESULTS / name


def percentile_ms(seconds: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(seconds) * 1000.0, q))
