"""The migrations build exactly the schema the models describe, on SQLite and on PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import advocacy.all_models  # noqa: F401  (every table on the metadata)
from advocacy.db import get_engine


def test_models_and_migrations_agree(database: str) -> None:
    with get_engine().connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == [], f"run `make migration`: the migrations differ from the models: {differences}"


def test_every_model_table_exists(database: str) -> None:
    from sqlalchemy import inspect

    tables = set(inspect(get_engine()).get_table_names())
    assert set(SQLModel.metadata.tables) <= tables
    assert "alembic_version" in tables
