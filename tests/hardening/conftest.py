import pytest

from tests.system.stack import Postgres


@pytest.fixture(scope="session")
def postgres_url():
    """One throwaway PostgreSQL server for the session (started as `postgres`)."""
    server = Postgres()
    url = server.start()
    yield url
    server.stop()
