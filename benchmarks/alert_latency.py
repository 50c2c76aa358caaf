"""Alert latency: from a run's final failure to the alert arriving at a receiver.

N schedules (default 200) fall due across S seconds (default 60), each calling an
agent the built-in runtime does not have, so every run fails at once without retries
(a final failure). A real `run_scheduler`, `run_alerts` and django-q2 cluster run as
separate processes on SQLite with the ORM broker; a signed-webhook channel points at
an HTTP server in this process, which notes when each alert arrives:

  latency = alert received − run completed_at   (p50 / p99 / max; goal p99 <= 2 s)

Usage:
  .venv/bin/python benchmarks/alert_latency.py
  .venv/bin/python benchmarks/alert_latency.py --schedules 50 --spread 10
"""

import argparse
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.fire_lag import parse_time, percentile  # noqa: E402
from tests.alerts.receivers import start_http_receiver  # noqa: E402
from tests.system.stack import Stack, wait_for  # noqa: E402

CREATE = """
import datetime, json
from scheduler_admin.models import Schedule, Target
from tests.factories import make_channel
make_channel("webhook", url={url!r})
local = Target.objects.local()
start = datetime.datetime.fromisoformat({start!r})
Schedule.objects.bulk_create([
    Schedule(name=f"bench {{i}}", target=local, endpoint="/agents/missing/runs",
             payload={{"message": "m"}}, cron_expr="0 0 1 1 *",
             next_run_at=start + datetime.timedelta(seconds=(i * {spread}) // {n}))
    for i in range({n})
], batch_size=500)
print(json.dumps(Schedule.objects.count()))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--schedules", type=int, default=200)
    parser.add_argument("--spread", type=int, default=60, help="seconds the due times span")
    parser.add_argument("--workers", type=int, default=4, help="django-q2 workers")
    args = parser.parse_args()

    server, receiver = start_http_receiver()
    arrived: dict[int, float] = {}
    logs = Path(tempfile.mkdtemp(prefix="alert-latency-"))
    stack = Stack(
        f"sqlite:///{logs / 'db.sqlite3'}",
        logs=logs,
        Q_WORKERS=str(args.workers),
        ALERT_DELIVERY="django_q",
        LOG_LEVEL="WARNING",
    )
    try:
        stack.manage("migrate", "--no-input", "-v0")
        start = (datetime.now(UTC) + timedelta(seconds=15)).replace(microsecond=0)
        stack.shell(
            CREATE.format(
                url=f"{receiver.url}/hook",
                start=start.isoformat(),
                spread=args.spread,
                n=args.schedules,
            )
        )
        stack.start("qcluster", name="workers")
        stack.start("run_alerts", name="alerts")
        stack.start("run_scheduler", name="scheduler")

        def received() -> int:
            with receiver.lock:
                for request in receiver.requests:
                    arrived.setdefault(request.json()["data"]["run"]["id"], request.at)
            return len(arrived)

        wait_for(lambda: received() >= args.schedules, args.spread + 120, "every alert")
        completed = dict(
            stack.query("SELECT id, completed_at FROM agno_schedule_runs WHERE status = 'failed'")
        )
    finally:
        stack.stop_all()
        server.shutdown()
    latencies = [arrived[pk] - parse_time(completed[pk]).timestamp() for pk in arrived]
    ms = [1000 * v for v in latencies]
    print(
        f"{args.schedules} final failures over {args.spread} s "
        f"(SQLite + ORM broker, {args.workers} workers, 1 scheduler, 1 alerts monitor)"
    )
    print(f"alerts received: {len(arrived)} (one per incident, one channel)")
    print(
        f"latency (alert received - run completed): p50 {percentile(ms, 50):.0f} ms, "
        f"p99 {percentile(ms, 99):.0f} ms, max {max(ms):.0f} ms   goal p99 <= 2000 ms"
    )


if __name__ == "__main__":
    main()
