"""Alembic, driven from code: `snapscale db upgrade` and embedded start-up call this."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from snapscale.config import Settings


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", "snapscale:migrations")
    config.attributes["settings"] = settings
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    if not settings.is_postgres:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(settings), revision)


def current(settings: Settings) -> None:
    command.current(alembic_config(settings), verbose=False)
