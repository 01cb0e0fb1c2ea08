"""The `snapscale` command."""

from __future__ import annotations

import asyncio
import os
import platform
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Literal

import click
from click.core import ParameterSource

from snapscale.config import Settings, SettingsError, load_settings
from snapscale.production.options import SITE_THREADS

if TYPE_CHECKING:
    from celery import Celery

MALLOC_ARENAS = "2"


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
@click.option("--api", "api_only", is_flag=True, help="Production: the API alone, on gunicorn.")
@click.option("--web", "web_only", is_flag=True, help="Production: the site alone, on gunicorn.")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Embedded: address to listen on."
)
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Embedded."
)
@click.option(
    "--no-migrate", is_flag=True, help="Embedded: do not upgrade the database schema first."
)
@click.option(
    "--bind",
    metavar="HOST:PORT",
    help="--api/--web: where to listen, or unix:PATH "
    "[default: 127.0.0.1:8000 for --api, 127.0.0.1:8001 for --web].",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    help="--api/--web: worker processes [default: CPUs for --api, CPUs + 1 for --web].",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 256),
    help=f"--web: threads per worker [default: {SITE_THREADS}].",
)
def serve(
    api_only: bool,
    web_only: bool,
    host: str,
    port: int,
    no_migrate: bool,
    bind: str | None,
    workers: int | None,
    threads: int | None,
) -> None:
    """Serve the API, its docs and the site.

    Without --api or --web: everything from one process (embedded mode), after
    upgrading the database schema.

    With --api or --web: a production server (gunicorn) for that half alone; run one of
    each behind a load balancer. It never touches the schema: run `snapscale db upgrade`
    once per release, before starting the new servers. On SIGTERM it stops accepting,
    lets requests in flight finish (up to SNAPSCALE_GRACEFUL_TIMEOUT_SECONDS) and exits 0.
    """
    settings = _settings()
    if api_only or web_only:
        _serve_production(settings, "api" if api_only else "web", bind, workers, threads)
        return
    for name, value in (("--bind", bind), ("--workers", workers), ("--threads", threads)):
        if value is not None:
            raise click.UsageError(f"{name} needs --api or --web.")

    import uvicorn

    from snapscale.core.migrate import upgrade
    from snapscale.embedded import EmbeddedApp
    from snapscale.observability.logs import configure_logging
    from snapscale.observability.sentry import init_sentry

    configure_logging(settings)
    if not no_migrate:
        with _plain_errors(settings):
            upgrade(settings)
    init_sentry(settings, "embedded")
    click.echo(f"Snapscale on http://{host}:{port}/  (API docs at http://{host}:{port}/docs)")
    uvicorn.run(
        EmbeddedApp(settings),
        host=host,
        port=port,
        log_level=settings.log_level,
        log_config=None,  # uvicorn's lines go through configure_logging's format
        access_log=False,  # the app writes one access line per request itself
        proxy_headers=False,
        timeout_graceful_shutdown=10,
    )


def _serve_production(
    settings: Settings,
    kind: Literal["api", "web"],
    bind: str | None,
    workers: int | None,
    threads: int | None,
) -> None:
    from snapscale.production import gunicorn_app
    from snapscale.production.options import DEFAULT_BIND, ServerOptions, default_workers

    context = click.get_current_context()
    if context.params["api_only"] and context.params["web_only"]:
        raise click.UsageError("Choose one of --api or --web: run one server for each.")
    for name in ("host", "port", "no_migrate"):
        if context.get_parameter_source(name) is not ParameterSource.DEFAULT:
            option = "--" + name.replace("_", "-")
            raise click.UsageError(
                f"{option} is for the embedded server; --api and --web take --bind and "
                "never migrate (run `snapscale db upgrade`)."
            )
    if kind == "api" and threads is not None:
        raise click.UsageError("--threads is for --web; API workers are async.")
    options = ServerOptions(
        kind=kind,
        bind=bind or DEFAULT_BIND[kind],
        workers=workers or default_workers(kind),
        threads=threads or SITE_THREADS,
    )
    gunicorn_app.run(settings, options)


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
    """Run background jobs (photo processing, clean-up) from the broker.

    SIGTERM is a warm shutdown: no new job is taken, the running ones finish, then the
    worker exits 0 (a repeated SIGTERM changes nothing). SIGQUIT is a cold shutdown: the
    running jobs stop and go straight back to the queue. After SIGKILL a running job was
    never acknowledged: Redis hands it to another worker after
    SNAPSCALE_JOB_VISIBILITY_TIMEOUT_SECONDS, AMQP as soon as the connection drops.
    """
    _limit_malloc_arenas()  # may start this command again: before anything else
    from snapscale.observability.processes import prepare_worker_process

    # First: it decides how metrics are stored, before the imports below load them.
    prepare_worker_process(_settings())
    from snapscale.observability.sentry import init_sentry
    from snapscale.worker.sender import QUEUE

    app = _celery()
    settings = _settings()
    init_sentry(settings, "worker")
    argv = ["worker", f"--loglevel={settings.log_level}", f"--pool={pool}"]
    argv += [f"--queues={QUEUE}", "--without-gossip", "--without-mingle"]
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    app.worker_main(argv)


def _limit_malloc_arenas() -> None:
    """Image work in many threads makes glibc keep a memory arena per thread, and a
    worker's memory grows with them; two arenas keep it flat. glibc reads
    MALLOC_ARENA_MAX only as a process starts, so when it is not set the worker starts
    itself again with it: same pid, same arguments, so signals still reach it."""
    if "MALLOC_ARENA_MAX" in os.environ or platform.libc_ver()[0] != "glibc":
        return
    os.environ["MALLOC_ARENA_MAX"] = MALLOC_ARENAS
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, sys.orig_argv)  # noqa: S606 (this very command, again)  # nosec B606


@main.command()
def beat() -> None:
    """Send the scheduled jobs (the sweep that re-sends lost work); run exactly one."""
    from snapscale.observability.logs import configure_logging

    settings = _settings()
    configure_logging(settings)
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


@main.command()
@click.option("--api", "api_count", default=2, show_default=True, type=click.IntRange(1, 8))
@click.option("--web", "web_count", default=2, show_default=True, type=click.IntRange(1, 8))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 8))
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--base-port",
    default=18000,
    show_default=True,
    type=click.IntRange(1024, 65000),
    help="The replicas listen on ports from here up (api +1.., web +101.., worker metrics +201..).",
)
def cluster(api_count: int, web_count: int, workers: int, port: int, base_port: int) -> None:
    """Run the production topology on this machine: nginx balancing API and site replicas,
    Celery workers and beat, against the configured PostgreSQL and Redis. Ctrl-C stops it."""
    import signal

    from snapscale.cluster import Cluster, ClusterError, Shape

    settings = _settings()
    shape = Shape(api=api_count, web=web_count, workers=workers, port=port, base_port=base_port)
    try:
        running = Cluster(settings, shape)
    except ClusterError as exc:
        raise click.ClickException(str(exc)) from None
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: running.request_stop())
    try:
        with _plain_errors(settings):
            running.start()
        click.echo(f"Snapscale cluster ready on {running.url}  (logs in {running.workdir}/logs)")
        dead = running.watch()
    except ClusterError as exc:
        running.stop()
        raise click.ClickException(str(exc)) from None
    running.stop()
    if dead is not None:
        raise click.ClickException(
            f"{dead.name} exited on its own; the cluster was stopped (see {running.log_of(dead)})"
        )
    click.echo("Snapscale cluster stopped.")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
