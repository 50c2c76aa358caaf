"""In-process agno runtime or an embedded AgentOS on loopback: what does each cost?

Runs the same demo workflows through the bridge (``agentos_bridge.execute``, what a
worker calls) N times each way and prints p50/p95 of the wall time per run, with the
AgentOS server's resident memory:

    .venv/bin/python benchmarks/local_runtime.py               # 30 runs per workflow
    .venv/bin/python benchmarks/local_runtime.py --runs 10

"in process": the local target (agno's arun in a thread of the worker, spans collected in
memory and stored). "embedded AgentOS": the same workflows served by AgentOS under
uvicorn on 127.0.0.1, reached over HTTP (submit, poll, import session and trace).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORKFLOWS = [("digest", "agents"), ("fan-out", "vectors"), ("narrated-digest", "agents")]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="timed runs per workflow and way")
    return parser.parse_args()


def setup_django(folder: Path) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "scheduler_admin.settings"
    os.environ["DEBUG"] = "true"
    os.environ["SCHEDULER_DISPATCH"] = "manual"
    os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'bench.sqlite3'}"
    os.environ["ARTIFACTS_DIR"] = str(folder / "artifacts")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def start_agentos(folder: Path) -> tuple[subprocess.Popen, str]:
    import requests

    port = 18765
    env = {**os.environ, "AGENTOS_TEST_DB": str(folder / "agno.db")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "tests.bridge.agentos_demo_app:app"]
        + ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/health", timeout=1).ok:
                return proc, url
        except requests.RequestException:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("AgentOS did not start")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def time_runs(target, workflow: str, message: str, runs: int) -> list[float]:
    from agentos_bridge import RunRequest, execute
    from agentos_bridge.outcome import TargetInfo

    timings = []
    for index in range(runs + 1):  # the first is a warm-up, not counted
        request = RunRequest(
            target=TargetInfo.of(target),
            method="POST",
            endpoint=f"/workflows/{workflow}/runs",
            payload={"message": message},
            timeout_s=60,
            idempotency_key=f"bench-{workflow}-{index}",
        )
        started = time.perf_counter()
        outcome = execute(request)
        if outcome.status != "success":
            raise SystemExit(f"{workflow} on {target.name}: {outcome.status} {outcome.error}")
        if index:
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="local-runtime-bench-") as tmp:
        folder = Path(tmp)
        setup_django(folder)
        from scheduler_admin.models import Target

        proc, url = start_agentos(folder)
        try:
            local = Target.objects.get(name="local")
            remote = Target.objects.create(name="embedded", base_url=url)
            print(f"{'workflow':18} {'way':18} {'p50 ms':>8} {'p95 ms':>8}")
            for workflow, message in WORKFLOWS:
                for label, target in (("in process", local), ("embedded AgentOS", remote)):
                    timings = sorted(time_runs(target, workflow, message, args.runs))
                    p50 = statistics.median(timings)
                    p95 = timings[min(len(timings) - 1, int(len(timings) * 0.95))]
                    print(f"{workflow:18} {label:18} {p50:8.1f} {p95:8.1f}")
            print(f"AgentOS server resident memory: {rss_mb(proc.pid):.0f} MB")
            print(f"this process (Django + in-process agno): {rss_mb(os.getpid()):.0f} MB")
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
