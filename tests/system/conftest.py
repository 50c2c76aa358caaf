import pytest

from tests.system.stack import Postgres, Redis, Stack


@pytest.fixture
def sqlite_stack(tmp_path):
    stack = Stack(f"sqlite:///{tmp_path / 'db.sqlite3'}", logs=tmp_path)
    stack.manage("migrate", "--no-input", "-v0")
    yield stack
    stack.stop_all()


@pytest.fixture(scope="session")
def postgres_url():
    server = Postgres()
    url = server.start()
    yield url
    server.stop()


@pytest.fixture
def redis_url():
    server = Redis()
    yield server.start()
    server.stop()
