"""``manage.py restore_db PATH``: put a backup back. Stop every process first."""

import sqlite3
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from scheduler_admin.ops import backup


class Command(BaseCommand):
    help = "Restore the database from a backup_db file (stop web, scheduler, workers first)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", type=Path)

    def handle(self, *args, path: Path, **options) -> None:
        try:
            backup.restore(path)
        except (OSError, RuntimeError, ValueError, sqlite3.DatabaseError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Restored from {path}. Run `manage.py migrate` if the code is newer.")
