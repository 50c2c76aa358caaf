"""``manage.py import_agentos_schedules --target NAME [--apply]``: copy an AgentOS's
schedules (its /schedules API) into ours by name. Dry run unless --apply."""

from django.core.management.base import BaseCommand, CommandError

from scheduler_admin.api.agentos_import import ImportFailed, import_schedules
from scheduler_admin.models import Target


class Command(BaseCommand):
    help = "Create or update schedules from an AgentOS's /schedules (dry run unless --apply)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--target", required=True, help="Our target whose base_url is the AgentOS"
        )
        parser.add_argument("--apply", action="store_true", help="Write; default: only print")

    def handle(self, *args, target: str, apply: bool, **options) -> None:
        try:
            agentos = Target.objects.get(name=target)
        except Target.DoesNotExist:
            known = ", ".join(Target.objects.values_list("name", flat=True))
            raise CommandError(f"Unknown target {target!r}; known targets: {known}.") from None
        if agentos.is_local:
            raise CommandError(f"Target {target!r} has no base_url: it is not an AgentOS.")
        try:
            lines = import_schedules(agentos, apply=apply)
        except ImportFailed as exc:
            raise CommandError(str(exc)) from None
        for line in lines:
            self.stdout.write(
                f"{line.action:<9} {line.name}" + (f"  ({line.detail})" if line.detail else "")
            )
        counts = {
            a: sum(1 for x in lines if x.action == a) for a in ("create", "update", "unchanged")
        }
        invalid = sum(1 for x in lines if x.action in ("invalid", "skipped"))
        verb = "Created" if apply else "Would create"
        summary = (
            f"{verb} {counts['create']}, update {counts['update']}, "
            f"leave {counts['unchanged']} unchanged, skip {invalid}."
        )
        if apply:
            self.stdout.write(self.style.SUCCESS(summary))
            if counts["create"] or counts["update"]:
                self.stdout.write(
                    "Enabled schedules now fire here; disable them on the AgentOS so they "
                    "do not fire twice."
                )
        else:
            self.stdout.write(summary + " Dry run: nothing written; add --apply to write.")
