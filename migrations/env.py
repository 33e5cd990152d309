"""Alembic environment: the target metadata is every SQLModel table of the project."""

from pathlib import Path

from alembic import context
from sqlalchemy import engine_from_config, pool
from sqlmodel import SQLModel

import advocacy.all_models  # noqa: F401

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url") or ""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        # A fresh clone has no var/ folder yet: SQLite needs the file's folder to exist.
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with connectable.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True, compare_type=True
        )
        with context.begin_transaction():
            context.run_migrations()
            # The CitiPAC ledger's append-only triggers: DDL autogenerate cannot emit, re-created idempotently.
            from advocacy.citipac.models import install_ledger_guards

            install_ledger_guards(connection)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
