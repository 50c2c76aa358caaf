"""backup_db/restore_db pieces that need no server: the PostgreSQL password travels in
the environment, never on the command line; a damaged SQLite backup is refused."""

import sqlite3
import subprocess

import pytest

from scheduler_admin.ops import backup


def test_pg_dump_gets_the_password_from_the_environment(monkeypatch, tmp_path):
    db = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "sched",
        "USER": "app",
        "PASSWORD": "pg-secret-password",
        "HOST": "db.internal",
        "PORT": 5432,
    }
    calls = []

    def fake_run(command, env, **kwargs):
        calls.append((command, env))
        open(tmp_path / "out.dump.partial", "w").close()
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(backup.subprocess, "run", fake_run)
    monkeypatch.setattr(backup, "pg_binary", lambda tool: f"/usr/bin/{tool}")
    backup.backup(tmp_path / "out.dump", db)
    command, env = calls[0]
    assert command[0] == "/usr/bin/pg_dump"
    assert "--dbname=sched" in command and "--host=db.internal" in command
    assert "--username=app" in command and "--port=5432" in command
    assert not any("pg-secret-password" in part for part in command)
    assert env["PGPASSWORD"] == "pg-secret-password"
    assert (tmp_path / "out.dump").exists()


def test_a_damaged_sqlite_backup_is_refused(tmp_path):
    db = {"ENGINE": "django.db.backends.sqlite3", "NAME": tmp_path / "live.sqlite3"}
    damaged = tmp_path / "damaged.sqlite3"
    with sqlite3.connect(damaged) as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.executemany("INSERT INTO t VALUES (?)", [(str(i) * 50,) for i in range(2000)])
    data = bytearray(damaged.read_bytes())
    data[5000:9000] = b"\xff" * 4000
    damaged.write_bytes(bytes(data))
    with pytest.raises((ValueError, sqlite3.DatabaseError)):
        backup.restore(damaged, db)
    assert not (tmp_path / "live.sqlite3").exists()


def test_restoring_a_missing_file_says_so(tmp_path):
    with pytest.raises(FileNotFoundError):
        backup.restore(tmp_path / "nope.sqlite3")
