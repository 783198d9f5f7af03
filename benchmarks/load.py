"""The production topology under load: turns/s and p50/p95/p99 turn latency per concurrency level.

For each configuration (1 or 2 Rasa instances; with or without the fake LLM server) it starts
the loopback stack of tests/servers.py (its own PostgreSQL cluster and Redis, the action server,
the Rasa instances and, with several instances, nginx in front), then runs C concurrent
conversations of --turns turns for each C in --concurrency. The reference is a plain Rasa bot
of the same size (same intents, NLU examples and fixed responses; Rasa's default pipeline and
policies, as `rasa init` writes them) trained in a temporary folder and served by one `rasa run`
with its default (in-memory) stores. Then one long conversation shows how turn latency grows
from turn 10 to turn --long-turns as the tracker grows.

    .venv/bin/python benchmarks/load.py                        # everything (takes long)
    .venv/bin/python benchmarks/load.py --instances 1 --concurrency 1,20 --llm off --no-reference --long-turns 0
    .venv/bin/python benchmarks/load.py --instances 2 --concurrency 20,50 --llm off --no-reference --long-turns 0 --channel rest,socketio

Prints a table (with the Rasa processes' CPU milliseconds per turn, from /proc) and writes
results/benchmarks/load.png and load.json.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np
import requests
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fake_openai import FakeOpenAI  # noqa: E402
from tests.servers import BIN, Managed, Stack, free_port, server_env  # noqa: E402
from tests.test_production import conversation_scripts, model  # noqa: E402
from tests.widget_socket import WidgetSocket  # noqa: E402

OUT = ROOT / "results" / "benchmarks"
REFERENCE_CACHE = ROOT / "var" / "bench-reference"


def run_load(urls: List[str], scripts: List[List[str]], label: str, channel: str = "rest") -> Dict[str, float]:
    """`channel` rest: one POST per turn (to a random URL); socketio: the widget's protocol, one
    websocket per conversation, a turn timed from the message to the server's acknowledgement
    (sent when the turn is done, after its replies)."""
    latencies: List[float] = []
    per_turn: Dict[int, List[float]] = {}
    lock = threading.Lock()
    failures = [0]

    def record(turn: int, took: float, ok: bool) -> None:
        with lock:
            failures[0] += not ok
            latencies.append(took)
            per_turn.setdefault(turn, []).append(took)

    def converse_rest(n: int, script: List[str]) -> None:
        rng = random.Random(n)
        sender = f"{label}-{n}-{time.time_ns()}"
        with requests.Session() as http:
            for turn, message in enumerate(script):
                start = time.perf_counter()
                reply = http.post(f"{rng.choice(urls)}/webhooks/rest/webhook", json={"sender": sender, "message": message}, timeout=600)
                record(turn, time.perf_counter() - start, reply.status_code == 200)

    def converse_socketio(n: int, script: List[str]) -> None:
        rng = random.Random(n)
        widget = WidgetSocket(rng.choice(urls), ["websocket"])
        try:
            for turn, message in enumerate(script):
                start = time.perf_counter()
                try:
                    ok = widget.ask(message, message_id=f"{n}-{turn}-{time.time_ns()}", timeout=600) is not None
                except Exception:
                    ok = False
                record(turn, time.perf_counter() - start, ok)
        finally:
            widget.close()

    converse = converse_socketio if channel == "socketio" else converse_rest

    start = time.perf_counter()
    with ThreadPoolExecutor(len(scripts)) as pool:
        for future in [pool.submit(converse, n, s) for n, s in enumerate(scripts)]:
            future.result()
    elapsed = time.perf_counter() - start
    ms = np.array(latencies) * 1000
    return {
        "turns": len(latencies), "failures": failures[0], "elapsed_s": elapsed,
        "turns_per_s": len(latencies) / elapsed, "conversations_per_s": len(scripts) / elapsed,
        "p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)), "p99_ms": float(np.percentile(ms, 99)),
        "per_turn_ms": {t: float(np.median(v) * 1000) for t, v in sorted(per_turn.items())},
    }


def long_conversation(url: str, turns: int) -> Dict[str, float]:
    fillers = ["hi", "do you take paypal", "how long does standard shipping take", "thanks", "where is my order 10001", "alice@example.com"]
    script = [fillers[n % len(fillers)] for n in range(turns)]
    result = run_load([url], [script], "long")
    per_turn = list(result["per_turn_ms"].values())
    window = lambda at: float(np.median(per_turn[max(0, at - 10):at]))  # noqa: E731
    return {"turns": turns, "turn_10_ms": window(10), f"turn_{turns}_ms": window(turns), "growth": window(turns) / window(10)}


# ---------------------------------------------------------------------------------------------
# The plain reference bot
# ---------------------------------------------------------------------------------------------

def reference_project(directory: Path) -> None:
    """Same intents, NLU examples and fixed responses; Rasa's default pipeline and policies."""
    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    intents = [i if isinstance(i, str) else next(iter(i)) for i in domain["intents"]]
    responses = {k: v for k, v in domain.get("responses", {}).items() if k.startswith("utter_")}
    responses.setdefault("utter_default", [{"text": "Sorry, I didn't get that."}])
    plain_responses = {k: [{"text": r.get("text", "...")} for r in v if "text" in r] or [{"text": "..."}] for k, v in responses.items()}
    (directory / "data").mkdir(parents=True, exist_ok=True)
    (directory / "domain.yml").write_text(yaml.safe_dump({
        "version": "3.1", "intents": intents, "responses": plain_responses,
        "session_config": {"session_expiration_time": 60, "carry_over_slots_to_new_session": True},
    }, sort_keys=False))
    rules = [{"rule": f"answer {i}", "steps": [{"intent": i}, {"action": f"utter_{i}" if f"utter_{i}" in plain_responses else "utter_default"}]}
             for i in intents if i != "nlu_fallback"]
    (directory / "data" / "rules.yml").write_text(yaml.safe_dump({"version": "3.1", "rules": rules}, sort_keys=False))
    examples: Dict[str, List[str]] = {}
    for path in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        for item in (yaml.safe_load(path.read_text()) or {}).get("nlu", []) or []:
            if "intent" in item and item["intent"] in intents:
                lines = [line[2:].strip() for line in str(item.get("examples", "")).splitlines() if line.startswith("- ")]
                examples.setdefault(item["intent"], []).extend(lines)
    nlu = [{"intent": i, "examples": "".join(f"- {e}\n" for e in ex)} for i, ex in examples.items() if ex]
    (directory / "data" / "nlu.yml").write_text(yaml.safe_dump({"version": "3.1", "nlu": nlu}, sort_keys=False, width=10_000))
    # What `rasa init` writes: no pipeline and no policies, so Rasa picks its defaults.
    (directory / "config.yml").write_text("recipe: default.v1\nassistant_id: reference\nlanguage: en\npipeline:\npolicies:\n")
    (directory / "credentials.yml").write_text("rest:\n")


def reference_model() -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        reference_project(project)
        digest = hashlib.sha256(b"".join((project / f).read_bytes() for f in ("domain.yml", "config.yml", "data/nlu.yml", "data/rules.yml"))).hexdigest()[:12]
        model = REFERENCE_CACHE / f"reference-{digest}.tar.gz"
        if model.exists():
            return model
        print("training the plain reference bot (Rasa's default pipeline) ...", flush=True)
        REFERENCE_CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(BIN / "rasa"), "train", "--fixed-model-name", model.name[:-len(".tar.gz")], "--out", str(REFERENCE_CACHE)],
                       cwd=project, env=server_env(), check=True, stdout=subprocess.DEVNULL)
        shutil.copy(project / "credentials.yml", REFERENCE_CACHE / "credentials.yml")
        return model


@contextmanager
def reference_server(tmp: Path) -> Iterator[Tuple[str, int]]:
    model_path = reference_model()
    port = free_port()
    # Its own (empty) endpoints: in-memory tracker and lock stores, no action server, as `rasa init` runs.
    endpoints = tmp / "reference-endpoints.yml"
    endpoints.write_text("# plain rasa run: Rasa's default in-memory stores\n")
    server = Managed("reference", [str(BIN / "rasa"), "run", "--model", str(model_path), "--port", str(port),
                                   "--credentials", str(REFERENCE_CACHE / "credentials.yml"), "--endpoints", str(endpoints)],
                     server_env(), tmp / "reference.log", f"http://127.0.0.1:{port}/")
    try:
        server.start()
        yield f"http://127.0.0.1:{port}", server.process.pid
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------------

def cpu_seconds(pids: List[int]) -> Optional[float]:
    """User + system CPU time the processes have used so far (Linux /proc); None elsewhere."""
    try:
        total = 0
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        return total / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def measure(label: str, urls: List[str], levels: List[int], turns: int, long_turns: int, pids: List[int],
            channel: str = "rest") -> List[Dict]:
    """Rows per concurrency level; `pids` are the Rasa processes whose CPU per turn is reported."""
    rows = []
    # Unmeasured warm-up over every path the scripts take (forms, help-center index, CSAT, TF tracing).
    run_load(urls, conversation_scripts(10, turns, seed=999), f"{label}-warm", channel)
    for level in levels:
        print(f"{label}: {level} concurrent conversations x {turns} turns ...", flush=True)
        cpu_before = cpu_seconds(pids)
        row = {"config": label, "concurrency": level,
               **run_load(urls, conversation_scripts(level, turns, seed=level), f"{label}-{level}", channel)}
        cpu_after = cpu_seconds(pids)
        row["rasa_cpu_ms_per_turn"] = (
            (cpu_after - cpu_before) * 1000 / row["turns"] if cpu_before is not None and cpu_after is not None else None
        )
        rows.append(row)
        cpu = f", Rasa CPU {row['rasa_cpu_ms_per_turn']:.1f} ms per turn" if row["rasa_cpu_ms_per_turn"] is not None else ""
        print(f"  {row['turns_per_s']:.1f} turns/s, p50 {row['p50_ms']:.0f} / p95 {row['p95_ms']:.0f} / p99 {row['p99_ms']:.0f} ms{cpu}",
              flush=True)
    if long_turns:
        print(f"{label}: one conversation of {long_turns} turns ...", flush=True)
        long = long_conversation(urls[0], long_turns)
        rows.append({"config": label, "long": long})
        print(f"  turns 1-10 median {long['turn_10_ms']:.0f} ms, last 10 of {long_turns} median "
              f"{long[f'turn_{long_turns}_ms']:.0f} ms (x{long['growth']:.2f})", flush=True)
    return rows


def save(rows: List[Dict]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "load.json").write_text(json.dumps([{k: v for k, v in r.items() if k != "per_turn_ms"} for r in rows], indent=1))


def chart(rows: List[Dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for config in dict.fromkeys(r["config"] for r in rows if "concurrency" in r):
        data = [r for r in rows if r.get("config") == config and "concurrency" in r]
        xs = [r["concurrency"] for r in data]
        left.plot(xs, [r["turns_per_s"] for r in data], marker="o", label=config)
        right.plot(xs, [r["p95_ms"] for r in data], marker="o", label=config)
    right.axhline(1000, color="red", linestyle="--", linewidth=1, label="p95 target at 20")
    left.set_xlabel("concurrent conversations"); left.set_ylabel("turns per second"); left.set_ylim(bottom=0)
    right.set_xlabel("concurrent conversations"); right.set_ylabel("p95 turn latency (ms)")
    right.set_yscale("log")
    left.legend(fontsize=8); right.legend(fontsize=8)
    fig.suptitle(f"Brightbay load (REST or the widget's socket.io, nginx in front of several instances), {os.cpu_count()} cores")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", default="1,10,20,50,200", help="comma-separated concurrent conversation counts")
    parser.add_argument("--instances", default="1,2", help="comma-separated Rasa instance counts")
    parser.add_argument("--llm", default="off,on", help="off, on or both: without / with the fake LLM server")
    parser.add_argument("--turns", type=int, default=10, help="turns per conversation")
    parser.add_argument("--long-turns", type=int, default=200, help="turns of the long conversation (0: skip)")
    parser.add_argument("--no-reference", action="store_true", help="skip the plain Rasa reference bot")
    parser.add_argument("--channel", default="rest", help="rest, socketio or both (the widget's websocket; Brightbay only)")
    args = parser.parse_args()
    levels = [int(x) for x in args.concurrency.split(",")]
    load_before = os.getloadavg()[0]
    rows: List[Dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for instances in [int(x) for x in args.instances.split(",")]:
            for llm in args.llm.split(","):
                label = f"brightbay x{instances}" + (" +LLM" if llm == "on" else "")
                with FakeOpenAI(default=model) as fake:
                    extra = {"OPENAI_API_KEY": "bench", "OPENAI_BASE_URL": fake.base_url} if llm == "on" else {}
                    run_dir = Path(tmp) / label.replace(" ", "_").replace("+", "")
                    run_dir.mkdir()
                    with Stack(run_dir, instances=instances, nginx=instances > 1, **extra) as stack:
                        urls = [stack.lb_url] if instances > 1 else stack.rasa_urls
                        pids = [server.process.pid for server in stack.rasa]
                        for channel in args.channel.split(","):
                            config = label + (" socket.io" if channel == "socketio" else "")
                            rows += measure(config, urls, levels, args.turns, args.long_turns if channel == "rest" else 0,
                                            pids, channel)
                save(rows)  # after each configuration: a later failure loses nothing measured
        if not args.no_reference:
            with reference_server(Path(tmp)) as (url, pid):
                rows += measure("plain rasa (default pipeline) x1", [url], levels, args.turns, args.long_turns, [pid])
            save(rows)
    print(f"\n{os.cpu_count()} cores; load average before the run {load_before:.2f}, after {os.getloadavg()[0]:.2f} "
          "(the benchmark's own servers and clients included)")
    print(f"{'config':<36} {'conc':>5} {'turns':>6} {'fail':>5} {'turns/s':>8} {'conv/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
          f"{'CPU ms/turn':>11}")
    for r in rows:
        if "concurrency" in r:
            cpu = f"{r['rasa_cpu_ms_per_turn']:>11.1f}" if r.get("rasa_cpu_ms_per_turn") is not None else f"{'-':>11}"
            print(f"{r['config']:<36} {r['concurrency']:>5} {r['turns']:>6} {r['failures']:>5} {r['turns_per_s']:>8.1f} "
                  f"{r['conversations_per_s']:>7.2f} {r['p50_ms']:>8.0f} {r['p95_ms']:>8.0f} {r['p99_ms']:>8.0f} {cpu}")
    for r in rows:
        if "long" in r:
            lg = r["long"]
            last = lg["turn_%d_ms" % lg["turns"]]
            print(f"{r['config']:<36} long conversation: turns 1-10 median {lg['turn_10_ms']:.0f} ms, "
                  f"last 10 of {lg['turns']} median {last:.0f} ms (x{lg['growth']:.2f})")
    save(rows)
    chart(rows, OUT / "load.png")
    print(f"\nchart: {OUT / 'load.png'}")


if __name__ == "__main__":
    main()
