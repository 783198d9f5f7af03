"""python -m bot.analytics report --since 7d [--until now] [--out report.html] [--tracker-db URL] [--db URL]"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import List, Optional


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.analytics", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    report = commands.add_parser("report", help="write the HTML report with its JSON and CSV")
    report.add_argument("--since", default="7d", help="window start: 7d, 24h, 30m ago, or an ISO date/datetime")
    report.add_argument("--until", default="now", help="window end (exclusive), same formats (default: now)")
    report.add_argument("--out", default="report.html", type=Path, help="HTML path; .json and .csv go next to it")
    report.add_argument("--tracker-db", default=None,
                        help="tracker store URL (default: env TRACKER_DB_URL, else sqlite:///var/trackers.db)")
    report.add_argument("--db", default=None,
                        help="assistant database with the handoff records (default: env DATABASE_URL, else var/brightbay.db)")
    report.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)

    from bot.analytics.report import build_report, parse_when, write_report

    since, until = parse_when(args.since), parse_when(args.until)
    if since >= until:
        parser.error("--since must be before --until")
    started = time.perf_counter()
    try:
        figures = build_report(since, until, args.tracker_db, args.db, progress=not args.no_progress)
    except ValueError as exc:
        parser.error(str(exc))
    paths = write_report(figures, args.out)
    print(
        f"{figures['conversations']:,} conversations, containment {figures['containment_rate']}, "
        f"escalation {figures['escalation_rate']} ({figures['source']['events_read']:,} events in "
        f"{time.perf_counter() - started:.1f} s) -> {paths['html']}, {paths['json']}, {paths['csv']}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
