"""Creating and revoking API tokens: the /api/tokens/ pages and the two commands."""

from datetime import UTC, datetime
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.urls import reverse

from scheduler_admin.models import ApiToken
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_token_page_needs_login(client):
    response = client.get(reverse("api_token_list"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_created_token_is_shown_once_and_works(client):
    user = make_user("operator")
    client.force_login(user)
    created = client.post(reverse("api_token_list"), {"name": "nightly script"})
    # POST-redirect-GET: reloading the page that shows the token creates no other one.
    assert created.status_code == 302 and created["Location"] == reverse("api_token_list")
    response = client.get(created["Location"])
    raw = response.context["raw_token"]
    assert raw.startswith("sat_") and raw in response.content.decode()
    assert ApiToken.objects.authenticate(raw) == user
    token = ApiToken.objects.get(user=user)
    assert token.token_hash != raw  # stored hashed
    assert "no-store" in response["Cache-Control"]

    listing = client.get(reverse("api_token_list")).content.decode()
    assert "nightly script" in listing and token.prefix in listing
    assert raw not in listing  # never shown again
    assert ApiToken.objects.filter(user=user).count() == 1


def test_token_name_is_required(client):
    client.force_login(make_user("viewer"))
    response = client.post(reverse("api_token_list"), {"name": "  "})
    assert response.status_code == 400
    assert "Give the token a name" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_revoke_own_token_only_after_a_confirmation(client):
    owner, other = make_user("viewer"), make_user("viewer")
    mine, raw = ApiToken.issue(owner, "mine")
    theirs, their_raw = ApiToken.issue(other, "theirs")
    client.force_login(owner)
    assert client.post(reverse("api_token_revoke", args=[theirs.pk])).status_code == 404
    confirm = client.get(reverse("api_token_revoke", args=[mine.pk]))
    assert "Revoke “mine”?" in confirm.content.decode()
    assert ApiToken.objects.authenticate(raw) == owner  # asking revokes nothing
    response = client.post(reverse("api_token_revoke", args=[mine.pk]), follow=True)
    page = response.content.decode()
    assert page.count("Revoked") == 1  # one message, not two
    assert ApiToken.objects.authenticate(raw) is None
    assert ApiToken.objects.authenticate(their_raw) == other


def test_token_pages_require_csrf(client):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(make_user("viewer"))
    assert strict.post(reverse("api_token_list"), {"name": "x"}).status_code == 403


def test_create_api_token_command_prints_the_token_once():
    user = make_user("admin", username="ops")
    out, err = StringIO(), StringIO()
    call_command("create_api_token", "--user", "ops", "--name", "ci", stdout=out, stderr=err)
    raw = out.getvalue().strip()
    assert ApiToken.objects.authenticate(raw) == user
    assert "copy it now" in err.getvalue() and raw not in err.getvalue()
    with pytest.raises(CommandError, match="No user named"):
        call_command("create_api_token", "--user", "ghost", "--name", "ci")


def test_revoke_api_token_command_by_prefix_or_id():
    user = make_user("admin")
    first, first_raw = ApiToken.issue(user, "one")
    second, second_raw = ApiToken.issue(user, "two")
    call_command("revoke_api_token", "--prefix", first.prefix, stdout=StringIO())
    assert ApiToken.objects.authenticate(first_raw) is None
    call_command("revoke_api_token", "--id", str(second.pk), stdout=StringIO())
    assert ApiToken.objects.authenticate(second_raw) is None
    with pytest.raises(CommandError, match="No active token"):
        call_command("revoke_api_token", "--prefix", first.prefix)


def test_page_that_shows_a_new_token_is_never_cached(client):
    client.force_login(make_user("viewer"))
    response = client.post(reverse("api_token_list"), {"name": "cron box"}, follow=True)
    assert response.context["raw_token"]
    assert "no-store" in response["Cache-Control"]
    assert "no-store" in client.get(reverse("api_token_list"))["Cache-Control"]


def test_last_used_is_written_at_most_once_a_minute(django_assert_num_queries):
    user = make_user("viewer")
    token, raw = ApiToken.issue(user, "poller")

    def authenticate_at(moment: str, queries: int) -> None:
        with time_machine.travel(moment, tick=False), django_assert_num_queries(queries):
            assert ApiToken.objects.authenticate(raw) == user

    authenticate_at("2026-03-01 12:00:00Z", 2)  # lookup + the first UPDATE
    authenticate_at("2026-03-01 12:00:30Z", 1)  # lookup only
    token.refresh_from_db()
    assert token.last_used_at == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    authenticate_at("2026-03-01 12:01:01Z", 2)  # a minute on: written again
    token.refresh_from_db()
    assert token.last_used_at == datetime(2026, 3, 1, 12, 1, 1, tzinfo=UTC)
