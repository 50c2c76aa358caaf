"""``manage.py revoke_api_token --prefix PREFIX`` (or ``--id N``)."""

from django.core.management.base import BaseCommand, CommandError

from scheduler_admin.models import ApiToken


class Command(BaseCommand):
    help = "Revoke an API token by its prefix (as listed at /api/tokens/) or its id."

    def add_arguments(self, parser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--prefix", help="The token's prefix, e.g. sat_AbC123")
        which.add_argument("--id", type=int, help="The token's id")

    def handle(self, *args, prefix: str | None, id: int | None, **options) -> None:
        tokens = ApiToken.objects.active()
        matches = list(tokens.filter(pk=id) if id else tokens.filter(prefix=prefix.rstrip("…")))
        if not matches:
            raise CommandError("No active token matches.")
        if len(matches) > 1:
            ids = ", ".join(str(t.pk) for t in matches)
            raise CommandError(f"{len(matches)} tokens share that prefix (ids {ids}); use --id.")
        matches[0].revoke()
        self.stdout.write(f"Revoked {matches[0]} of {matches[0].user}.")
