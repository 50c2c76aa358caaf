"""How fast are the console's pages on a big history? Loads N runs over M schedules
into its own SQLite file, then times the pages with a logged-in admin.

    .venv/bin/python benchmarks/ui_scale.py                 # 1,000,000 runs
    .venv/bin/python benchmarks/ui_scale.py --runs 100000   # quicker

Prints p50/p95 server time (django.test.Client, in process) and the query count per
page. The goal is p95 <= 100 ms for each page.
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


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--schedules", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=20, help="timed requests per page")
    parser.add_argument("--days", type=int, default=60, help="history spread over this many days")
    parser.add_argument("--db", default=str(ROOT / "var" / "bench" / "ui_scale.sqlite3"))
    parser.add_argument("--reuse", action="store_true", help="keep an already loaded file")
    return parser.parse_args()


def setup_django(db_path: str, fresh: bool) -> None:
    Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(db_path + suffix).unlink(missing_ok=True)
    os.environ["DJANGO_SETTINGS_MODULE"] = "scheduler_admin.settings"
    os.environ["DEBUG"] = "true"
    os.environ["SCHEDULER_DISPATCH"] = "manual"
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")  # Django's SQLite datetime text


def load(n_runs: int, n_schedules: int, days: int) -> None:
    from django.db import connection

    from scheduler_admin.models import Schedule, Target

    target = Target.objects.local()
    now = datetime.now(UTC)
    Schedule.objects.bulk_create(
        Schedule(
            name=f"bench schedule {i:04d}",
            target=target,
            endpoint="/noop",
            cron_expr=f"{i % 60} * * * *",
            timezone="UTC",
            next_run_at=now + timedelta(minutes=i % 60),
            consecutive_failures=1 if i % 50 == 0 else 0,
        )
        for i in range(n_schedules)
    )
    schedule_ids = list(Schedule.objects.order_by("pk").values_list("pk", flat=True))
    connection.ensure_connection()
    raw = connection.connection  # the sqlite3 connection: executemany without the ORM
    rng = random.Random(7)
    start = now - timedelta(days=days)
    step = timedelta(days=days) / n_runs
    sql = (
        "INSERT INTO agno_schedule_runs (schedule_id, attempt, scheduled_for, trigger, status,"
        " not_before, dispatched_at, held_for_overlap, queued_at, started_at, completed_at,"
        " duration_ms, status_code, run_id, session_id, error, input, output, missed_count,"
        " worker, dispatch_count, checks, follower, import_status, reattach_count,"
        " reattachments, stage)"
        " VALUES (?,?,?,?,?,?,?,0,?,?,?,?,?,?,?,?,?,?,0,?,0,0,'','',0,'[]','')"
    )
    batch, started = [], time.perf_counter()
    for i in range(n_runs):
        at = start + step * i
        roll = rng.random()
        if i >= n_runs - 5:
            status = "running"
        elif roll < 0.90:
            status = "success"
        elif roll < 0.97:
            status = "failed"
        elif roll < 0.99:
            status = "timeout"
        else:
            status = "cancelled"
        done = at + timedelta(milliseconds=rng.randint(20, 5000))
        batch.append(
            (
                schedule_ids[i % len(schedule_ids)],
                1,
                _ts(at),
                "schedule",
                status,
                _ts(at),
                _ts(at),
                _ts(at),
                _ts(at),
                None if status == "running" else _ts(done),
                None if status == "running" else int((done - at).total_seconds() * 1000),
                {"success": 200, "failed": 502}.get(status),
                f"run-{i}",
                f"sess-{i // 10}",
                "upstream returned 502 Bad Gateway" if status == "failed" else "",
                '{"message": "bench"}',
                None,
                "bench-worker",
            )
        )
        if len(batch) == 50_000:
            with raw:
                raw.executemany(sql, batch)
            batch.clear()
            print(f"  {i + 1:>9,} runs ({time.perf_counter() - started:.0f} s)", flush=True)
    if batch:
        with raw:
            raw.executemany(sql, batch)
    print(f"loaded {n_runs:,} runs in {time.perf_counter() - started:.0f} s", flush=True)


def time_pages(n: int) -> list[tuple[str, float, float, int]]:
    from django.contrib.auth import get_user_model
    from django.db import connection, reset_queries
    from django.test import Client

    from scheduler_admin.models import Schedule, ScheduleRun

    user, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_superuser": True, "is_staff": True}
    )
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    schedule = Schedule.objects.order_by("pk")[len(Schedule.objects.all()) // 2]
    smallest = ScheduleRun.objects.order_by("pk").values_list("pk", flat=True).first() or 0
    pages = [
        ("dashboard", "/"),
        ("runs list", "/runs/"),
        ("runs by status=failed", "/runs/?status=failed"),
        ("runs by schedule", f"/runs/?schedule={schedule.pk}"),
        ("runs deep page", f"/runs/?before={smallest + 1000}"),
        ("schedule page", f"/schedules/{schedule.pk}/"),
        ("schedules list", "/schedules/"),
    ]
    results = []
    for name, url in pages:
        assert client.get(url).status_code == 200, url  # warm-up (and a check)
        times, queries = [], 0
        for _ in range(n):
            reset_queries()
            t0 = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - t0) * 1000)
            queries = len(connection.queries)
            assert response.status_code == 200
        times.sort()
        p95 = times[min(len(times) - 1, int(round(0.95 * len(times))) - 1)]
        results.append((name, statistics.median(times), p95, queries))
    return results


def main() -> None:
    args = parse_args()
    fresh = not (args.reuse and Path(args.db).exists())
    setup_django(args.db, fresh)
    if fresh:
        print(f"loading {args.runs:,} runs over {args.schedules:,} schedules into {args.db}")
        load(args.runs, args.schedules, args.days)
    from scheduler_admin.models import ScheduleRun

    total = ScheduleRun.objects.order_by("-pk").values_list("pk", flat=True).first()
    print(f"\n{total:,} runs; {args.requests} requests per page (server time, in process)\n")
    print(f"{'page':<24}{'p50 ms':>9}{'p95 ms':>9}{'queries':>9}  goal p95 <= 100 ms")
    misses = 0
    for name, p50, p95, queries in time_pages(args.requests):
        ok = "ok" if p95 <= 100 else "MISS"
        misses += ok == "MISS"
        print(f"{name:<24}{p50:>9.1f}{p95:>9.1f}{queries:>9}  {ok}")
    sys.exit(1 if misses else 0)


if __name__ == "__main__":
    main()
