"""Runs in flight: N schedules fire every minute at a real AgentOS whose workflow takes
S seconds. A worker only submits; followers check the runs until they end.

Processes (default `make run` settings): run_scheduler, one django-q2 cluster with 4
workers, one follow_runs; SQLite + ORM broker, or --postgres for PostgreSQL + Redis.
The agent server lifts agno's own 32-run cap (AGNO_BACKGROUND_MAX_CONCURRENCY) so the
figures measure us. Printed, from the run rows:

  due             scheduled times that fell due in the window (one row each)
  arrived ≤ 1 s   submits that reached the server within 1 s of their scheduled time
  sent lag        request_sent_at − scheduled_for (our stamp, at the claim), p50 / p99
  arrived lag     arrival at the server (benchmarks/arrivals.py) − scheduled_for;
                  min < 0 would mean a run left early
  completed       runs recorded as success; skipped / failed / still open
  in flight max   most runs between request sent and completion at one instant
  recorded after  completed_at − (arrival at the server + S): how long after the
                  server's end the outcome was stored, p50 / p99 (includes the server's
                  own overhead after the sleep); per due minute too
  RSS             resident memory of scheduler + cluster + follower, start → end

Usage:
  .venv/bin/python benchmarks/inflight.py --schedules 1000 --sleep 30 --minutes 2
  .venv/bin/python benchmarks/inflight.py --postgres --schedules 1000
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.fire_lag import parse_time, percentile  # noqa: E402
from tests.system.stack import Postgres, Redis, Stack, free_port, wait_for  # noqa: E402

CREATE = """
import datetime, json
from scheduler_admin.models import Schedule, Target
target = Target.objects.create(name="bench", base_url={url!r}, max_in_flight={cap})
start = datetime.datetime.fromisoformat({start!r})
Schedule.objects.bulk_create([
    Schedule(name=f"bench {{i}}", target=target, endpoint="/workflows/sleeper/runs",
             payload={{"message": "go"}}, cron_expr="* * * * *", timeout_s=300,
             next_run_at=start)
    for i in range({n})
], batch_size=500)
print(json.dumps(Schedule.objects.count()))
"""


def rss_mb(pids: list[int]) -> float:
    """Resident memory of these processes and all their descendants."""
    total, seen, todo = 0, set(), list(pids)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            line = next(x for x in status.splitlines() if x.startswith("VmRSS"))
            total += int(line.split()[1])
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            todo.extend(int(c) for c in children)
        except (OSError, StopIteration):
            continue
    return total / 1024


def start_agentos(tmp: Path, sleep_s: float, standin: bool) -> tuple[subprocess.Popen, str]:
    port = free_port()
    module = "agentos_standin" if standin else "agentos_sleeper"
    env = {
        **os.environ,
        "BENCH_SLEEP_S": str(sleep_s),
        "BENCH_AGNO_DB": str(tmp / "agno.db"),
        "AGNO_BACKGROUND_MAX_CONCURRENCY": "100000",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            f"benchmarks.{module}:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp / "agentos.log", "w"),
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return requests.get(url + "/health", timeout=1).ok
        except requests.RequestException:
            return False

    wait_for(up, 60, "the AgentOS to answer")
    return proc, url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--schedules", type=int, default=1000)
    parser.add_argument("--sleep", type=float, default=30.0, help="seconds each agent run takes")
    parser.add_argument("--minutes", type=int, default=2, help="minutes of due times")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL + Redis")
    parser.add_argument("--followers", type=int, default=1, help="follow_runs processes")
    parser.add_argument(
        "--standin", action="store_true", help="the protocol-faithful stand-in, not agno"
    )
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="inflight-"))
    servers = []
    agentos, url = start_agentos(tmp, args.sleep, args.standin)
    try:
        if args.postgres:
            pg, redis = Postgres(), Redis()
            servers += [pg, redis]
            stack = Stack(pg.start(), logs=tmp, REDIS_URL=redis.start())
        else:
            stack = Stack(f"sqlite:///{tmp / 'db.sqlite3'}", logs=tmp)
        stack.env.update(
            {
                "Q_WORKERS": "4",
                "SCHEDULER_LEASE_S": "30",
                "DEBUG": "false",
                "SECRET_KEY": "bench-" + "x" * 50,
                "ALLOWED_HOSTS": "localhost",
                "LOG_LEVEL": "WARNING",
            }
        )
        stack.manage("migrate", "--no-input", "-v0")
        # The first due minute starts a little after everything is up.
        start = (datetime.now(UTC) + timedelta(seconds=75)).replace(second=0, microsecond=0)
        stack.shell(
            CREATE.format(
                url=url, cap=args.schedules * 2, start=start.isoformat(), n=args.schedules
            )
        )
        print(f"first due minute {start.isoformat()}, logs in {tmp}", flush=True)
        procs = [
            stack.start("run_scheduler", name="scheduler"),
            stack.start("qcluster", name="cluster"),
            *(stack.start("follow_runs", name=f"follower-{i}") for i in range(args.followers)),
        ]
        time.sleep(5)
        rss_start = rss_mb([p.pid for p in procs])
        end = start + timedelta(minutes=args.minutes)
        # Stop firing after the window: disable every schedule once its last time is due.
        while datetime.now(UTC) < end - timedelta(seconds=5):
            time.sleep(1)
        stack.shell(
            "import json, datetime\nfrom scheduler_admin.models import Schedule\n"
            f"end = datetime.datetime.fromisoformat({end.isoformat()!r})\n"
            "n = Schedule.objects.update(next_run_at=end + datetime.timedelta(days=365))\n"
            "print(json.dumps(n))"
        )
        rss_peak = rss_mb([p.pid for p in procs])
        wait_until = time.monotonic() + args.sleep + 90
        where = "WHERE scheduled_for < %s"
        while time.monotonic() < wait_until:
            open_runs = stack.query(
                f"SELECT COUNT(*) FROM agno_schedule_runs {where} AND status IN "
                "('queued', 'running')",
                (end.isoformat() if not args.postgres else end,),
            )[0][0]
            if not open_runs:
                break
            time.sleep(2)
        rss_end = rss_mb([p.pid for p in procs])
        rows = stack.query(
            "SELECT scheduled_for, status, request_sent_at, completed_at, schedule_id, session_id "
            f"FROM agno_schedule_runs {where} AND attempt = 1",
            (end.isoformat() if not args.postgres else end,),
        )
        arrivals = requests.get(url + "/bench/arrivals", timeout=30).json()
        stack.stop_all()
    finally:
        agentos.terminate()
        for server in servers:
            server.stop()
    report(rows, arrivals, args, rss_start, rss_peak, rss_end)
    if not args.standin:
        report_agno_end(rows, tmp / "agno.db", args.sleep)


def arrival_of(row, arrivals: dict[str, float]) -> float | None:
    """When the row's submit reached the server (epoch seconds), if it did."""
    scheduled = parse_time(row[0]).astimezone(UTC)
    return arrivals.get(f"sched-{row[4]}-{scheduled.strftime('%Y%m%dT%H%M%S.%fZ')}-1")


def arrival_lags(rows, arrivals: dict[str, float]) -> list[float]:
    """Seconds from each run's scheduled time to its submit's arrival at the server."""
    return [
        arrival_of(row, arrivals) - parse_time(row[0]).timestamp()
        for row in rows
        if arrival_of(row, arrivals) is not None
    ]


def recorded_after(row, arrivals: dict[str, float], sleep_s: float) -> float:
    """Seconds from the server's end of the run (its arrival + the sleep; our sent
    stamp + the sleep if the arrival is unknown) to the outcome stored here."""
    start = arrival_of(row, arrivals) or parse_time(row[2]).timestamp()
    return parse_time(row[3]).timestamp() - (start + sleep_s)


def report(rows, arrivals, args, rss_start, rss_peak, rss_end) -> None:
    due = len(rows)
    sent = [(parse_time(r[0]), parse_time(r[2]), r) for r in rows if r[2]]
    lags = [(s - f).total_seconds() for f, s, _ in sent]
    landed = arrival_lags(rows, arrivals)
    done = [r for r in rows if r[1] == "success"]
    after = [recorded_after(r, arrivals, args.sleep) for r in done]
    events = []
    for r in rows:
        if r[2] and r[3]:
            events += [(parse_time(r[2]), 1), (parse_time(r[3]), -1)]
    peak = level = 0
    for _, delta in sorted(events):
        level += delta
        peak = max(peak, level)
    by = {}
    for r in rows:
        by[r[1]] = by.get(r[1], 0) + 1
    db = "PostgreSQL + Redis" if args.postgres else "SQLite + ORM broker"
    print(
        f"inflight: {args.schedules} schedules every minute, {args.sleep:g} s runs, "
        f"{args.minutes} min, {db}"
    )
    print(f"  due             {due}")
    print(f"  arrived <= 1 s  {sum(1 for x in landed if x <= 1)} (of {len(landed)} that arrived)")
    for name, values in (("sent lag", lags), ("arrived lag", landed)):
        if values:
            print(
                f"  {name:<15} p50 {percentile(values, 50):.3f} s"
                f"  p99 {percentile(values, 99):.3f} s  max {max(values):.3f} s"
                f"  min {min(values):.3f} s"
            )
    print(f"  statuses        {by}")
    print(f"  in flight max   {peak}")
    if after:
        print(
            f"  recorded after  p50 {percentile(after, 50):.2f} s"
            f"  p99 {percentile(after, 99):.2f} s"
        )
        # By due minute: the first has no history yet (the follower learns a
        # schedule's usual duration from its runs, engine/follow.py interval_s).
        minutes = sorted({parse_time(r[0]).replace(second=0, microsecond=0) for r in done})
        for index, minute in enumerate(minutes, 1):
            part = [
                recorded_after(r, arrivals, args.sleep)
                for r in done
                if parse_time(r[0]).replace(second=0, microsecond=0) == minute
            ]
            print(
                f"    minute {index}      p50 {percentile(part, 50):.2f} s"
                f"  p99 {percentile(part, 99):.2f} s"
            )
    print(f"  RSS (MB)        start {rss_start:.0f}  peak {rss_peak:.0f}  end {rss_end:.0f}")


def report_agno_end(rows, agno_db: Path, sleep_s: float) -> None:
    """Against real agno: when agno itself stored each run as ended (its session's
    updated_at, whole seconds), and how long after that we recorded it."""
    import sqlite3

    with sqlite3.connect(agno_db) as db:
        stamps = dict(
            (sid, (created, updated))
            for sid, created, updated in db.execute(
                "SELECT session_id, created_at, updated_at FROM agno_sessions"
            )
        )
    ours = [(r[5], parse_time(r[3]).timestamp()) for r in rows if r[1] == "success"]
    after = [done - stamps[sid][1] for sid, done in ours if sid in stamps]
    took = [stamps[sid][1] - stamps[sid][0] - sleep_s for sid, _ in ours if sid in stamps]
    if after:
        print(
            f"  agno's own end  {sleep_s:g} s + p50 {percentile(took, 50):.0f} s"
            f"  p99 {percentile(took, 99):.0f} s (agno's stored times, whole seconds)"
        )
        print(
            f"  recorded after agno's stored end  p50 {percentile(after, 50):.1f} s"
            f"  p99 {percentile(after, 99):.1f} s (±1 s)"
        )


if __name__ == "__main__":
    main()
