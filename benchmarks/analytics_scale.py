"""Support-metrics report at scale: N synthetic conversations (default 100,000) bulk-inserted into
a temporary SQLite tracker store in Rasa's ``events`` schema (and, with --postgres, into a
PostgreSQL database of our own), then the report is timed.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/analytics_scale.py [--conversations 100000] [--postgres URL]

Prints the insert and report times and the events read per second. Target: report < 60 s.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Iterator, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.analytics.events import EVENTS  # noqa: E402
from bot.analytics.report import build_report, write_report  # noqa: E402

DAYS = 30
FAQ = ["delivery_period", "delivery_options", "check_refund_policy", "check_payment_methods", "recover_password"]
Row = Tuple[str, str, float, object, object, str]


def generate(n: int, end: float, handoffs: List[tuple], seed: int = 7) -> Iterator[Row]:
    """Events (sender_id, type_name, timestamp, intent_name, action_name, data), one conversation at a time;
    the handoff records are appended to ``handoffs``. The same seed gives the same data."""
    rng = random.Random(seed)
    span = DAYS * 86400.0
    start0 = end - span

    for i in range(n):
        sender = f"bench-{i:06d}"
        t = start0 + span * i / n
        rows: List[Row] = []
        out = rows.append

        def ev(type_name: str, intent=None, action=None, **data) -> None:
            nonlocal t
            t += rng.uniform(0.2, 8.0)
            payload = {"event": type_name, "timestamp": t, **data}
            out((sender, type_name, t, intent, action, json.dumps(payload)))

        def user(intent: str, text: str, llm: bool = False) -> None:
            parse = {"text": text, "intent": {"name": intent, "confidence": 0.93}, "entities": [],
                     "intent_ranking": [{"name": intent, "confidence": 0.93}]}
            if llm:
                parse["llm"] = {"called": True, "used": True, "calls": [
                    {"model": "gpt-4o-mini", "prompt_tokens": 420, "completion_tokens": 18, "latency_ms": 380.0,
                     "cost_usd": 0.0000738, "cached": False}]}
            ev("user", intent, None, text=text, parse_data=parse, input_channel="rest")

        def action(name: str) -> None:
            ev("action", None, name, name=name, policy="RulePolicy", confidence=1.0)

        def slot(name: str, value) -> None:
            ev("slot", None, name, name=name, value=value)

        def loop(name) -> None:
            ev("active_loop", None, name, name=name)

        def bot(text: str, llm: bool = False) -> None:
            meta = {"kb_answer": {"grounded": True, "sources": ["https://help.brightbay.example/shipping"],
                                  "llm_usage": {"model": "gpt-4o-mini", "prompt_tokens": 900, "completion_tokens": 60,
                                                "cost_usd": 0.000171, "cached": False} if llm else None}}
            ev("bot", text=text, data={}, metadata=meta)

        def csat() -> None:
            action("utter_goodbye")
            action("utter_ask_csat")
            action("action_listen")
            if rng.random() < 0.5:
                score = rng.choice([1, 2, 3, 4, 4, 5, 5, 5])
                user("inform", f'/inform{{"csat_score": {score}}}')
                action("action_csat_save")
                slot("csat_score", float(score))
                action("csat_form")
                loop("csat_form")
                action("action_listen")

        action("action_session_start")
        ev("session_started")
        action("action_listen")
        kind = rng.random()
        order = str(10001 + rng.randrange(300))
        if kind < 0.45:  # a question answered, goodbye, maybe a rating
            llm = rng.random() < 0.3
            user(rng.choice(FAQ), "how long does shipping take", llm=llm)
            action("action_answer_question")
            bot("Standard shipping takes 3-5 business days. Source: Shipping", llm=llm)
            action("action_listen")
            user("goodbye", "bye")
            csat()
        elif kind < 0.72:  # an order tracked
            user("track_order", "where is my order")
            action("order_form")
            loop("order_form")
            slot("requested_slot", "order_id")
            action("action_listen")
            user("inform", f"{order} alice@example.com")
            slot("order_id", order)
            slot("order_identity", "alice@example.com")
            action("order_form")
            loop(None)
            action("action_order_status")
            bot(f"Order {order} is on its way.")
            action("action_listen")
            if rng.random() < 0.6:
                user("thank_you", "thanks")
                action("utter_you_are_welcome")
                csat()
        elif kind < 0.82:  # abandoned in the form
            user("cancel_order", "cancel my order")
            action("order_form")
            loop("order_form")
            slot("requested_slot", "order_id")
            action("action_listen")
        elif kind < 0.95:  # handed off
            intent = rng.choice(["contact_human_agent", "complaint", "get_refund"])
            user(intent, "I want to talk to a person")
            action("action_handoff")
            bot("I'm connecting you with a member of our support team.")
            ev("pause")
            created = datetime.fromtimestamp(t + 0.5)
            wait, handle = rng.uniform(30, 900), rng.uniform(120, 1800)
            claimed = datetime.fromtimestamp(t + 0.5 + wait)
            resolved = datetime.fromtimestamp(t + 0.5 + wait + handle)
            reasons = json.dumps([{"contact_human_agent": "explicit_request", "complaint": "anger",
                                   "get_refund": "high_value"}[intent]])
            handoffs.append((sender, "rest", reasons, 1, "{}", "resolved", "ann", 0, int(order), created, claimed,
                             resolved, resolved))
        else:  # not understood
            user("nlu_fallback", "blorp")
            action("action_answer_question")
            bot("Sorry, I couldn't find that.")
            action("action_listen")
        yield from rows


def load_sqlite(path: Path, rows: Iterator[Row]) -> int:
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{path}")
    EVENTS.metadata.create_all(engine)
    engine.dispose()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    cursor = conn.executemany(
        "INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) VALUES (?,?,?,?,?,?)", rows
    )
    count = cursor.rowcount
    conn.execute("CREATE INDEX IF NOT EXISTS ix_events_sender_id ON events (sender_id)")
    conn.commit()
    conn.close()
    return count


def load_handoffs(url: str, handoffs: List[tuple]) -> None:
    from sqlalchemy import create_engine

    from bot.db.models import Base, Handoff, Order, Refund, Customer

    engine = create_engine(url)
    Base.metadata.create_all(engine, tables=[Customer.__table__, Order.__table__, Refund.__table__, Handoff.__table__])
    with engine.begin() as conn:
        conn.execute(Handoff.__table__.delete())
    columns = ["conversation_id", "channel", "reasons", "priority", "summary", "status", "claimed_by", "after_hours",
               "order_id", "created_at", "claimed_at", "resolved_at", "updated_at"]
    with engine.begin() as conn:
        conn.execute(Handoff.__table__.insert(), [dict(zip(columns, h)) for h in handoffs])
    engine.dispose()


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database of ``url`` if it does not exist yet."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                  {"name": target.database}).scalar()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    finally:
        admin.dispose()


def load_postgres(url: str, rows: Iterator[Row], spool: Path) -> int:
    from sqlalchemy import create_engine

    ensure_database(url)
    engine = create_engine(url)
    EVENTS.metadata.drop_all(engine)
    EVENTS.metadata.create_all(engine)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        count = 0
        with open(spool, "w", newline="") as handle:
            writer = csv.writer(handle)
            for row in rows:
                writer.writerow(["" if v is None else v for v in row])
                count += 1
        with open(spool) as handle:
            cursor.copy_expert(
                "COPY events (sender_id, type_name, timestamp, intent_name, action_name, data) FROM STDIN WITH (FORMAT csv)",
                handle,
            )
        cursor.execute("UPDATE events SET intent_name = NULL WHERE intent_name = ''")
        cursor.execute("UPDATE events SET action_name = NULL WHERE action_name = ''")
        cursor.execute("CREATE INDEX IF NOT EXISTS ix_events_sender_id ON events (sender_id)")
        cursor.execute("ANALYZE events")
        raw.commit()
    finally:
        raw.close()
    engine.dispose()
    spool.unlink()
    return count


def timed_report(label: str, tracker_url: str, db_url: str, since: float, until: float, out: Path) -> float:
    started = time.perf_counter()
    figures = build_report(since, until, tracker_url, db_url, progress=True)
    write_report(figures, out)
    seconds = time.perf_counter() - started
    events = figures["source"]["events_read"]
    print(f"[{label}] report on {figures['conversations']:,} conversations ({events:,} events): {seconds:.1f} s, "
          f"{events / seconds:,.0f} rows/s, {figures['conversations'] / seconds:,.0f} conversations/s; "
          f"containment {figures['containment_rate']}, escalation {figures['escalation_rate']} -> {out}", flush=True)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--postgres", default=None,
                        help="also run on this PostgreSQL URL (the database is created if missing; its events and "
                             "handoffs tables are replaced), e.g. postgresql://postgres@127.0.0.1:5432/brightbay_metrics_bench")
    parser.add_argument("--out", type=Path, default=None, help="folder for the reports (default: the temp folder)")
    args = parser.parse_args()

    load = os.getloadavg()
    print(f"{datetime.now().isoformat(timespec='seconds')} {platform.node()} {platform.machine()}, "
          f"{os.cpu_count()} cores, load average {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}", flush=True)
    until = time.time()
    since = until - (DAYS + 1) * 86400
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="analytics-scale-") as tmp:
        folder = args.out or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        tracker, app = Path(tmp) / "trackers.db", Path(tmp) / "brightbay.db"
        started = time.perf_counter()
        handoffs: List[tuple] = []
        count = load_sqlite(tracker, generate(args.conversations, until - 60, handoffs))
        load_handoffs(f"sqlite:///{app}", handoffs)
        seconds = time.perf_counter() - started
        print(f"[sqlite] generated and inserted {args.conversations:,} conversations ({count:,} events, "
              f"{len(handoffs):,} handoffs) in {seconds:.1f} s ({count / seconds:,.0f} rows/s)", flush=True)
        worst = max(worst, timed_report("sqlite", f"sqlite:///{tracker}", f"sqlite:///{app}", since, until,
                                        folder / "report-sqlite.html"))
        if args.postgres:
            started = time.perf_counter()
            handoffs = []
            count = load_postgres(args.postgres, generate(args.conversations, until - 60, handoffs), Path(tmp) / "events.csv")
            load_handoffs(args.postgres, handoffs)
            seconds = time.perf_counter() - started
            print(f"[postgresql] generated and copied {count:,} events in {seconds:.1f} s ({count / seconds:,.0f} rows/s)",
                  flush=True)
            worst = max(worst, timed_report("postgresql", args.postgres, args.postgres, since, until,
                                            folder / "report-postgresql.html"))
    print(f"slowest report: {worst:.1f} s (target < 60 s): {'OK' if worst < 60 else 'TOO SLOW'}")
    return 0 if worst < 60 else 1


if __name__ == "__main__":
    sys.exit(main())
