"""Shared test settings: HYPOTHESIS_PROFILE=thorough runs ten times more examples."""

import os

from hypothesis import HealthCheck, settings

_quiet = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
settings.register_profile("default", deadline=None, suppress_health_check=_quiet)
settings.register_profile("thorough", deadline=None, suppress_health_check=_quiet,
                          max_examples=600)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


import pytest  # noqa: E402

# Autouse: any test whose solve needed a budget repair fails (see the module).
from tests.allocator.guards import no_budget_repairs  # noqa: E402, F401


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh, empty database: a SQLite file, then the PostgreSQL server of TEST_POSTGRES_URL.

    `.ci/run` installs and starts PostgreSQL and sets TEST_POSTGRES_URL, so CI runs
    every store and service test on both; without it the PostgreSQL half is skipped.
    """
    return _database(request, tmp_path_factory)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_db_url(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> str:
    """`db_url` shared by a module's tests: for a store built once and only read."""
    return _database(request, tmp_path_factory)


def _database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'store.db'}"
    url = os.environ.get("TEST_POSTGRES_URL")
    if not url:
        pytest.skip("TEST_POSTGRES_URL is not set (CI sets it after starting PostgreSQL)")
    return _fresh_postgres_database(url, request)


def _fresh_postgres_database(url: str, request: pytest.FixtureRequest) -> str:
    """A new database on the server of `url`, dropped when the test ends.

    Each test gets its own, so tests (and test runs side by side) never see each
    other's rows or locks.
    """
    import uuid

    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    name = f"allocator_t_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        import time

        from sqlalchemy.exc import DBAPIError

        # FORCE ends the test's own leftover connections; one the role may not end (the
        # server's autovacuum, say) is waited for a little, and a database it keeps
        # is left to the next run rather than failing this test.
        for wait in (0.5, 1, 2, 4, 0):
            try:
                with admin.connect() as connection:
                    connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                break
            except DBAPIError:
                time.sleep(wait)
        admin.dispose()

    request.addfinalizer(drop)
    return make_url(url).set(database=name).render_as_string(hide_password=False)
