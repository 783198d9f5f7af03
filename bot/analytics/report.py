"""The report: figures as JSON and CSV, and a self-contained HTML page with inline PNG charts."""
from __future__ import annotations

import base64
import csv
import html
import io
import json
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

from bot.analytics import events as ev
from bot.analytics.metrics import FCR_DAYS, MATCH_SLACK_S, attach_handoffs, build_conversation, compute

READ_BEFORE_S = 86400.0  # a conversation that started up to a day before the window is not split at its edge
PROGRESS_MIN_EVENTS = 20000  # no progress bar for small stores


def build_report(
    since: float,
    until: float,
    tracker_db: Optional[str] = None,
    db: Optional[str] = None,
    progress: bool = True,
) -> Dict[str, Any]:
    """All figures for conversations that started in [since, until) (epoch seconds)."""
    from bot.db.session import database_url

    started = time.perf_counter()
    engine = ev.open_tracker_store(ev.tracker_db_url(tracker_db))
    lo, hi = since - READ_BEFORE_S, until + FCR_DAYS * 86400
    bar = None
    try:
        if progress:
            total = ev.count_events(engine, lo, hi)
            if total >= PROGRESS_MIN_EVENTS:
                from tqdm import tqdm

                bar = tqdm(total=total, unit="event", desc="reading tracker store", file=sys.stderr, mininterval=0.5)
        conversations = []
        rows_read = 0
        for sender, rows in ev.sessions(ev.stream_rows(engine, lo, hi, bar)):
            rows_read += len(rows)
            conv = build_conversation(sender, rows)
            if conv is not None:
                conversations.append(conv)
    finally:
        if bar is not None:
            bar.close()
        engine.dispose()
    records = ev.read_handoffs(
        db or database_url(),
        datetime.fromtimestamp(since - MATCH_SLACK_S),
        datetime.fromtimestamp(until + MATCH_SLACK_S),
    )
    window_start, window_end = datetime.fromtimestamp(since), datetime.fromtimestamp(until)
    attach_handoffs((c for c in conversations if since <= c.start < until), records)
    report = compute(conversations, [r for r in records if window_start <= r.created_at < window_end], since, until)
    report["source"] = {"events_read": rows_read, "seconds": round(time.perf_counter() - started, 3)}
    return report


# --- CSV ---------------------------------------------------------------------------------------

def flatten(report: Dict[str, Any]) -> Iterator[Tuple[str, Any]]:
    """(metric, value) pairs: nested keys joined with dots; daily rows by date, intents by name."""

    def walk(prefix: str, value: Any) -> Iterator[Tuple[str, Any]]:
        if isinstance(value, dict):
            for key, inner in value.items():
                yield from walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list):
            for item in value:
                key = item.get("date") or item.get("intent") if isinstance(item, dict) else None
                rest = {k: v for k, v in item.items() if k not in ("date", "intent")} if key else item
                yield from walk(f"{prefix}.{key}", rest)
        else:
            yield prefix, value

    yield from walk("", report)


def write_csv(report: Dict[str, Any], path: Path) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["metric", "value"])
        for metric, value in flatten(report):
            writer.writerow([metric, "" if value is None else value])


# --- charts --------------------------------------------------------------------------------------

def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def charts(report: Dict[str, Any]) -> Dict[str, Tuple[str, str]]:
    """chart id -> (title, base64 PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: Dict[str, Tuple[str, str]] = {}
    daily = report["daily"]
    dates = [d["date"][5:] for d in daily]

    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.bar(dates, [d["conversations"] for d in daily], color="#7aa6d8", label="conversations")
    ax.set_ylabel("conversations")
    ax2 = ax.twinx()
    ax2.plot(dates, [100 * (d["containment_rate"] or 0) for d in daily], color="#1b7f3b", marker="o", label="containment %")
    ax2.set_ylim(0, 100)
    ax2.set_ylabel("containment %")
    ax.tick_params(axis="x", labelrotation=45)
    fig.legend(loc="upper left", fontsize=8)
    ax.set_title("Daily conversations and containment")
    out["chart-daily"] = ("Daily conversations and containment", _png(fig))

    reasons = report["escalations_by_reason"]
    fig, ax = plt.subplots(figsize=(7, 3))
    names = list(reasons)[::-1] or ["(no escalations)"]
    ax.barh(names, [reasons[n]["conversations"] for n in names] if reasons else [0], color="#d8895a")
    ax.set_xlabel("escalated conversations")
    ax.set_title("Escalations by reason")
    out["chart-reasons"] = ("Escalations by reason", _png(fig))

    fig, ax = plt.subplots(figsize=(7, 3))
    scores = ["1", "2", "3", "4", "5"]
    for offset, (key, label, color) in enumerate(
        [("bot_only", "bot only", "#5a8fd8"), ("agent_handled", "agent handled", "#d85a8f")]
    ):
        dist = report["csat"][key]["distribution"]
        ax.bar([i + offset * 0.4 - 0.2 for i in range(5)], [dist[s] for s in scores], width=0.4, label=label, color=color)
    ax.set_xticks(range(5))
    ax.set_xticklabels(scores)
    ax.set_xlabel("rating")
    ax.set_ylabel("ratings")
    ax.legend(fontsize=8)
    ax.set_title("CSAT distribution")
    out["chart-csat"] = ("CSAT distribution", _png(fig))

    fig, ax = plt.subplots(figsize=(7, 3))
    ax.plot(dates, [d["cost_per_conversation_usd"] or 0 for d in daily], marker="o", color="#6b4fb3")
    ax.set_ylabel("USD per conversation")
    ax.tick_params(axis="x", labelrotation=45)
    ax.set_title("LLM cost per conversation")
    out["chart-cost"] = ("LLM cost per conversation", _png(fig))
    return out


# --- HTML ----------------------------------------------------------------------------------------

def _pct(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _num(value: Any, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def _secs(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{value / 60:.1f} min"


def _table(rows: List[Tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def render_html(report: Dict[str, Any]) -> str:
    r = report
    llm, ho, fcr = r["llm"], r["handoffs"], r["first_contact_resolution"]
    headline = _table([
        ("Conversations", _num(r["conversations"])),
        ("Containment rate", f"{_pct(r['containment_rate'])} ({r['contained']:,})"),
        ("Abandoned mid-task", f"{_pct(r['abandonment_rate'])} ({r['abandoned']:,})"),
        ("Escalation rate", f"{_pct(r['escalation_rate'])} ({r['escalated']:,})"),
        (f"First-contact resolution (no return about the order in {fcr['days']} days)",
         f"{_pct(fcr['rate'])} of {fcr['order_conversations']:,} order conversations"),
        ("CSAT, bot only", f"{_num(r['csat']['bot_only']['average'])} ({r['csat']['bot_only']['rated']:,} ratings)"),
        ("CSAT, agent handled", f"{_num(r['csat']['agent_handled']['average'])} ({r['csat']['agent_handled']['rated']:,} ratings)"),
        ("Handoff wait, median / p90", f"{_secs(ho['wait_seconds']['median'])} / {_secs(ho['wait_seconds']['p90'])}"),
        ("Agent handling time, median / p90", f"{_secs(ho['handling_seconds']['median'])} / {_secs(ho['handling_seconds']['p90'])}"),
        ("LLM calls / tokens / cost", f"{llm['calls']:,} / {llm['tokens']:,} / ${llm['cost_usd']:.4f}"),
        ("LLM cost per conversation", f"${_num(llm['per_conversation']['cost_usd'], 5)}"),
        ("LLM cost per resolved conversation", f"${_num(llm['per_resolved_conversation']['cost_usd'], 5)}"),
        ("Fallback rate (messages not understood)", _pct(r["fallback"]["rate"])),
    ])
    reasons = _table([(k, f"{v['conversations']:,} ({_pct(v['rate'])})") for k, v in r["escalations_by_reason"].items()]
                     or [("(none)", "")])
    intents = _table([(i["intent"], f"{i['escalations']:,} escalations, {_pct(i['escalation_rate'])} of its conversations")
                      for i in r["top_escalating_intents"]] or [("(none)", "")])
    figures = "".join(
        f'<figure><img id="{cid}" alt="{html.escape(title)}" src="data:image/png;base64,{png}">'
        f"<figcaption>{html.escape(title)}</figcaption></figure>"
        for cid, (title, png) in charts(r).items()
    )
    window = f"{r['window']['since']} to {r['window']['until']} (UTC)"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Brightbay support metrics</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 0.3em 0.8em; text-align: left; }}
th {{ font-weight: normal; color: #555; }}
figure {{ margin: 1em 0; }} img {{ max-width: 100%; }}
</style></head>
<body>
<h1>Brightbay support metrics</h1>
<p>Conversations that started {html.escape(window)}. The same figures are in the JSON and CSV files next to this page.</p>
<h2>Headline figures</h2>
{headline}
<h2>Charts</h2>
<div id="charts">{figures}</div>
<h2>Escalations by reason</h2>
{reasons}
<h2>Intents that escalate most</h2>
{intents}
</body></html>
"""


def write_report(report: Dict[str, Any], out: Path) -> Dict[str, Path]:
    """HTML at ``out``; JSON and CSV next to it with the same stem."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    paths = {"html": out, "json": out.with_suffix(".json"), "csv": out.with_suffix(".csv")}
    paths["json"].write_text(json.dumps(report, indent=2, sort_keys=False) + "\n")
    write_csv(report, paths["csv"])
    out.write_text(render_html(report))
    return paths


def parse_when(value: str, now: Optional[datetime] = None) -> float:
    """'7d', '12h', '30m' (ago) or an ISO date / datetime (local time unless it has an offset) -> epoch seconds."""
    now = now or datetime.now()
    value = value.strip()
    units = {"d": "days", "h": "hours", "m": "minutes", "w": "weeks"}
    if value[:-1].isdigit() and value[-1:] in units:
        return (now - timedelta(**{units[value[-1]]: int(value[:-1])})).timestamp()
    if value == "now":
        return now.timestamp()
    return datetime.fromisoformat(value).timestamp()
