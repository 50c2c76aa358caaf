"""API tests talk HTTP (requests) to the live server with real tokens.

The live server needs transactional tests. Their flush also removes the rows the
migrations made (role groups, the local target); the code and factories recreate
those on demand, so no serialized rollback (which clashes with content types that a
flush recreates) is needed.
"""

import threading

import pytest
import requests

from scheduler_admin.models import ApiToken
from tests.factories import make_user

LIVE = pytest.mark.django_db(transaction=True)


class Api:
    """HTTP calls with one token; paths are relative to /api/.

    Each call has its own connection (requests.request closes it): a kept-alive one
    would leave a server thread that touches the database after the test is over.
    """

    def __init__(self, base: str, raw_token: str | None):
        self.base = base
        self.headers = {"Authorization": f"Bearer {raw_token}"} if raw_token else {}

    def __getattr__(self, method: str):
        def call(path: str, headers: dict | None = None, **kwargs) -> requests.Response:
            url = f"{self.base}/api/{path}"
            headers = {**self.headers, **(headers or {})}
            return requests.request(method.upper(), url, headers=headers, timeout=10, **kwargs)

        return call


@pytest.fixture
def server(live_server):
    """The live server; after the test, wait for its request threads to end, so none
    touches the database once the test has given it back (the client can have its
    answer before the server thread has closed the request)."""
    before = set(threading.enumerate())
    yield live_server
    # Only this test's request threads: an earlier test's kept-alive connection may hold
    # one open for as long as its client lives.
    for thread in set(threading.enumerate()) - before:
        if thread.name.endswith("(process_request_thread)"):
            thread.join(timeout=10)


def token_for(role: str | None) -> str:
    _, raw = ApiToken.issue(make_user(role), f"{role}-token")
    return raw


@pytest.fixture
def admin_api(server) -> Api:
    return Api(server.url, token_for("admin"))


@pytest.fixture
def operator_api(server) -> Api:
    return Api(server.url, token_for("operator"))


@pytest.fixture
def viewer_api(server) -> Api:
    return Api(server.url, token_for("viewer"))


@pytest.fixture
def anonymous_api(server) -> Api:
    return Api(server.url, None)
