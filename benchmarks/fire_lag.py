"""Fire lag: how late does a run's request leave, relative to its scheduled time?

N schedules (default 2,000) fall due across one minute against the no-op target.
A real `run_scheduler` and a real django-q2 cluster run as separate processes;
the figures come from the run rows they write:

  lag = request_sent_at − scheduled_for     (p50 / p99 / max)
  fires per second = runs / (last request sent − first scheduled time)

Usage:
  .venv/bin/python benchmarks/fire_lag.py                 # SQLite + ORM broker
  .venv/bin/python benchmarks/fire_lag.py --postgres      # PostgreSQL + Redis broker
  .venv/bin/python benchmarks/fire_lag.py --schedules 500 --spread 1   # all due in one second
"""

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.system.stack import Postgres, Redis, Stack, wait_for  # noqa: E402

CREATE = """
import datetime, json
from scheduler_admin.models import Schedule, Target
local = Target.objects.local()
start = datetime.datetime.fromisoformat({start!r})
Schedule.objects.bulk_create([
    Schedule(name=f"bench {{i}}", target=local, endpoint="/noop", cron_expr="0 0 1 1 *",
             next_run_at=start + datetime.timedelta(seconds=(i * {spread}) // {n}))
    for i in range({n})
], batch_size=500)
print(json.dumps(Schedule.objects.count()))
"""


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def parse_time(value) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--schedules", type=int, default=2000)
    parser.add_argument("--spread", type=int, default=60, help="seconds the due times span")
    parser.add_argument("--workers", type=int, default=4, help="django-q2 workers")
    parser.add_argument("--clusters", type=int, default=1)
    parser.add_argument("--schedulers", type=int, default=1)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL + Redis broker")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="fire_lag-"))
    servers = []
    if args.postgres:
        pg, redis = Postgres(), Redis()
        servers = [pg, redis]
        stack = Stack(pg.start(), logs=workdir, REDIS_URL=redis.start())
        backend = "PostgreSQL + Redis broker"
    else:
        stack = Stack(f"sqlite:///{workdir / 'db.sqlite3'}", logs=workdir)
        backend = "SQLite + ORM broker"
    stack.env.update(Q_WORKERS=str(args.workers), SCHEDULER_LEASE_S="30")
    try:
        stack.manage("migrate", "--no-input", "-v0")
        for n in range(args.clusters):
            stack.start("qcluster", name=f"cluster-{n}")
        for n in range(args.schedulers):
            stack.start("run_scheduler", name=f"scheduler-{n}")
        start = (datetime.now(UTC) + timedelta(seconds=10)).replace(microsecond=0)
        stack.shell(CREATE.format(start=start.isoformat(), spread=args.spread, n=args.schedules))
        print(
            f"{args.schedules} schedules due from {start:%H:%M:%S} over {args.spread} s "
            f"({backend}, {args.workers} workers x {args.clusters} cluster(s), "
            f"{args.schedulers} scheduler(s))",
            flush=True,
        )
        time.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds()))
        wait_for(
            lambda: (
                stack.query(
                    "SELECT COUNT(*) FROM agno_schedule_runs WHERE request_sent_at IS NOT NULL"
                )[0][0]
                >= args.schedules
            ),
            args.spread + 300,
            "every run to be sent",
            every=1,
        )
        rows = stack.query(
            "SELECT scheduled_for, queued_at, request_sent_at FROM agno_schedule_runs"
        )
    finally:
        stack.stop_all()
        for server in servers:
            server.stop()

    scheduled = [parse_time(r[0]) for r in rows]
    sent = [parse_time(r[2]) for r in rows]
    lags = [(s - d).total_seconds() for d, s in zip(scheduled, sent, strict=True)]
    queue_lags = [(parse_time(r[1]) - parse_time(r[0])).total_seconds() for r in rows]
    span = (max(sent) - min(scheduled)).total_seconds()
    duplicates = len(rows) - len({(d, i) for i, d in enumerate(scheduled)})
    print(f"runs: {len(rows)} (duplicates: {duplicates})")
    print(
        f"fire lag (request sent - scheduled): p50 {percentile(lags, 50) * 1000:.0f} ms, "
        f"p99 {percentile(lags, 99) * 1000:.0f} ms, max {max(lags) * 1000:.0f} ms"
    )
    print(
        f"claim lag (run queued - scheduled):  p50 {percentile(queue_lags, 50) * 1000:.0f} ms, "
        f"p99 {percentile(queue_lags, 99) * 1000:.0f} ms, max {max(queue_lags) * 1000:.0f} ms"
    )
    print(
        f"fires per second: {len(rows) / span:.1f} over {span:.1f} s "
        f"(mean lag {statistics.mean(lags) * 1000:.0f} ms)"
    )


if __name__ == "__main__":
    main()
