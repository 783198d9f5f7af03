"""Handoff benchmark: labelled conversations through the REST channel against the real servers.

    python -m benchmarks.handoff [--json results/handoff_benchmark.json]

Starts the action server and Rasa (models/brightbay.tar.gz, a fresh seeded SQLite database,
agents always on duty), plays every conversation of benchmarks/data/handoff_conversations.yml
turn by turn as its own REST sender, and reads which conversations were handed off, and why,
from the handoff records. Prints precision and recall of the handoff decision, reason accuracy
(the expected reason is among the recorded ones), the handoff rate and the false handoffs on
calm and mildly annoyed conversations. It then sends the angry (tag W, offensive language)
and contact_human_agent rows of ../shared/datasets/bitext_customer_support/dev.csv as
single-turn probes (read at run time, never copied) and prints how many were handed off.
"""
from __future__ import annotations

import argparse
import collections
import csv
import json
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any, Dict, List

import requests
import yaml
from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.db.models import Handoff  # noqa: E402
from bot.db.seed import ensure_demo_data  # noqa: E402
from bot.db.session import session_scope  # noqa: E402
from tests.servers import assistant_servers  # noqa: E402

CONVERSATIONS = ROOT / "benchmarks" / "data" / "handoff_conversations.yml"
BITEXT_DEV = ROOT.parent / "shared" / "datasets" / "bitext_customer_support" / "dev.csv"
TARGETS = {"precision": 0.9, "recall": 0.95, "calm_false_handoff_rate": 0.05}


def say(url: str, sender: str, text: str) -> List[str]:
    reply = requests.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=120)
    reply.raise_for_status()
    return [m.get("text", "") for m in reply.json()]


def handoffs(database_url: str) -> Dict[str, List[str]]:
    with session_scope(database_url) as session:
        rows = session.execute(select(Handoff.conversation_id, Handoff.reasons)).all()
    return {conversation: json.loads(reasons) for conversation, reasons in rows}


def score_conversations(conversations: List[Dict[str, Any]], found: Dict[str, List[str]], run: str) -> Dict[str, Any]:
    tp = fp = fn = tn = reason_ok = 0
    calm_total = calm_false = 0
    mistakes = []
    for conv in conversations:
        sender = f"{run}-{conv['id']}"
        expected = conv["expect"] != "none"
        got = sender in found
        if conv["kind"] in ("calm", "annoyed"):
            calm_total += 1
            calm_false += got
        if expected and got:
            tp += 1
            if conv["expect"] in found[sender]:
                reason_ok += 1
            else:
                mistakes.append({"id": conv["id"], "expected": conv["expect"], "got": found[sender]})
        elif expected:
            fn += 1
            mistakes.append({"id": conv["id"], "expected": conv["expect"], "got": "no handoff"})
        elif got:
            fp += 1
            mistakes.append({"id": conv["id"], "expected": "none", "got": found[sender]})
        else:
            tn += 1
    return {
        "conversations": len(conversations),
        "deserving_handoff": tp + fn,
        "precision": round(tp / (tp + fp), 3) if tp + fp else 1.0,
        "recall": round(tp / (tp + fn), 3) if tp + fn else 1.0,
        "reason_accuracy": round(reason_ok / tp, 3) if tp else 0.0,
        "handoff_rate": round((tp + fp) / len(conversations), 3),
        "calm_false_handoffs": calm_false,
        "calm_conversations": calm_total,
        "calm_false_handoff_rate": round(calm_false / calm_total, 3) if calm_total else 0.0,
        "confusion": {"tp": tp, "fp": fp, "fn": fn, "tn": tn},
        "mistakes": mistakes,
    }


def probes() -> Dict[str, List[str]]:
    if not BITEXT_DEV.exists():
        return {}
    with open(BITEXT_DEV, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {
        "angry_W": [r["instruction"] for r in rows if "W" in (r.get("tags") or "")],
        "contact_human_agent": [r["instruction"] for r in rows if r["intent"] == "contact_human_agent"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, default=ROOT / "results" / "handoff_benchmark.json")
    args = parser.parse_args()
    conversations = yaml.safe_load(CONVERSATIONS.read_text())["conversations"]
    probe_sets = probes()
    run = f"bench{int(time.time())}"
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="handoff-bench-") as tmp:
        database_url = f"sqlite:///{Path(tmp) / 'brightbay.db'}"
        ensure_demo_data(database_url)
        with assistant_servers(Path(tmp), database_url, SUPPORT_HOURS="24/7", REDIS_URL="",
                               AGENT_TOKENS="bench:bench-token") as url:
            for conv in conversations:
                for text in conv["turns"]:
                    say(url, f"{run}-{conv['id']}", text)
            for name, texts in probe_sets.items():
                for index, text in enumerate(texts):
                    say(url, f"{run}-probe-{name}-{index}", text)
            found = handoffs(database_url)
    report: Dict[str, Any] = {"date": date.today().isoformat(), "seconds": round(time.monotonic() - started, 1)}
    report["conversations"] = score_conversations(conversations, found, run)
    report["probes"] = {}
    for name, texts in probe_sets.items():
        reasons = collections.Counter()
        handed = 0
        for index in range(len(texts)):
            got = found.get(f"{run}-probe-{name}-{index}")
            if got:
                handed += 1
                reasons.update(got)
        report["probes"][name] = {
            "probes": len(texts), "handed_off": handed,
            "handoff_rate": round(handed / len(texts), 3) if texts else 0.0,
            "reasons": dict(reasons.most_common()),
        }
    c = report["conversations"]
    print(f"handoff benchmark {report['date']} ({c['conversations']} conversations, {c['deserving_handoff']} deserve a handoff; {report['seconds']} s)")
    print(f"  precision            {c['precision']:.3f}   (target >= {TARGETS['precision']})")
    print(f"  recall               {c['recall']:.3f}   (target >= {TARGETS['recall']})")
    print(f"  reason accuracy      {c['reason_accuracy']:.3f}")
    print(f"  handoff rate         {c['handoff_rate']:.3f}")
    print(f"  calm false handoffs  {c['calm_false_handoffs']}/{c['calm_conversations']} = {c['calm_false_handoff_rate']:.3f}   (target <= {TARGETS['calm_false_handoff_rate']})")
    for mistake in c["mistakes"]:
        print(f"    {mistake['id']}: expected {mistake['expected']}, got {mistake['got']}")
    if not probe_sets:
        print(f"  probes: {BITEXT_DEV} not found, skipped")
    for name, probe in report["probes"].items():
        print(f"  bitext probe {name:20s} {probe['handed_off']}/{probe['probes']} handed off = {probe['handoff_rate']:.3f}  reasons {probe['reasons']}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    met = c["precision"] >= TARGETS["precision"] and c["recall"] >= TARGETS["recall"] and \
        c["calm_false_handoff_rate"] <= TARGETS["calm_false_handoff_rate"]
    print("  targets met" if met else "  TARGETS NOT MET")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
