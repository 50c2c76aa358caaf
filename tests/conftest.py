import pytest

from tests.factories import make_user


@pytest.fixture
def viewer(db):
    return make_user("viewer")


@pytest.fixture
def operator(db):
    return make_user("operator")


@pytest.fixture
def admin_user(db):
    return make_user("admin")
