"""Benchmark: how fast does the nudge dispatcher drain a backlog of due nudges?

Run it from the repository root, in the project's virtual environment:

    python scripts/bench_nudges.py
    python scripts/bench_nudges.py --database-url postgresql://postgres@127.0.0.1:5432/coach_bench
    python scripts/bench_nudges.py --count 2000 --users 500 --batch-size 50 --profile

It seeds `--count` (10,000) due nudges with their reviews (tests/nudge_seed.py)
into SQLite (a temp file) and, with `--database-url`, also into that
database (it must be empty of reviews and nudges; `--empty-first` truncates
the app's tables there instead: only for a throwaway database). It starts a
fake Slack Web API in this process (tests/fakeslack.py) with one user per
rep, builds a Dispatcher the way coach/app/wiring.py does but with
messages_per_second=0 (no overall cap) pointed at the fake, and calls
run_once() until nothing is pending.

It prints nudges per second, database statements per nudge and per batch
(counted with a SQLAlchemy `before_cursor_execute` listener on the engine,
as the server runs them: an executemany counts one statement per row, since
both sqlite3 and psycopg's pipelined executemany execute the statement once
per parameter set), the size of every claimed batch, and
checks that every nudge reached Slack exactly once (the nudge id in each
accepted chat.postMessage's metadata) and that every row ended `sent`.

The nudges are spread over `--users` reps (default: one rep per nudge): the
dispatcher sends a rep at most one message a second (Slack's per-channel
pace), so with few reps that spacing, not the dispatcher, sets the rate.

Finally it prints the cap the same dispatcher has when pointed at real Slack
with the default settings (SLACK_MESSAGES_PER_SECOND=10 overall, 1 message
a second per rep) and measures it over `--cap-sample` sends.

Goals: >= 200 nudges/s on each database, and a constant number of
statements per batch. Exits non-zero if a nudge was lost or duplicated.
This is a benchmark, not a test: nothing here runs under pytest.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from coach.config import Settings  # noqa: E402
from coach.db import Base, Database, normalise_url, upgrade_database  # noqa: E402
from coach.models import Nudge, Review  # noqa: E402
from coach.nudges.delivery import METADATA_EVENT, PER_CHANNEL_SPACING  # noqa: E402
from coach.nudges.dispatcher import Dispatcher, DispatchPolicy  # noqa: E402
from coach.nudges.rules import NudgeStatus  # noqa: E402
from coach.slack.client import make_client  # noqa: E402
from tests.fakeslack import FakeSlack  # noqa: E402
from tests.nudge_seed import register_users, seed_due_nudges  # noqa: E402

BOT_TOKEN = "xoxb-bench-token"
GOAL_PER_SECOND = 200.0


def utcnow() -> datetime:
    return datetime.now(UTC)


def settings_for(fake: FakeSlack, database_url: str, **overrides) -> Settings:
    return Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret="bench-signing-secret",
        slack_api_url=fake.base_url,
        database_url=database_url,
        _env_file=None,
        **overrides,
    )


def build_dispatcher(settings: Settings, db: Database) -> Dispatcher:
    """As coach/app/wiring.py builds it (a client without retry handlers, the settings' limits), except
    that quiet hours are off (the bench runs at any hour of the day, on reps in Tokyo and New York)."""
    return Dispatcher(
        db,
        make_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url, retries="none"),
        DispatchPolicy.from_settings(settings, quiet=None),
        clock=utcnow,
    )


def delivered(fake: FakeSlack) -> Counter:
    counts: Counter = Counter()
    for call in fake.calls_to("chat.postMessage"):
        meta = call.params.get("metadata") or {}
        if call.response.get("ok") and meta.get("event_type") == METADATA_EVENT:
            counts[meta["event_payload"]["nudge_id"]] += 1
    return counts


def pending(db: Database) -> int:
    """Nudges not settled yet: waiting, claimed, or in doubt."""
    with db.session() as s:
        return s.scalar(
            select(func.count()).select_from(Nudge).where(Nudge.status.in_((NudgeStatus.PENDING, NudgeStatus.SENDING)))
        )


def prepare(database_url: str, *, empty_first: bool) -> Database:
    upgrade_database(database_url)
    db = Database(database_url)
    with db.session() as s:
        existing = s.scalar(select(func.count()).select_from(Review)) + s.scalar(
            select(func.count()).select_from(Nudge)
        )
    if existing:
        if not empty_first:
            db.dispose()
            raise SystemExit(
                f"{db.engine.url.render_as_string(hide_password=True)} already holds reviews or nudges; "
                "give an empty database (or --empty-first for a throwaway one)"
            )
        with db.engine.begin() as conn:
            if db.engine.dialect.name == "postgresql":
                conn.execute(
                    text(f"TRUNCATE {', '.join(t.name for t in Base.metadata.sorted_tables)} RESTART IDENTITY CASCADE")
                )
            else:
                for table in reversed(Base.metadata.sorted_tables):
                    conn.execute(table.delete())
    return db


def run(label: str, database_url: str, args) -> bool:
    db = prepare(database_url, empty_first=args.empty_first)
    ok = True
    with FakeSlack(bot_token=BOT_TOKEN, users={}) as fake:
        register_users(fake, args.users)
        t0 = time.perf_counter()
        ids = seed_due_nudges(db, count=args.count, users=args.users, now=utcnow())
        seeded_s = time.perf_counter() - t0

        settings = settings_for(fake, database_url, slack_messages_per_second=0, nudge_batch_size=args.batch_size)
        dispatcher = build_dispatcher(settings, db)

        statements = 0

        def count(conn, cursor, statement, parameters, context, executemany):
            # What the server executes: an executemany runs the statement once per parameter set.
            nonlocal statements
            statements += len(parameters) if executemany else 1

        event.listen(db.engine, "before_cursor_execute", count)
        batches: list[tuple[int, int]] = []  # (nudges claimed, statements) per _dispatch_batch
        plain_batch = dispatcher._dispatch_batch

        def measured_batch(stats):
            before_n, before_s = stats.claimed, statements
            plain_batch(stats)
            batches.append((stats.claimed - before_n, statements - before_s))

        dispatcher._dispatch_batch = measured_batch  # measure only; the dispatcher's code runs unchanged
        profiler = cProfile.Profile() if args.profile else None
        runs = 0
        t0 = time.perf_counter()
        if profiler:
            profiler.enable()
        while True:
            dispatcher.run_once()
            runs += 1
            if not pending(db) or runs >= 10_000:
                break
        if profiler:
            profiler.disable()
        elapsed = time.perf_counter() - t0
        event.remove(db.engine, "before_cursor_execute", count)
        statements_in_runs = statements - runs  # less the pending() checks between runs

        counts = delivered(fake)
        with db.session() as s:
            final = Counter(dict(s.execute(select(Nudge.status, func.count()).group_by(Nudge.status)).all()))
        duplicated = sum(1 for n in counts.values() if n > 1)
        missing = len(set(ids) - set(counts))
        full = [b for b in batches if b[0]]
        sizes = Counter(n for n, _ in full)
        per_batch = Counter(s for _, s in full)

        print(
            f"== {label}: {args.count} due nudges over {args.users} reps, batch size {args.batch_size}, no overall cap"
        )
        print(f"seeded in {seeded_s:.1f} s")
        print(
            f"drained in {elapsed:.2f} s by {runs} run_once call(s): {args.count / elapsed:.0f} nudges/s "
            f"(goal >= {GOAL_PER_SECOND:.0f}: {'MET' if args.count / elapsed >= GOAL_PER_SECOND else 'NOT MET'})"
        )
        print(f"database statements: {statements_in_runs} in all, {statements_in_runs / args.count:.3f} per nudge")
        print(
            f"batches that claimed nudges: {len(full)}; nudges per batch: {dict(sorted(sizes.items()))}; "
            f"statements per batch: {dict(sorted(per_batch.items()))} "
            f"({'constant' if len(per_batch) == 1 else 'NOT constant'}); "
            f"empty claims: {len(batches) - len(full)} of 1 statement each"
        )
        if any(n > args.batch_size for n, _ in full):
            print(
                f"WARNING: a batch claimed more than the batch size ({args.batch_size}): "
                f"{max(n for n, _ in full)} nudges in one claim"
            )
        print(
            f"Slack: {len(fake.calls_to('chat.postMessage'))} chat.postMessage calls; "
            f"delivered {len(counts)} distinct nudges, {duplicated} more than once, {missing} never; "
            f"rows: {dict(final)}"
        )
        if duplicated or missing or final.get(NudgeStatus.SENT, 0) != args.count:
            print("FAILED: not every nudge was delivered exactly once", file=sys.stderr)
            ok = False
        if profiler:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
            print(out.getvalue())

        if args.cap_sample:
            cap_check(fake, db, database_url, args.cap_sample)
    db.dispose()
    return ok


def cap_check(fake: FakeSlack, db: Database, database_url: str, sample: int) -> None:
    """The same dispatcher with the default settings, as it would run against real Slack."""
    settings = settings_for(fake, database_url)  # SLACK_MESSAGES_PER_SECOND etc. at their defaults
    dispatcher = build_dispatcher(settings, db)
    cap = 1 / dispatcher.limiter.interval if dispatcher.limiter.interval else float("inf")
    users = sample
    ids = seed_due_nudges(db, count=sample, users=users, now=utcnow())
    before = len(fake.calls_to("chat.postMessage"))
    t0 = time.perf_counter()
    while pending(db):
        dispatcher.run_once()
    elapsed = time.perf_counter() - t0
    sent = len(fake.calls_to("chat.postMessage")) - before
    print(
        f"against real Slack (defaults): SLACK_MESSAGES_PER_SECOND={settings.slack_messages_per_second:g} -> "
        f"at most {cap:g} messages/s overall, and at most 1 per rep every "
        f"{PER_CHANNEL_SPACING.total_seconds():g} s; measured {sent} sends of {len(ids)} in {elapsed:.2f} s = "
        f"{(sent - 1) / elapsed:.1f}/s between sends. "
        f"A backlog of 10,000 would take >= {10_000 / cap / 60:.1f} min at that cap."
    )
    print(
        "note: Slack documents chat.postMessage as 1 message per second per channel (short bursts allowed) "
        "plus an unpublished workspace-wide limit; the per-rep spacing keeps each DM channel at <= 1/s and the "
        "overall cap bounds the workspace total; a 429 holds back every send until its Retry-After."
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="due nudges to seed (default 10000)")
    parser.add_argument("--users", type=int, help="distinct reps they are spread over (default: --count)")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=Settings.model_fields["nudge_batch_size"].default,
        help="NUDGE_BATCH_SIZE (default: the app's default)",
    )
    parser.add_argument(
        "--database-url", help="also run on this database (e.g. PostgreSQL); it must hold no reviews or nudges"
    )
    parser.add_argument(
        "--empty-first",
        action="store_true",
        help="truncate the app's tables in --database-url first (throwaway databases only)",
    )
    parser.add_argument(
        "--cap-sample",
        type=int,
        default=30,
        help="sends used to measure the default cap (0 to skip; default 30, about 3 s)",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the drain and print the top functions")
    args = parser.parse_args()
    args.users = args.users or args.count
    print(
        f"note: {args.count} nudges over {args.users} reps: the dispatcher sends a rep at most one message "
        f"every {PER_CHANNEL_SPACING.total_seconds():g} s, so with one rep per nudge that spacing never "
        "holds a send back and the figures measure the dispatcher itself."
    )
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-nudges-") as workdir:
        ok &= run("SQLite", f"sqlite:///{Path(workdir) / 'bench.db'}", args)
    if args.database_url:
        ok &= run(make_url(normalise_url(args.database_url)).get_backend_name(), args.database_url, args)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
