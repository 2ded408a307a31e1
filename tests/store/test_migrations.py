"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from allocator.store.db import make_engine, prepare
from allocator.store.models import Base


def test_migrated_schema_matches_the_models(db_url: str) -> None:
    engine = make_engine(db_url)
    prepare(engine)
    prepare(engine)  # a second run is a no-op
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []
