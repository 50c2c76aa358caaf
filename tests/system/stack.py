"""Real processes for system tests: manage.py commands, PostgreSQL, Redis.

Every server is started on 127.0.0.1 with a free port and stopped by its fixture.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition: Callable[[], object], timeout: float, what: str, every: float = 0.2):
    """Poll ``condition`` until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


class Stack:
    """Runs manage.py commands against one database, as separate processes."""

    def __init__(self, database_url: str, logs: Path, **env: str):
        self.database_url = database_url
        self.logs = logs
        self.env = {
            **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
            "DJANGO_SETTINGS_MODULE": "scheduler_admin.settings",
            "DEBUG": "true",
            "DATABASE_URL": database_url,
            "SCHEDULER_DISPATCH": "django_q",
            "SCHEDULER_LEASE_S": "3",
            "SCHEDULER_POLL_INTERVAL_S": "0.5",
            "SCHEDULER_FIRE_AHEAD_S": "2",
            "Q_WORKERS": "2",
            "PYTHONPATH": str(ROOT),
            **env,
        }
        self.processes: list[subprocess.Popen] = []

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            raise AssertionError(f"manage.py {args[0]} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def shell(self, code: str) -> object:
        """Run Python in a Django shell; the code's last line prints JSON."""
        out = self.manage("shell", "--no-imports", "-c", code)
        return json.loads(out.strip().splitlines()[-1])

    def start(self, *args: str, name: str) -> subprocess.Popen:
        return self.start_argv([sys.executable, "manage.py", *args], name=name)

    def start_argv(self, argv: list[str], *, name: str) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen) -> None:
        """SIGKILL the process and its children (a crash, not a shutdown)."""
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        self.processes.remove(proc)

    def stop(self, proc: subprocess.Popen) -> bool:
        """SIGTERM, then wait; True if the process stopped by itself."""
        if proc.poll() is not None:
            return True
        # SIGTERM to the main process only: django-q2's sentinel stops its own
        # workers in order; signalling the whole group stalls that shutdown.
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
            return True
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return False

    def stop_all(self) -> None:
        """Stop every process; fail if one needed SIGKILL (a clean stop is a feature)."""
        stubborn = [" ".join(p.args[2:]) for p in self.processes if not self.stop(p)]
        assert not stubborn, f"did not stop on SIGTERM within 20 s: {stubborn}"

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self.database_url.startswith("sqlite"):
            import sqlite3

            path = self.database_url.removeprefix("sqlite:///")
            with sqlite3.connect(path, timeout=30) as conn:
                return conn.execute(sql.replace("%s", "?"), params).fetchall()
        import psycopg

        with psycopg.connect(self.database_url) as conn:
            return conn.execute(sql, params).fetchall()


def find_pg_bin(name: str) -> str:
    found = shutil.which(name) or next(
        (str(p) for p in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))), None
    )
    if not found:
        raise AssertionError(f"{name} not found: `make system-deps` installs PostgreSQL")
    return found


class Postgres:
    """A throwaway PostgreSQL cluster owned by the `postgres` user (it refuses root)."""

    def __init__(self):
        # Not under pytest's tmp dirs: those are private to root, and postgres must enter.
        self.base = Path(tempfile.mkdtemp(prefix="pg-"))
        os.chmod(self.base, 0o755)
        self.dir = self.base / "pgdata"
        self.port = free_port()
        self.initdb, self.pg_ctl = find_pg_bin("initdb"), find_pg_bin("pg_ctl")

    def _as_postgres(self, *cmd: str) -> None:
        if os.geteuid() == 0:
            cmd = ("su", "postgres", "-s", "/bin/sh", "-c", " ".join(cmd))
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def start(self) -> str:
        self.dir.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._as_postgres(self.initdb, "-D", str(self.dir), "-A", "trust", "-U", "postgres")
        self._pg_ctl("start")
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _pg_ctl(self, action: str, *extra: str) -> None:
        opts = f"'-p {self.port} -c listen_addresses=127.0.0.1 -c max_connections=200 -k /tmp'"
        self._as_postgres(
            self.pg_ctl,
            "-D",
            str(self.dir),
            "-o",
            opts,
            "-l",
            str(self.dir / "log"),
            "-w",
            action,
            *extra,
        )

    def restart(self, down_s: float = 0.0) -> None:
        """Stop (fast: open connections are cut), stay down ``down_s``, start again on
        the same port."""
        if not down_s:
            self._pg_ctl("restart", "-m", "fast")
            return
        self._pg_ctl("stop", "-m", "fast")
        time.sleep(down_s)
        self._pg_ctl("start")

    def stop(self) -> None:
        self._as_postgres(self.pg_ctl, "-D", str(self.dir), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.base, ignore_errors=True)


class Redis:
    def __init__(self):
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> str:
        server = shutil.which("redis-server")
        if not server:
            raise AssertionError("redis-server not found: `make system-deps` installs it")
        self.proc = subprocess.Popen(
            [
                server,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        import redis

        client = redis.Redis(port=self.port)
        try:
            wait_for(lambda: _pings(client), 20, "redis to answer")
        except AssertionError:
            self.stop()
            raise
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def _pings(client) -> bool:
    try:
        return client.ping()
    except Exception:  # noqa: BLE001 - not up yet
        return False
