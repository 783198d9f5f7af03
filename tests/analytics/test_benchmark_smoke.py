"""benchmarks/analytics_scale.py on 300 conversations (SQLite), so the benchmark keeps working."""
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import analytics_scale  # noqa: E402

from bot.analytics.report import build_report  # noqa: E402


def test_generated_store_reports_consistently(tmp_path: Path) -> None:
    until = time.time()
    handoffs: list = []
    count = analytics_scale.load_sqlite(tmp_path / "t.db", analytics_scale.generate(300, until - 60, handoffs))
    analytics_scale.load_handoffs(f"sqlite:///{tmp_path / 'a.db'}", handoffs)
    figures = build_report(until - 31 * 86400, until, f"sqlite:///{tmp_path / 't.db'}",
                           f"sqlite:///{tmp_path / 'a.db'}", progress=False)
    assert figures["source"]["events_read"] == count
    assert figures["conversations"] == 300
    assert figures["escalated"] == len(handoffs) == figures["handoffs"]["records"]
    assert figures["contained"] + figures["abandoned"] + figures["escalated"] == 300
    assert "unrecorded" not in figures["escalations_by_reason"]  # every handoff matched its record
