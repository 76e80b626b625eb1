"""Benchmark: how long does the Home tab take to render at 50,000 reviews?

Run it from the repository root, in the project's virtual environment:

    python scripts/bench_home.py
    python scripts/bench_home.py --database-url postgresql://postgres@127.0.0.1:55497/coach_bench --empty-first

It seeds `--reviews` (50,000) reviews across `--reps` (500) reps of one
Slack team with tests/home_seed.py: three underlying reasons each, their
nudges, week-1 self-checks and wins, spread over two years. Reps are uneven
as in life (rep n gets a share proportional to 1/sqrt(n+1)), so the largest
rep has over a thousand reviews. It goes into SQLite (a temp file) and, with
`--database-url`, also into that database (which must hold no reviews;
`--empty-first` truncates the app's tables there instead: only for a
throwaway database).

Then it times what a Home refresh costs apart from Slack: the queries
(coach.home.service) plus building the view (coach.home.views), for the
largest rep, for a manager (the rep's part plus the team view of all 500
reps), and for the largest rep being a manager too (the worst case). Each is
run `--runs` times after two warm-up runs; it prints the median, p95 and max
in milliseconds, the SQL statements per render, and checks every view against Block Kit's limits (tests/blockkit.py).

Goal: under 100 ms for the Home. Exits non-zero if a view breaks a limit.
This is a benchmark, not a test: nothing here runs under pytest.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from coach.db import Base, Database, normalise_url, upgrade_database  # noqa: E402
from coach.home.service import HomeService  # noqa: E402
from coach.home.views import home_view  # noqa: E402
from coach.i18n import Translator  # noqa: E402
from coach.models import Review  # noqa: E402
from tests.blockkit import view_problems  # noqa: E402
from tests.home_seed import seed_history  # noqa: E402
from tests.slack_signing import TEAM_ID  # noqa: E402

GOAL_MS = 100.0
NOW = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
MANAGER = "UMANAGER"


def rep_counts(reviews: int, reps: int) -> dict[str, int]:
    """Uneven shares (1/sqrt(n+1)), summing exactly to `reviews` (largest remainders)."""
    weights = [1 / (n + 1) ** 0.5 for n in range(reps)]
    total = sum(weights)
    raw = [reviews * w / total for w in weights]
    counts = [int(x) for x in raw]
    for n in sorted(range(reps), key=lambda n: raw[n] - counts[n], reverse=True)[: reviews - sum(counts)]:
        counts[n] += 1
    return {f"U{n:04d}": c for n, c in enumerate(counts)}


def prepare(url: str, *, empty_first: bool) -> Database:
    upgrade_database(url)
    db = Database(url)
    with db.session() as s:
        existing = s.scalar(select(func.count()).select_from(Review))
    if existing:
        if not empty_first:
            sys.exit(
                f"{make_url(normalise_url(url)).render_as_string()} already holds {existing} reviews; "
                "use an empty database, or --empty-first for a throwaway one"
            )
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        with db.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return db


def timed(fn, runs: int) -> tuple[list[float], object]:
    result = None
    for _ in range(2):
        result = fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples, result


def statements(db: Database, fn) -> int:
    count = [0]

    def before(*_args) -> None:
        count[0] += 1

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    return count[0]


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return f"median {statistics.median(ordered):6.1f} ms   p95 {p95:6.1f} ms   max {ordered[-1]:6.1f} ms"


def bench(label: str, url: str, *, reviews: int, reps: int, runs: int, empty_first: bool) -> bool:
    print(f"\n== {label}")
    db = prepare(url, empty_first=empty_first)
    counts = rep_counts(reviews, reps)
    start = time.perf_counter()
    plan = seed_history(db, reps=counts, now=NOW, spread_days=730)
    print(f"seeded in {time.perf_counter() - start:.1f} s: " + ", ".join(f"{n:,} {t}" for t, n in plan.rows.items()))
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    service = HomeService(db)
    largest = max(counts, key=counts.get)
    tz = ZoneInfo("Asia/Tokyo")
    t = Translator("ja", tz)

    def rep_home() -> dict:
        return home_view(t, service.rep_home(TEAM_ID, largest, now=NOW, tz=tz), now=NOW)

    def manager_home() -> dict:
        return home_view(
            t, service.rep_home(TEAM_ID, MANAGER, now=NOW, tz=tz), now=NOW, team=service.team_home(TEAM_ID, now=NOW)
        )

    def manager_and_largest_rep() -> dict:
        return home_view(
            t, service.rep_home(TEAM_ID, largest, now=NOW, tz=tz), now=NOW, team=service.team_home(TEAM_ID, now=NOW)
        )

    ok = True
    for name, fn in (
        (f"largest rep ({largest}, {counts[largest]:,} reviews)", rep_home),
        (f"manager (team of {reps} reps)", manager_home),
        ("largest rep as a manager too", manager_and_largest_rep),
    ):
        samples, view = timed(fn, runs)
        problems = view_problems(view)
        ok &= not problems and statistics.median(samples) < GOAL_MS
        print(
            f"Home for the {name}: {summary(samples)}   {statements(db, fn)} SQL statements   "
            f"{len(view['blocks'])} blocks   Block Kit: {'ok' if not problems else problems[:3]}"
        )
    db.dispose()
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="also run on this database (e.g. PostgreSQL)")
    parser.add_argument("--empty-first", action="store_true", help="truncate the app's tables there first")
    parser.add_argument("--reviews", type=int, default=50_000)
    parser.add_argument("--reps", type=int, default=500)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    print(
        f"Home tab render time (queries + building the view, no Slack): {args.reviews:,} reviews, "
        f"{args.reps} reps, {args.runs} runs each. Goal: under {GOAL_MS:.0f} ms."
    )
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        ok &= bench(
            "SQLite",
            f"sqlite:///{tmp}/bench_home.db",
            reviews=args.reviews,
            reps=args.reps,
            runs=args.runs,
            empty_first=False,
        )
    if args.database_url:
        ok &= bench(
            make_url(normalise_url(args.database_url)).get_backend_name(),
            args.database_url,
            reviews=args.reviews,
            reps=args.reps,
            runs=args.runs,
            empty_first=args.empty_first,
        )
    print("\n" + ("goal met" if ok else "GOAL MISSED (or a view broke a Block Kit limit)"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
