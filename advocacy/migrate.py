"""Alembic, driven from code: ``advocacy db upgrade`` and the tests use these."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from advocacy import PROJECT_DIR
from advocacy.settings import get_settings


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(PROJECT_DIR / "migrations"))
    cfg.set_main_option("sqlalchemy.url", (url or get_settings().database_url).replace("%", "%%"))
    return cfg


def upgrade(revision: str = "head", url: str | None = None) -> None:
    command.upgrade(alembic_config(url), revision)
