"""Backups taken while runs fire restore to a database that `migrate --check` accepts and
that holds every run committed before the backup started: SQLite (online backup API)
and PostgreSQL (pg_dump / pg_restore)."""

import pytest

from tests.system.stack import Stack, wait_for

pytestmark = pytest.mark.slow

# A writer that keeps triggering runs (which the scheduler dispatches and the workers
# execute) until it is stopped: the database is busy for the whole backup.
WRITER = """
import time
from scheduler_admin.engine.operations import create_schedule, trigger_now
schedule = create_schedule({"name": "busy", "endpoint": "/noop", "cron_expr": "* * * * *"})
while True:
    trigger_now(schedule)
    time.sleep(0.02)
"""


def run_ids(stack: Stack) -> set[int]:
    return {row[0] for row in stack.query("SELECT id FROM agno_schedule_runs")}


def backup_while_running_and_restore(stack: Stack, restored: Stack, backup_file) -> None:
    stack.start("run_scheduler", name="scheduler")
    stack.start("qcluster", name="workers")
    writer = stack.start("shell", "--no-imports", "-c", WRITER, name="writer")
    wait_for(lambda: len(run_ids(stack)) >= 50, 60, "50 runs written")
    before = run_ids(stack)

    stack.manage("backup_db", str(backup_file))

    # The service kept writing: runs were added after those seen before the backup.
    wait_for(lambda: len(run_ids(stack)) > len(before) + 20, 30, "more runs after the backup")
    assert stack.query("SELECT count(*) FROM agno_schedule_runs WHERE status = 'success'")
    assert writer.poll() is None

    restored.manage("restore_db", str(backup_file))
    restored.manage("migrate", "--check")
    in_backup = run_ids(restored)
    assert before <= in_backup, f"missing runs: {sorted(before - in_backup)[:10]}"
    assert len(in_backup) < len(run_ids(stack))  # a moment in time, not a later copy


def test_sqlite_online_backup_while_runs_fire(sqlite_stack, tmp_path):
    restored = Stack(f"sqlite:///{tmp_path / 'restored.sqlite3'}", logs=tmp_path)
    backup_while_running_and_restore(sqlite_stack, restored, tmp_path / "backups" / "db.sqlite3")


def test_postgres_backup_while_runs_fire(postgres_url, tmp_path):
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        for name in ("backup_source", "backup_restored"):
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name}")
    base = postgres_url.rsplit("/", 1)[0]
    stack = Stack(f"{base}/backup_source", logs=tmp_path)
    stack.manage("migrate", "--no-input", "-v0")
    restored = Stack(f"{base}/backup_restored", logs=tmp_path)
    try:
        backup_while_running_and_restore(stack, restored, tmp_path / "db.pgdump")
    finally:
        stack.stop_all()
