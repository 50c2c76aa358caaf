"""Requests per second and latency of the console under concurrent load: the production
server (gunicorn) beside Django's development server, on the same database.

    .venv/bin/python benchmarks/web_load.py                  # 1,000,000 runs (ui_scale's data)
    .venv/bin/python benchmarks/web_load.py --runs 100000    # quicker
    .venv/bin/python benchmarks/web_load.py --reuse          # keep an already loaded file

Each server runs with DEBUG=false as a separate process; a logged-in admin's session
requests each page from --concurrency threads for --seconds, a new connection per
request (gunicorn's sync workers close it anyway). The load generator shares the
machine's cores with the server, as a proxy on the same machine would.
"""

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from ui_scale import load, setup_django  # noqa: E402 - after the path is set

# The servers and this process must share it: a session's auth hash is signed with it.
SECRET_KEY = "benchmark-only-secret-key-" + "x" * 40
STATIC_ROOT = str(ROOT / "var" / "bench" / "static")
PAGES = [("dashboard", "/"), ("runs list", "/runs/"), ("metrics", "/metrics")]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--schedules", type=int, default=1000)
    parser.add_argument("--db", default=str(ROOT / "var" / "bench" / "ui_scale.sqlite3"))
    parser.add_argument("--reuse", action="store_true", help="keep an already loaded file")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--gunicorn-workers", default="2,4", help="comma-separated worker counts to try"
    )
    return parser.parse_args()


def session_cookie() -> str:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    user, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_superuser": True, "is_staff": True}
    )
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)  # a database session every server process can read
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def start_server(kind: str, port: int, db: str, workers: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "scheduler_admin.settings",
        "DEBUG": "false",
        "SECRET_KEY": SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": f"sqlite:///{db}",
        "LOG_LEVEL": "WARNING",
        "STATIC_ROOT": STATIC_ROOT,
    }
    if kind == "runserver":
        argv = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    else:
        argv = [sys.executable, "-m", "gunicorn", "-c", "python:scheduler_admin.ops.gunicorn_conf"]
        argv += ["--bind", f"127.0.0.1:{port}", "--workers", str(workers), "scheduler_admin.wsgi"]
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if get(port, "/healthz", "")[0] == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"{kind} did not start")


def get(port: int, path: str, cookie: str) -> tuple[int, float]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Cookie": cookie, "Host": "localhost"})
        response = conn.getresponse()
        response.read()
        return response.status, (time.perf_counter() - started) * 1000
    finally:
        conn.close()


def hammer(port: int, path: str, cookie: str, concurrency: int, seconds: float, pid: int):
    """(requests per second, p50 ms, p95 ms, errors, server CPU ms per request)."""
    for _ in range(3):
        assert get(port, path, cookie)[0] == 200, path  # warm-up, and a check
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def worker():
        mine, bad = [], 0
        while time.monotonic() < stop_at:
            status, ms = get(port, path, cookie)
            if status == 200:
                mine.append(ms)
            else:
                bad += 1
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    cpu_before = cpu_seconds(pid)
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    cpu_ms = (cpu_seconds(pid) - cpu_before) * 1000 / max(1, len(latencies) + errors[0])
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan")
    return len(latencies) / elapsed, statistics.median(latencies), p95, errors[0], cpu_ms


def cpu_seconds(pid: int) -> float:
    """CPU time of a server: the process, its live children (gunicorn's workers) and the
    children it has reaped. Unlike wall time, it hardly moves when the machine is busy
    with other work, so CPU per request is the figure to size with."""
    ticks = os.sysconf("SC_CLK_TCK")

    def own(p: int, with_reaped: bool) -> float:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            return 0.0
        # utime, stime, cutime, cstime are fields 14-17 (1-based) of the full line.
        used = int(fields[11]) + int(fields[12])
        if with_reaped:
            used += int(fields[13]) + int(fields[14])
        return used / ticks

    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = [int(k) for k in children.read_text().split()] if children.exists() else []
    return own(pid, True) + sum(own(kid, False) for kid in kids)


def main() -> None:
    args = parse_args()
    os.environ["SECRET_KEY"] = SECRET_KEY
    fresh = not (args.reuse and Path(args.db).exists())
    setup_django(args.db, fresh)
    if fresh:
        print(f"loading {args.runs:,} runs over {args.schedules:,} schedules into {args.db}")
        load(args.runs, args.schedules, 60)
    from scheduler_admin.models import ScheduleRun

    total = ScheduleRun.objects.order_by("-pk").values_list("pk", flat=True).first()
    cookie = session_cookie()
    # Pages link to hashed static names (DEBUG=false): collect them as a deploy does.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "false", "STATIC_ROOT": STATIC_ROOT},
        check=True,
    )
    servers = [("runserver", "runserver", 1)] + [
        (f"gunicorn x{n}", "gunicorn", int(n)) for n in args.gunicorn_workers.split(",")
    ]
    print(
        f"\n{total:,} runs; {args.concurrency} concurrent clients, {args.seconds:.0f} s per "
        f"page, {os.cpu_count()} cores shared with the load generator\n"
    )
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    header = f"{'server':<14}{'page':<12}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'errors':>8}"
    print(header + f"{'CPU ms/req':>12}")
    for label, kind, workers in servers:
        port = 18000 + os.getpid() % 1000
        proc = start_server(kind, port, args.db, workers)
        try:
            for page, path in PAGES:
                rps, p50, p95, errors, cpu_ms = hammer(
                    port, path, cookie, args.concurrency, args.seconds, proc.pid
                )
                print(
                    f"{label:<14}{page:<12}{rps:>8.1f}{p50:>9.1f}{p95:>9.1f}{errors:>8}"
                    f"{cpu_ms:>12.1f}"
                )
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
