"""``manage.py backup_db PATH``: a consistent backup while everything keeps running."""

import sqlite3
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from scheduler_admin.ops import backup


class Command(BaseCommand):
    help = "Back up the database (SQLite online backup, or pg_dump) to PATH while it runs."

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", type=Path)

    def handle(self, *args, path: Path, **options) -> None:
        try:
            backup.backup(path)
        except (OSError, RuntimeError, ValueError, sqlite3.DatabaseError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Backed up to {path} ({path.stat().st_size} bytes).")
