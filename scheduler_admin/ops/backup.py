"""Backups of the database while the service runs, and their restore.

SQLite: SQLite's online backup API copies every page under one read transaction, so the
copy is one consistent moment; with WAL the scheduler and workers keep writing while it
runs. PostgreSQL: ``pg_dump --format=custom`` (a consistent snapshot too, taken without
blocking writers) and ``pg_restore`` in a single transaction. The password goes to the
tools through PGPASSWORD, never on a command line other users can read.
"""

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def is_sqlite(db: dict) -> bool:
    return db["ENGINE"] == "django.db.backends.sqlite3"


def backup(dest: Path, db: dict | None = None) -> None:
    """Write a backup of the database (default: settings' default) to ``dest``, replacing
    it only once the backup is complete."""
    db = db or settings.DATABASES["default"]
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    partial.unlink(missing_ok=True)
    if is_sqlite(db):
        backup_sqlite(Path(db["NAME"]), partial)
    else:
        run_pg_tool(db, "pg_dump", "--format=custom", "--no-owner", f"--file={partial}")
    os.replace(partial, dest)


def restore(source: Path, db: dict | None = None) -> None:
    """Replace the default database's contents with the backup at ``source``.

    Stop the web server, scheduler and workers first: processes that keep running would
    go on from what they held in memory.
    """
    db = db or settings.DATABASES["default"]
    if not source.is_file():
        raise FileNotFoundError(f"no backup at {source}")
    if is_sqlite(db):
        restore_sqlite(source, Path(db["NAME"]))
    else:
        run_pg_tool(
            db,
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
            str(source),
        )


def backup_sqlite(db_path: Path, dest: Path) -> None:
    source = sqlite3.connect(db_path, timeout=30)
    target = sqlite3.connect(dest)
    try:
        # pages=-1 (the default): all pages in one step, one consistent snapshot. In
        # several steps, every write by another process would restart the copy.
        source.backup(target)
        check_sqlite(target, dest)
    finally:
        target.close()
        source.close()


def restore_sqlite(backup_path: Path, db_path: Path) -> None:
    source = sqlite3.connect(backup_path)
    try:
        check_sqlite(source, backup_path)
        target = sqlite3.connect(db_path, timeout=30)
        try:
            source.backup(target)  # through SQLite's locks and WAL, unlike a file copy
        finally:
            target.close()
    finally:
        source.close()


def check_sqlite(conn: sqlite3.Connection, path: Path) -> None:
    result = conn.execute("PRAGMA integrity_check").fetchone()[0]
    if result != "ok":
        raise ValueError(f"{path} is not a sound SQLite database: {result}")


def run_pg_tool(db: dict, tool: str, *args: str) -> None:
    env = {**os.environ, "PGPASSWORD": db.get("PASSWORD") or os.environ.get("PGPASSWORD", "")}
    command = [pg_binary(tool), *args, f"--dbname={db['NAME']}"]
    for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if db.get(key):
            command.append(f"{flag}={db[key]}")
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=24 * 3600)
    if result.returncode != 0:
        raise RuntimeError(f"{tool} failed (exit {result.returncode}): {result.stderr[-2000:]}")


def pg_binary(tool: str) -> str:
    """``PG_BIN_DIR`` if set, else PATH, else the newest /usr/lib/postgresql/*/bin.

    pg_dump must be at least the server's major version: point PG_BIN_DIR at a newer
    one if the default is older.
    """
    if os.environ.get("PG_BIN_DIR"):
        candidate = Path(os.environ["PG_BIN_DIR"]) / tool
        if not candidate.is_file():
            raise ImproperlyConfigured(f"PG_BIN_DIR has no {tool}")
        return str(candidate)
    found = shutil.which(tool)
    if found:
        return found
    versions = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{tool}"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    if not versions:
        raise ImproperlyConfigured(f"{tool} not found: install postgresql-client or set PG_BIN_DIR")
    return str(versions[-1])
