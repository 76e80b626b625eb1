"""Benchmark: how long does the managers' digest take to compute for a big team?

Run it from the repository root, in the project's virtual environment:

    python scripts/bench_digest.py
    python scripts/bench_digest.py --database-url postgresql://postgres@127.0.0.1:5432/coach_bench
    python scripts/bench_digest.py --reviews 5000 --reps 100 --runs 3

It seeds `--reviews` (50,000) finished reviews spread over the past year
across `--reps` (500) reps, each with three catalogue underlying reasons and
one in the rep's own words, most with a week-1 self-check, plus a win per
rep a month (tests/review_seed.py, one executemany INSERT per table), into
SQLite (a temp file) and, with `--database-url`, also into that database (it
must hold no reviews; `--empty-first` truncates the app's tables there
instead: only for a throwaway database).

Then it times the digest of the last weekly period (DIGEST_CRON
"0 9 * * mon" in Asia/Tokyo): the SQL aggregates (`Digester.compute`), the
Block Kit messages (`blocks.digest_messages`) and both together
(`Digester.build` without the chart: what the goal is about), cold (first
run) and warm (median of `--runs`), with the number of SQL statements. The
chart PNG is timed on its own line; Slack is not involved. Every message is
checked against the Block Kit limits (tests/blockkit.py).

Goal: digest computation under 1 s on each database. Exits non-zero if a
message is invalid. This is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from coach.db import Base, Database, upgrade_database  # noqa: E402
from coach.digest import blocks, chart  # noqa: E402
from coach.digest.period import scheduled_period  # noqa: E402
from coach.digest.service import Digester  # noqa: E402
from coach.models import Review  # noqa: E402
from tests.blockkit import message_problems  # noqa: E402
from tests.review_seed import seed_team  # noqa: E402

CRON, TEAM_TZ = "0 9 * * mon", "Asia/Tokyo"
NOW = datetime(2026, 3, 9, 0, 0, 5, tzinfo=UTC)  # just after Monday 09:00 in Tokyo


class Statements:
    def __init__(self, db: Database) -> None:
        self.count = 0
        event.listen(db.engine, "before_cursor_execute", self._seen)

    def _seen(self, *args) -> None:
        self.count += 1


def timed(fn, runs: int) -> tuple[float, float, object]:
    """(cold seconds, warm median seconds, last result)."""
    t0 = time.perf_counter()
    result = fn()
    cold = time.perf_counter() - t0
    warm = []
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        warm.append(time.perf_counter() - t0)
    return cold, statistics.median(warm) if warm else cold, result


def bench(url: str, label: str, args) -> bool:
    upgrade_database(url)
    db = Database(url)
    with db.session() as s:
        existing = s.scalar(select(func.count()).select_from(Review))
    if existing:
        if not args.empty_first:
            print(f"{label}: the database already holds {existing} reviews; use an empty one or --empty-first")
            return False
        with db.engine.begin() as conn:
            tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    t0 = time.perf_counter()
    seed_team(db, reviews=args.reviews, reps=args.reps, now=NOW - timedelta(seconds=10))
    seeded = time.perf_counter() - t0
    if db.engine.dialect.name == "postgresql":  # fresh statistics, as autovacuum would give a live database
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))

    digester = Digester(
        db,
        None,
        channel="CBENCH",
        locale=args.locale,
        team_timezone=TEAM_TZ,
        cron=CRON,
        clock=lambda: NOW,
        charts=False,
    )
    period = scheduled_period(CRON, TEAM_TZ, NOW)
    statements = Statements(db)

    before = statements.count
    cold_sql, warm_sql, data = timed(lambda: digester.compute(period), args.runs)
    per_compute = (statements.count - before) // (args.runs + 1)
    cold_blocks, warm_blocks, messages = timed(lambda: blocks.digest_messages(digester.t, data), args.runs)
    cold_all, warm_all, built = timed(lambda: digester.build(period, with_chart=False), args.runs)
    _, warm_chart, png = timed(lambda: chart.reasons_chart_png(digester.t, data), max(1, args.runs // 2))

    problems = [p for text_, b in built.messages for p in message_problems(b, text_)]
    ok = not problems and warm_all < 1.0
    print(f"== {label} ({make_url(url).get_backend_name()})")
    print(f"seeded {args.reviews:,} reviews across {args.reps} reps in {seeded:.1f} s")
    print(
        f"period {period.start:%Y-%m-%d %H:%M} – {period.end:%Y-%m-%d %H:%M} UTC: {data.losses} losses, "
        f"{data.reps} reps, {data.repeat_reps} reps repeating a reason, {data.recontacts_total} re-contacts due"
    )
    print(
        f"SQL aggregates     cold {cold_sql * 1000:7.1f} ms   warm {warm_sql * 1000:7.1f} ms   "
        f"({per_compute} statements)"
    )
    print(
        f"Block Kit messages cold {cold_blocks * 1000:7.1f} ms   warm {warm_blocks * 1000:7.1f} ms   "
        f"({len(messages)} messages, {[len(b) for _, b in messages]} blocks)"
    )
    print(
        f"digest (both)      cold {cold_all * 1000:7.1f} ms   warm {warm_all * 1000:7.1f} ms   "
        f"goal < 1000 ms: {'met' if warm_all < 1.0 else 'MISSED'}"
    )
    print(f"chart PNG (apart)                      warm {warm_chart * 1000:7.1f} ms   ({len(png or b'') // 1024} KiB)")
    if problems:
        print("INVALID messages:", problems[:5])
    db.dispose()
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="also run on this database (e.g. PostgreSQL); must hold no reviews")
    parser.add_argument("--empty-first", action="store_true", help="truncate the app's tables there first")
    parser.add_argument("--reviews", type=int, default=50_000)
    parser.add_argument("--reps", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5, help="warm runs; the median is reported")
    parser.add_argument("--locale", default="en", choices=["en", "ja"])
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    ok = True
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            ok &= bench(f"sqlite:///{tmp}/bench.db", "SQLite", args)
    if args.database_url:
        ok &= bench(args.database_url, "database-url", args)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
