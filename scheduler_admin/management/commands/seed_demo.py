"""``make run``'s demo data: an admin login (printed) and a few schedules."""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from agentos_bridge.runtime import speech
from scheduler_admin.demo import DEMO_SCHEDULES
from scheduler_admin.engine.operations import create_schedule
from scheduler_admin.models import Schedule


class Command(BaseCommand):
    help = "Create the demo admin (a new password each time, printed) and demo schedules."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username: str, **options) -> None:
        password = secrets.token_urlsafe(12)
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        user.groups.add(Group.objects.get(name="admin"))
        created = 0
        for spec in DEMO_SCHEDULES:
            if not Schedule.objects.filter(name=spec["name"]).exists():
                create_schedule(spec)
                created += 1
        self.stdout.write(f"Demo schedules: {created} created, {len(DEMO_SCHEDULES)} in all.")
        if speech.engine_path() is None:
            # Said plainly up front: the narrated demos then run without their audio.
            self.stdout.write(
                self.style.WARNING(
                    f"{speech.missing_engine_message()} The narrated demos run without audio."
                )
            )
        self.stdout.write(self.style.SUCCESS(f"Log in as {username} / {password}"))
