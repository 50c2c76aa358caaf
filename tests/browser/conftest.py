"""Browser tests: a real Chromium against Django's live server, runs executed in
background threads of the server process (dispatch mode "thread")."""

import os
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

# Playwright's sync API runs an event loop in this thread; Django's ORM calls from
# the test body are still synchronous and safe.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PASSWORD = "a-long-test-password"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(autouse=True)
def thread_dispatch(settings):
    settings.SCHEDULER = {**settings.SCHEDULER, "DISPATCH": "thread"}
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_login(role: str):
    # Transactional tests flush the tables, groups from the data migration included.
    user = get_user_model().objects.create_user(username=f"{role}-user", password=PASSWORD)
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def log_in(page, live_server, role: str) -> None:
    make_login(role)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(f"{role}-user")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
