"""Headers on every URL, login lockout, and no tokens for people without a role."""

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from scheduler_admin.models import ApiToken
from tests.factories import make_run, make_schedule, make_user


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def concrete_urls() -> list[str]:
    """Every console, API and AgentOS URL (Django's admin aside), parameters set to 1."""
    schedule = make_schedule(name="nightly", payload={"message": "go"})
    make_run(schedule, run_id="1", session_id="1")
    urls = []

    def walk(patterns, prefix):
        for p in patterns:
            if isinstance(p, URLResolver):
                if not str(p.pattern).startswith("admin/"):
                    walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                route = prefix + str(p.pattern)
                for name, converter in p.pattern.converters.items():
                    kind = type(converter).__name__.removesuffix("Converter").lower()
                    route = route.replace(f"<{kind}:{name}>", "1").replace(f"<{name}>", "1")
                urls.append("/" + route)

    walk(get_resolver().url_patterns, "")
    return sorted(set(urls))


def test_every_url_answers_with_the_csp_and_no_store_when_signed_in(db):
    signed_in = Client()
    signed_in.force_login(make_user("admin"))
    _, raw = ApiToken.issue(make_user("admin"), "t")
    anonymous = Client()
    urls = concrete_urls()
    assert len(urls) > 30
    for url in urls:
        for client, name in ((signed_in, "session"), (anonymous, "anonymous")):
            headers = {"Authorization": f"Bearer {raw}"} if url.startswith("/api/") else {}
            response = client.get(url, headers=headers)
            csp = response.get("Content-Security-Policy", "")
            assert "default-src 'self'" in csp and "script-src 'self'" in csp, (url, name)
            assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
            if name == "session" or headers:
                assert response.get("Cache-Control") == "no-store", (url, name)


def test_the_login_page_and_static_files_carry_the_csp(db):
    response = Client().get(reverse("login"))
    assert "default-src 'self'" in response["Content-Security-Policy"]


def test_a_user_without_a_role_cannot_create_a_token(db):
    client = Client()
    nobody = make_user(None)
    client.force_login(nobody)
    response = client.post(reverse("api_token_list"), {"name": "mine"})
    assert response.status_code == 403
    assert not ApiToken.objects.filter(user=nobody).exists()


def test_a_viewer_still_creates_a_token(db):
    client = Client()
    viewer = make_user("viewer")
    client.force_login(viewer)
    response = client.post(reverse("api_token_list"), {"name": "mine"}, follow=True)
    assert response.status_code == 200 and response.context["raw_token"]
    assert ApiToken.objects.filter(user=viewer).exists()


def test_repeated_wrong_passwords_lock_the_user_out_from_that_address(db, settings):
    make_user("viewer", username="alice", password="right-one")
    client = Client(REMOTE_ADDR="10.1.2.3")
    url = reverse("login")
    answers = [
        client.post(url, {"username": "alice", "password": f"wrong-{i}"}).status_code
        for i in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert answers[: settings.AXES_FAILURE_LIMIT - 1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert answers[-1] == 429
    # Locked: even the right password is not checked now, and the page says why.
    locked = client.post(url, {"username": "alice", "password": "right-one"})
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    assert "Try again in 15 minutes" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # Another address is not locked out for alice.
    other = Client(REMOTE_ADDR="10.9.9.9")
    assert other.post(url, {"username": "alice", "password": "right-one"}).status_code == 302


def test_an_admin_unlocks_a_locked_user(db, settings):
    from django.core.management import call_command

    make_user("viewer", username="bob", password="right-one")
    client = Client(REMOTE_ADDR="10.1.2.3")
    url = reverse("login")
    for i in range(settings.AXES_FAILURE_LIMIT):
        client.post(url, {"username": "bob", "password": f"wrong-{i}"})
    assert client.post(url, {"username": "bob", "password": "right-one"}).status_code == 429
    call_command("axes_reset_username", "bob")
    assert client.post(url, {"username": "bob", "password": "right-one"}).status_code == 302


def test_the_command_refuses_a_token_for_a_user_without_a_role(db):
    from django.core.management import CommandError, call_command

    make_user(None, username="nobody")
    with pytest.raises(CommandError, match="no role"):
        call_command("create_api_token", "--user", "nobody", "--name", "script")
    assert not ApiToken.objects.exists()
