"""The `snapscale` command."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from snapscale.config import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from celery import Celery


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


@contextmanager
def _plain_errors(settings: Settings) -> Iterator[None]:
    """Turn a database or file-system failure into one readable line, not a traceback."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    try:
        yield
    except (DBAPIError, OperationalError) as exc:
        reason = str(exc.orig or exc).splitlines()[0]
        raise click.ClickException(f"database error ({_where(settings)}): {reason}") from None
    except OSError as exc:
        detail = f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
        raise click.ClickException(f"cannot use {_where(settings)}: {detail}") from None


def _where(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.effective_database_url).render_as_string(hide_password=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="snapscale")
def main() -> None:
    """Snapscale: a photo-sharing web application built to scale out."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--no-migrate", is_flag=True, help="Do not upgrade the database schema first.")
def serve(host: str, port: int, no_migrate: bool) -> None:
    """Serve the API, its docs and the site from one process."""
    import uvicorn

    from snapscale.core.migrate import upgrade
    from snapscale.embedded import EmbeddedApp

    settings = _settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    if not no_migrate:
        with _plain_errors(settings):
            upgrade(settings)
    click.echo(f"Snapscale on http://{host}:{port}/  (API docs at http://{host}:{port}/docs)")
    uvicorn.run(
        EmbeddedApp(settings),
        host=host,
        port=port,
        log_level=settings.log_level,
        proxy_headers=False,
        timeout_graceful_shutdown=10,
    )


@main.command()
@click.option(
    "--concurrency", "-c", type=click.IntRange(1, 256), help="Worker processes [default: CPUs]."
)
@click.option(
    "--pool",
    type=click.Choice(["prefork", "solo", "threads"]),
    default="prefork",
    show_default=True,
    help="prefork survives a crashing job; solo runs jobs in this process.",
)
def worker(concurrency: int | None, pool: str) -> None:
    """Run background jobs (photo processing, clean-up) from the broker."""
    from snapscale.worker.sender import QUEUE

    app = _celery()
    argv = ["worker", f"--loglevel={_settings().log_level}", f"--pool={pool}"]
    argv += [f"--queues={QUEUE}", "--without-gossip", "--without-mingle"]
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    app.worker_main(argv)


@main.command()
def beat() -> None:
    """Send the scheduled jobs (the sweep that re-sends lost work); run exactly one."""
    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _celery().start(
        [
            "beat",
            f"--loglevel={settings.log_level}",
            f"--schedule={settings.data_dir / 'celerybeat-schedule'}",
        ]
    )


def _celery() -> Celery:
    from snapscale.worker.celery_app import create_celery

    settings = _settings()
    if settings.broker_url is None:
        raise click.ClickException(
            "SNAPSCALE_BROKER_URL is not set; in embedded mode `snapscale serve` runs the "
            "background jobs itself."
        )
    return create_celery(settings)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Upgrade the schema to REVISION (default: the newest)."""
    from snapscale.core.migrate import upgrade

    settings = _settings()
    with _plain_errors(settings):
        upgrade(settings, revision)
    click.echo(f"database upgraded to {revision}")


@db.command("current")
def db_current() -> None:
    """Show the schema revision the database is at."""
    from snapscale.core.migrate import current

    settings = _settings()
    with _plain_errors(settings):
        current(settings)


@main.command("create-admin")
@click.option("--username", prompt=True)
@click.option("--email", prompt=True)
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    envvar="SNAPSCALE_ADMIN_PASSWORD",
    help="Prompted for when not given.",
)
def create_admin(username: str, email: str, password: str) -> None:
    """Create an administrator account."""
    from pydantic import ValidationError

    from snapscale.core.accounts import service as account_service
    from snapscale.core.accounts.schemas import Registration
    from snapscale.core.errors import DomainError
    from snapscale.core.runtime import Runtime

    settings = _settings()
    try:
        data = Registration(username=username, email=email, password=password)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "input"
        raise click.ClickException(
            f"{field}: {first['msg'].removeprefix('Value error, ')}"
        ) from None

    async def create() -> None:
        runtime = Runtime(settings)
        try:
            await runtime.run(account_service.register, data=data, is_admin=True)
        finally:
            await runtime.aclose()

    try:
        with _plain_errors(settings):
            if not settings.is_postgres:
                # Embedded mode may run this before the first `serve`: make the schema first.
                from snapscale.core.migrate import upgrade

                upgrade(settings)
            asyncio.run(create())
    except DomainError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(f"administrator @{data.username} created")


@main.command("seed-demo")
@click.option(
    "--users",
    "user_count",
    type=click.IntRange(min=2, max=100_000),
    default=200,
    show_default=True,
    help="Accounts to create, the celebrity included.",
)
@click.option(
    "--photos-per-user",
    type=click.IntRange(0, 100),
    default=3,
    show_default=True,
    help="Average photos per account (a few post many, many post few).",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same demo.")
@click.option(
    "--celebrity-followers",
    type=click.IntRange(min=0),
    default=5000,
    show_default=True,
    help="Followers of demo_celebrity (at most everyone else).",
)
def seed_demo(user_count: int, photos_per_user: int, seed: int, celebrity_followers: int) -> None:
    """Fill an empty database with demo accounts, follows, photos, likes and comments."""
    from snapscale.demo.seed import DemoAlreadySeeded, Options
    from snapscale.demo.seed import seed_demo as seed_database

    settings = _settings()
    options = Options(
        users=user_count,
        photos_per_user=photos_per_user,
        seed=seed,
        celebrity_followers=celebrity_followers,
    )
    try:
        with _plain_errors(settings):
            if not settings.is_postgres:
                # Embedded mode may run this before the first `serve`: make the schema first.
                from snapscale.core.migrate import upgrade

                upgrade(settings)
            summary = asyncio.run(seed_database(settings, options, progress=click.echo))
    except DemoAlreadySeeded as exc:
        raise click.ClickException(str(exc)) from None
    for line in summary.lines():
        click.echo(line)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
