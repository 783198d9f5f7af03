"""Exact figures from a seeded tracker store (tests/analytics/seed.py), counted by hand."""
import csv
import json
from pathlib import Path

import pytest

from bot.analytics.__main__ import main
from bot.analytics.metrics import percentile
from bot.analytics.report import build_report, parse_when
from tests.analytics.seed import SINCE, UNTIL, seed


@pytest.fixture(scope="module")
def urls(tmp_path_factory) -> dict:
    return seed(tmp_path_factory.mktemp("analytics"))


@pytest.fixture(scope="module")
def report(urls) -> dict:
    return build_report(SINCE, UNTIL, urls["tracker_db"], urls["db"], progress=False)


def test_conversations_containment_and_escalation(report) -> None:
    # c1, c8 (c1's second session), c2, c3, c4, c5, c6, c7, c10; c0 is before, c9 after the window.
    assert report["conversations"] == 9
    assert (report["escalated"], report["escalation_rate"]) == (3, round(3 / 9, 6))  # c4, c5, c10
    assert (report["abandoned"], report["abandonment_rate"]) == (1, round(1 / 9, 6))  # c3: silent in the form
    assert (report["contained"], report["containment_rate"]) == (5, round(5 / 9, 6))  # c1, c2, c6, c7, c8
    assert report["resolved"] == 7  # the 5 contained + c4 and c5, whose handoffs were resolved
    assert report["escalations_by_reason"] == {
        "explicit_request": {"conversations": 2, "rate": round(2 / 9, 6)},
        "anger": {"conversations": 1, "rate": round(1 / 9, 6)},
        "high_value": {"conversations": 1, "rate": round(1 / 9, 6)},
    }


def test_first_contact_resolution(report) -> None:
    # Orders: c2 10001 (c3 came back), c3 10001, c5 10004 (c9 came back), c6 10002, c8 10003.
    assert report["first_contact_resolution"] == {
        "order_conversations": 5, "resolved_first_time": 3, "rate": 0.6, "days": 7,
    }


def test_csat_by_who_handled_it(report) -> None:
    csat = report["csat"]
    assert csat["bot_only"] == {
        "conversations": 6, "asked": 3, "rated": 2, "skipped": 1, "response_rate": round(2 / 3, 6),
        "average": 3.5, "distribution": {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1},
    }
    assert csat["agent_handled"] == {
        "conversations": 3, "asked": 1, "rated": 1, "skipped": 0, "response_rate": 1.0,
        "average": 4.0, "distribution": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0},
    }
    assert csat["all"]["average"] == round(11 / 3, 4)


def test_handoff_wait_and_handling_time(report) -> None:
    handoffs = report["handoffs"]
    assert (handoffs["records"], handoffs["claimed"], handoffs["resolved"], handoffs["after_hours"]) == (3, 2, 2, 1)
    # Waits 120 s and 300 s (the after-hours one never claimed); handling 600 s and 1200 s.
    assert handoffs["wait_seconds"] == {"median": 210.0, "p90": 282.0, "count": 2}
    assert handoffs["handling_seconds"] == {"median": 900.0, "p90": 1140.0, "count": 2}


def test_llm_usage(report) -> None:
    llm = report["llm"]
    # c1: 2 NLU calls + 1 grounded answer; c7: one cached answer (tokens, no call, no cost).
    assert (llm["calls"], llm["prompt_tokens"], llm["completion_tokens"], llm["tokens"]) == (3, 450, 90, 540)
    assert llm["cost_usd"] == pytest.approx(0.0035)
    assert llm["per_conversation"] == {"calls": round(3 / 9, 6), "tokens": 60.0, "cost_usd": round(0.0035 / 9, 8)}
    assert llm["per_resolved_conversation"] == {"calls": round(3 / 7, 6), "tokens": round(540 / 7, 6), "cost_usd": 0.0005}


def test_fallback_and_escalating_intents(report) -> None:
    assert report["fallback"] == {
        "user_messages": 27, "fallback_messages": 3, "rate": round(3 / 27, 6), "conversations_with_fallback": 2,
    }
    assert report["top_escalating_intents"] == [
        {"intent": "contact_human_agent", "escalations": 2, "share_of_escalations": round(2 / 3, 6),
         "conversations_with_intent": 2, "escalation_rate": 1.0},
        {"intent": "complaint", "escalations": 1, "share_of_escalations": round(1 / 3, 6),
         "conversations_with_intent": 1, "escalation_rate": 1.0},
    ]


def test_daily_series(report) -> None:
    days = {d["date"]: (d["conversations"], d["contained"], d["escalated"]) for d in report["daily"]}
    assert days == {"2026-11-10": (2, 2, 0), "2026-11-11": (2, 0, 1), "2026-11-12": (3, 2, 1),
                    "2026-11-13": (1, 1, 0), "2026-11-14": (1, 0, 1)}
    assert report["daily"][0]["cost_per_conversation_usd"] == 0.00175


def test_a_narrower_window(urls) -> None:
    narrow = build_report(SINCE, parse_when("2026-11-11T00:00:00+00:00"), urls["tracker_db"], urls["db"], progress=False)
    assert (narrow["conversations"], narrow["contained"], narrow["escalated"]) == (2, 2, 0)
    # c2 is the only order conversation, and c3 came back about it (after the window, but it counts).
    assert narrow["first_contact_resolution"] == {"order_conversations": 1, "resolved_first_time": 0, "rate": 0.0, "days": 7}
    assert narrow["handoffs"]["records"] == 0 and narrow["handoffs"]["wait_seconds"]["median"] is None


def test_percentile_interpolates() -> None:
    assert percentile([], 50) is None
    assert percentile([5.0], 90) == 5.0
    assert percentile([1, 2, 3, 4], 50) == 2.5


def test_command_writes_html_json_and_csv(urls, tmp_path: Path) -> None:
    out = tmp_path / "out" / "report.html"
    assert main(["report", "--since", "2026-11-09T00:00:00+00:00", "--until", "2026-11-16T00:00:00+00:00",
                 "--out", str(out), "--tracker-db", urls["tracker_db"], "--db", urls["db"], "--no-progress"]) == 0
    figures = json.loads((tmp_path / "out" / "report.json").read_text())
    assert figures["conversations"] == 9 and figures["contained"] == 5
    rows = dict(csv.reader((tmp_path / "out" / "report.csv").open()))
    assert rows["containment_rate"] == str(round(5 / 9, 6))
    assert rows["escalations_by_reason.anger.conversations"] == "1"
    assert rows["daily.2026-11-12.conversations"] == "3"
    page = out.read_text()
    assert page.count('src="data:image/png;base64,') == 4
    assert "http://" not in page and "https://" not in page  # nothing external


def test_every_event_in_range_is_read_once(urls) -> None:
    from bot.analytics import events as ev

    engine = ev.make_engine(urls["tracker_db"])
    try:
        rows = list(ev.stream_rows(engine, 0, 4e9))
        assert len(rows) == ev.count_events(engine, 0, 4e9) > 0
        grouped = list(ev.sessions(iter(rows)))
    finally:
        engine.dispose()
    assert rows[0][0] == "c0" and rows[0][4] == "action_session_start"  # the very first row too
    assert [sender for sender, _ in grouped].count("c1") == 2  # two sessions
    assert sum(len(r) for _, r in grouped) == len(rows)


def test_an_empty_window_still_renders(urls, tmp_path: Path) -> None:
    from bot.analytics.report import write_report

    empty = build_report(SINCE - 30 * 86400, SINCE - 20 * 86400, urls["tracker_db"], urls["db"], progress=False)
    assert empty["conversations"] == 0 and empty["containment_rate"] is None and empty["daily"] == []
    assert write_report(empty, tmp_path / "empty.html")["html"].read_text().count("data:image/png") == 4


def test_a_missing_tracker_store_is_a_clear_error(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["report", "--tracker-db", f"sqlite:///{tmp_path / 'nope.db'}", "--out", str(tmp_path / "r.html")])
    assert "no tracker store at" in capsys.readouterr().err
    assert not (tmp_path / "nope.db").exists()
