"""``manage.py create_api_token --user NAME --name LABEL``: prints the token once."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from scheduler_admin.models import ApiToken
from scheduler_admin.roles import can


class Command(BaseCommand):
    help = "Create a personal API token for a user and print it (it is shown only once)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--user", required=True, help="Username the token acts as")
        parser.add_argument("--name", required=True, help="A label, e.g. the script using it")

    def handle(self, *args, user: str, name: str, **options) -> None:
        User = get_user_model()
        try:
            owner = User.objects.get(**{User.USERNAME_FIELD: user})
        except User.DoesNotExist:
            raise CommandError(f"No user named {user!r}.") from None
        if not can(owner, "view"):
            raise CommandError(f"{user!r} has no role here; give them one before a token.")
        name = name.strip()
        limit = ApiToken._meta.get_field("name").max_length
        if not name or len(name) > limit or "\x00" in name:
            raise CommandError(f"Give a name of 1 to {limit} characters, without NUL.")
        token, raw = ApiToken.issue(owner, name)
        self.stderr.write(f"Token {token.prefix}… (id {token.pk}) for {user}; copy it now:")
        self.stdout.write(raw)
