import socket

import pytest
from django.urls import reverse

from scheduler_admin.models import Target


def test_targets_show_the_token_variable_name_never_the_token(as_viewer, monkeypatch):
    monkeypatch.setenv("AGENTOS_PROD_TOKEN", "s3cret-token-value")
    Target.objects.create(
        name="prod", base_url="https://agents.example", token_env="AGENTOS_PROD_TOKEN"
    )
    page = as_viewer.get(reverse("target_list")).content.decode()
    assert "AGENTOS_PROD_TOKEN" in page
    assert "s3cret-token-value" not in page
    assert "Test connection" not in page  # admin only


def test_admin_edits_a_target(as_admin):
    target = Target.objects.create(name="prod", base_url="https://a.example")
    response = as_admin.post(
        reverse("target_edit", args=[target.pk]),
        {
            "name": "prod",
            "base_url": "https://b.example",
            "token_env": "AGENTOS_TOK",
            "connect_timeout_s": 3,
        },
    )
    assert response.status_code == 302
    target.refresh_from_db()
    assert (target.base_url, target.token_env) == ("https://b.example", "AGENTOS_TOK")


def test_bad_target_input_is_shown_inline(as_admin):
    response = as_admin.post(
        reverse("target_create"),
        {"name": "bad name!", "base_url": "not a url", "connect_timeout_s": 3},
    )
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"name", "base_url"}
    assert not Target.objects.filter(name="bad name!").exists()


def test_test_connection_of_the_local_runtime_lists_what_it_serves(as_admin):
    target = Target.objects.local()
    response = as_admin.post(reverse("target_test", args=[target.pk]), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "status-success" in body and "reachable" in body and "digest" in body


def test_test_connection_of_a_dead_server_says_why(as_admin, unused_port):
    target = Target.objects.create(name="dead", base_url=f"http://127.0.0.1:{unused_port}")
    response = as_admin.post(reverse("target_test", args=[target.pk]), follow=True)
    page = response.content.decode()
    assert "dead: " in page and "msg-error" in page


@pytest.fixture
def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
