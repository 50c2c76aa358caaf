"""Does a scheduler tick get slower as history grows? 1,000 schedules; the run history
grows to 1k, 100k and 1M rows in one SQLite file; at each size the tick is timed.

    .venv/bin/python benchmarks/tick_cost.py                   # 1k, 100k, 1M runs
    .venv/bin/python benchmarks/tick_cost.py --sizes 1000,100000

Per size: a busy tick (100 schedules due, a third each overlap skip / buffer_one /
allow, so every busy check runs) and an idle tick (nothing due), each timed over
--rounds ticks (p50 and max) with the queries it ran. Dispatch is 'manual' (no broker),
so this is the scheduler's own database cost. Times are CPU time of the process
(SQLite runs in it), which a busy shared machine does not inflate. The tick cost must
not grow with history.
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

POLICIES = ("skip", "buffer_one", "allow")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument("--schedules", type=int, default=1000)
    parser.add_argument("--due", type=int, default=100, help="schedules due per busy tick")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--db", default=str(ROOT / "var" / "bench" / "tick_cost.sqlite3"))
    return parser.parse_args()


def setup_django(db_path: str) -> None:
    Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(db_path + suffix).unlink(missing_ok=True)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="scheduler_admin.settings",
        DEBUG="true",
        SCHEDULER_DISPATCH="manual",
        DATABASE_URL=f"sqlite:///{db_path}",
    )
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_schedules(n: int) -> list[int]:
    from scheduler_admin.models import Schedule, Target

    target = Target.objects.local()
    far = datetime.now(UTC) + timedelta(days=365)
    Schedule.objects.bulk_create(
        Schedule(
            name=f"tick bench {i:04d}",
            target=target,
            endpoint="/noop",
            # Yearly: a fired schedule's next time is far away, so the idle tick that
            # follows is idle even if a minute boundary passed meanwhile.
            cron_expr="0 0 1 1 *",
            timezone="UTC",
            next_run_at=far,
            overlap_policy=POLICIES[i % 3],
        )
        for i in range(n)
    )
    return list(Schedule.objects.order_by("pk").values_list("pk", flat=True))


def _ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")  # Django's SQLite datetime text


def add_history(schedule_ids: list[int], start_index: int, count: int, total: int) -> None:
    """Finished runs, oldest first, spread over the last 60 days (inside the retention
    period: pruning is measured on its own, below)."""
    from django.db import connection

    connection.ensure_connection()
    raw = connection.connection
    rng = random.Random(start_index)
    base = datetime.now(UTC) - timedelta(days=61)
    spacing = timedelta(days=60) / max(1, total // len(schedule_ids))
    sql = (
        "INSERT INTO agno_schedule_runs (schedule_id, attempt, scheduled_for, trigger, status,"
        " not_before, dispatched_at, held_for_overlap, queued_at, started_at, completed_at,"
        " duration_ms, status_code, run_id, session_id, error, input, output, missed_count,"
        " worker, dispatch_count) VALUES (?,1,?,'schedule',?,?,?,0,?,?,?,?,?,?,'','',"
        "'{}',NULL,0,'bench',0)"
    )
    n = len(schedule_ids)
    batch = []
    for i in range(start_index, start_index + count):
        at = _ts(base + spacing * (i // n))
        status = "success" if rng.random() < 0.9 else "failed"
        batch.append((schedule_ids[i % n], at, status, at, at, at, at, at, 50, 200, f"run-{i}"))
        if len(batch) == 50_000:
            with raw:
                raw.executemany(sql, batch)
            batch.clear()
    if batch:
        with raw:
            raw.executemany(sql, batch)
    with raw:
        raw.execute("ANALYZE")


def timed_tick(now: datetime) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from scheduler_admin.engine.loop import tick

    with CaptureQueriesContext(connection) as queries:
        # CPU time of this process (SQLite runs in it): wall time on a shared machine
        # measures the neighbours too.
        t0 = time.process_time()
        tick(now)
        elapsed = (time.process_time() - t0) * 1000
    return elapsed, len(queries.captured_queries)


def measure(schedule_ids: list[int], due: int, rounds: int) -> dict[str, tuple]:
    from scheduler_admin.models import Schedule, ScheduleRun

    busy, idle = [], []
    for r in range(rounds):
        now = datetime.now(UTC)
        chosen = schedule_ids[(r * due) % len(schedule_ids) :][:due]
        Schedule.objects.filter(pk__in=chosen).update(next_run_at=now - timedelta(seconds=1))
        busy.append(timed_tick(now))
        idle.append(timed_tick(datetime.now(UTC)))
        # Leave no queued rows behind: the next round sees the same active set.
        ScheduleRun.objects.filter(status="queued").update(status="success")
        Schedule.objects.filter(pk__in=chosen).update(next_run_at=now + timedelta(days=365))
    return {"busy": _summary(busy), "idle": _summary(idle)}


def _summary(samples: list[tuple[float, int]]) -> tuple[float, float, int]:
    times = [t for t, _ in samples]
    return statistics.median(times), max(times), max(q for _, q in samples)


def main() -> None:
    args = parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    setup_django(args.db)
    from scheduler_admin.engine.loop import tick

    schedule_ids = make_schedules(args.schedules)
    tick(datetime.now(UTC))  # the first tick also runs the retention step
    print(
        f"{args.schedules:,} schedules; busy tick: {args.due} due (skip/buffer_one/allow); "
        f"{args.rounds} rounds; SQLite, dispatch manual; CPU ms per tick\n"
    )
    print(
        f"{'history':>10} {'busy p50 ms':>12} {'busy max':>9} {'queries':>8}"
        f" {'idle p50 ms':>12} {'idle max':>9} {'queries':>8}"
    )
    loaded = 0
    for size in sizes:
        started = time.perf_counter()
        add_history(schedule_ids, loaded, size - loaded, sizes[-1])
        loaded = size
        load_s = time.perf_counter() - started
        result = measure(schedule_ids, args.due, args.rounds)
        (bp50, bmax, bq), (ip50, imax, iq) = result["busy"], result["idle"]
        print(
            f"{size:>10,} {bp50:>12.1f} {bmax:>9.1f} {bq:>8} {ip50:>12.1f} {imax:>9.1f} {iq:>8}"
            f"   (history loaded in {load_s:.0f} s)",
            flush=True,
        )
    measure_prune()


def measure_prune() -> None:
    """One prune step (the loop's share of a backlog) with half the history expired."""
    from django.conf import settings

    from scheduler_admin.engine import retention

    settings.SCHEDULER = {**settings.SCHEDULER, "RUN_RETENTION_DAYS": 30}
    samples = []
    for _ in range(5):
        retention._next_prune_at = None
        t0 = time.process_time()
        pruned = len(retention.prune_step(datetime.now(UTC)))
        samples.append(((time.process_time() - t0) * 1000, pruned))
    p50 = statistics.median(t for t, _ in samples)
    print(
        f"\nprune step with a backlog (RUN_RETENTION_DAYS=30): {samples[0][1]} runs deleted "
        f"per tick, p50 {p50:.1f} ms CPU"
    )


if __name__ == "__main__":
    main()
