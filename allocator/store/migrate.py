"""Schema migrations (Alembic), run by the store itself: no alembic.ini to keep around."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

SCRIPTS = Path(__file__).resolve().parent / "migrations"


def _config(connection: object) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest schema."""
    with engine.begin() as connection:
        command.upgrade(_config(connection), "head")


def new_revision(engine: Engine, message: str) -> None:
    """For developers: write a migration for what the models changed (autogenerate)."""
    with engine.begin() as connection:
        command.revision(_config(connection), message=message, autogenerate=True)
