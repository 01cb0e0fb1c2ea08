"""All of Snapscale's settings, read once from the environment (prefix SNAPSCALE_) or `.env`.

The defaults are the embedded mode: SQLite and a media folder under ``data_dir``, an
in-process cache and no servers to run. Production sets the URLs of real services.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from limits import parse_many
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "SNAPSCALE_"

_DRIVER_FOR_SCHEME = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", frozen=True
    )

    data_dir: Path = Field(
        Path("var"), description="Folder for the embedded database, media and sessions."
    )
    database_url: str | None = Field(
        None,
        description="postgresql+asyncpg://user:pass@host/db in production; "
        "default is a SQLite file in data_dir.",
    )
    redis_url: str | None = Field(
        None,
        description="redis://host:6379/0 for the shared cache and sessions; "
        "default is an in-process cache.",
    )
    redis_prefix: str = Field(
        "snapscale:", description="Prefix of every Redis key Snapscale writes."
    )
    redis_timeout_seconds: float = Field(
        0.25, gt=0, le=10, description="Connect and read timeout of every Redis call."
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Signs tokens and cookies. Required with PostgreSQL; "
        "embedded mode keeps a generated one in data_dir.",
    )
    two_factor_keys: SecretStr | None = Field(
        None,
        description="Comma-separated Fernet keys sealing authenticator-app secrets at rest: "
        "the first seals, every one opens. Unset: one derived from the secret key.",
    )
    access_token_ttl_seconds: int = Field(900, ge=60, le=86_400)
    refresh_token_ttl_days: int = Field(30, ge=1, le=365)
    profile_cache_ttl_seconds: int = Field(300, ge=1, le=86_400)
    node_id: int | None = Field(
        None, ge=0, le=1023, description="Id-generator node (0-1023); random per process if unset."
    )
    db_pool_size: int = Field(10, ge=1, le=200)
    db_max_overflow: int = Field(10, ge=0, le=200)
    db_pool_timeout_seconds: float = Field(5.0, gt=0, le=60)
    db_command_timeout_seconds: float = Field(
        10.0,
        gt=0,
        le=600,
        description="Longest one query may take before its request is refused (503): "
        "a frozen database fails requests instead of hanging them. Migrations are exempt.",
    )
    cookie_secure: bool = Field(False, description="Send cookies only over HTTPS.")
    forwarded_allow_ips: str = Field(
        "",
        description="Comma-separated addresses or networks of the proxies whose "
        "X-Forwarded-For and X-Forwarded-Proto are believed (unix: the proxy in front of "
        "a unix socket); empty believes none.",
    )
    cors_origins: str = Field(
        "",
        description="Comma-separated origins whose pages may call the API; "
        "empty sends no CORS headers.",
    )

    # Rates in the limits notation: "10/minute", or several at once: "10/minute;100/hour".
    rate_limits_enabled: bool = Field(True, description="Refuse clients over the limits below.")
    rate_limit_per_ip: str = Field(
        "1200/minute", description="Requests per client address, API and site together."
    )
    rate_limit_per_account: str = Field(
        "1200/minute", description="Requests per signed-in account, API and site together."
    )
    rate_limit_login: str = Field(
        "10/minute", description="Log-in attempts (site and API token) per client address."
    )
    rate_limit_login_per_account: str = Field(
        "10/minute;50/hour",
        description="Log-in attempts and password-change checks per account (its username "
        "and email alike), from anywhere.",
    )
    rate_limit_register: str = Field(
        "30/hour", description="Sign-ups and email changes per client address."
    )
    rate_limit_refresh: str = Field(
        "30/minute", description="Refresh-token exchanges per client address."
    )
    rate_limit_uploads: str = Field("100/hour", description="Photo uploads per account.")
    rate_limit_two_factor: str = Field(
        "5/minute;30/hour",
        description="Second-factor code attempts per account (log-in, and the settings "
        "that need a code), API and site together.",
    )

    storage_url: str | None = Field(
        None,
        description="s3://bucket[/prefix] for an S3-compatible store; default is data_dir/media.",
    )
    s3_endpoint_url: str | None = Field(
        None, description="Endpoint of a non-AWS store (MinIO, R2, ...); unset means AWS."
    )
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    media_base_url: str | None = Field(
        None,
        description="Public (CDN) base URL of the bucket; unset serves presigned URLs instead.",
    )
    presigned_url_seconds: int = Field(3600, ge=60, le=604_800)
    upload_max_bytes: int = Field(25 * 1024 * 1024, ge=1024, le=1024**3)
    image_max_pixels: int = Field(50_000_000, ge=10_000, le=1_000_000_000)

    broker_url: str | None = Field(
        None,
        description="Celery broker (redis:// or amqp://); unset runs jobs in-process "
        "after the response.",
    )
    job_visibility_timeout_seconds: int = Field(
        300, ge=5, le=86_400, description="Redis broker: redeliver a job unacknowledged this long."
    )
    job_max_attempts: int = Field(3, ge=1, le=20)
    job_time_limit_seconds: int = Field(
        120,
        ge=1,
        description="Celery workers (prefork pool): a job running longer has its process "
        "replaced and goes back to the queue at once, using up one of a photo's attempts. "
        "Must be below the visibility timeout.",
    )

    feed_fanout_max_followers: int = Field(
        10_000,
        ge=0,
        description="Accounts with more followers are not fanned out; their photos are "
        "merged into feeds at read time.",
    )
    timeline_capacity: int = Field(800, ge=10, le=100_000)
    timeline_ttl_seconds: int = Field(3 * 86_400, ge=60)
    photo_cache_ttl_seconds: int = Field(60, ge=1, le=86_400)
    near_cache_max_age_seconds: int = Field(
        30,
        ge=0,
        le=300,
        description="With Redis: each process keeps hot cache entries in memory for at most "
        "this long (invalidations are broadcast at once; this bounds a lost one); 0 disables.",
    )
    explore_cache_ttl_seconds: int = Field(60, ge=1, le=3_600)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["auto", "json", "console"] = Field(
        "auto",
        description="json: one JSON object per line; console: readable lines; "
        "auto: json with PostgreSQL, console in embedded mode.",
    )
    worker_metrics_port: int = Field(
        9808,
        ge=0,
        le=65535,
        description="Port on which `snapscale worker` serves Prometheus metrics; 0 turns it off.",
    )

    ready_timeout_seconds: float = Field(
        1.0, gt=0, le=30, description="How long /readyz waits for each dependency."
    )
    graceful_timeout_seconds: int = Field(
        30,
        ge=1,
        le=3_600,
        description="serve --api/--web: on SIGTERM, in-flight requests get this long to finish.",
    )
    sentry_dsn: str | None = Field(
        None, description="Sentry DSN; unset sends nothing and leaves the SDK uninitialised."
    )
    sentry_environment: str | None = Field(
        None, description="Sentry environment tag (production, staging...)."
    )
    sentry_traces_sample_rate: float = Field(
        0.0, ge=0, le=1, description="Share of requests and jobs traced to Sentry."
    )

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, url: str | None) -> str | None:
        if url is None:
            return None
        scheme, sep, rest = url.partition("://")
        if not sep or scheme not in _DRIVER_FOR_SCHEME:
            raise ValueError("must start with postgresql:// or sqlite:///")
        return f"{_DRIVER_FOR_SCHEME[scheme]}://{rest}"

    @field_validator("redis_url")
    @classmethod
    def _known_redis(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return url

    @field_validator("storage_url")
    @classmethod
    def _known_storage(cls, url: str | None) -> str | None:
        if url is not None and (not url.startswith("s3://") or len(url) <= len("s3://")):
            raise ValueError("must look like s3://bucket or s3://bucket/prefix")
        return url

    @field_validator("broker_url")
    @classmethod
    def _known_broker(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("redis://", "rediss://", "amqp://", "amqps://")):
            raise ValueError("must start with redis://, rediss://, amqp:// or amqps://")
        return url

    @field_validator(
        "rate_limit_per_ip",
        "rate_limit_per_account",
        "rate_limit_login",
        "rate_limit_login_per_account",
        "rate_limit_register",
        "rate_limit_refresh",
        "rate_limit_uploads",
        "rate_limit_two_factor",
    )
    @classmethod
    def _rate_notation(cls, rate: str) -> str:
        try:
            items = parse_many(rate)
        except ValueError:
            raise ValueError(
                f"{rate!r} is not a rate like 10/minute or 10/minute;100/hour"
            ) from None
        if any(item.amount < 1 for item in items):
            raise ValueError(
                f"{rate!r} allows nothing (SNAPSCALE_RATE_LIMITS_ENABLED=false turns limits off)"
            )
        return rate

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _known_proxies(cls, value: str) -> str:
        for entry in split_list(value):
            if entry == "unix":  # the proxy in front of a unix-socket bind
                continue
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an IP address, a network (like 10.0.0.0/8) or unix"
                ) from None
        return value

    @field_validator("cors_origins")
    @classmethod
    def _known_origins(cls, value: str) -> str:
        for origin in split_list(value):
            scheme, sep, host = origin.partition("://")
            if origin != "*" and (
                scheme not in ("http", "https") or not sep or not host or "/" in host
            ):
                raise ValueError(
                    f"{origin!r} is not an origin like https://app.example.com "
                    "(scheme, host and port only) or *"
                )
        return value

    @field_validator("sentry_dsn")
    @classmethod
    def _known_sentry_dsn(cls, dsn: str | None) -> str | None:
        # An empty value (SNAPSCALE_SENTRY_DSN= in a compose file) means "off", not an error.
        if not dsn:
            return None
        if not dsn.startswith(("https://", "http://")):
            raise ValueError("must look like https://<key>@<host>/<project>")
        return dsn

    @field_validator("two_factor_keys")
    @classmethod
    def _fernet_keys(cls, keys: SecretStr | None) -> SecretStr | None:
        if keys is None:
            return None
        found = [key.strip() for key in keys.get_secret_value().split(",") if key.strip()]
        if not found:
            return None  # empty (SNAPSCALE_TWO_FACTOR_KEYS= in a compose file): the default
        for position, key in enumerate(found, start=1):
            try:
                decoded = base64.urlsafe_b64decode(key.encode())
            except (ValueError, binascii.Error):
                decoded = b""
            if len(decoded) != 32:
                # The value is a secret: say which key is wrong, never what it holds.
                raise ValueError(
                    f"key {position} is not a Fernet key (32 bytes, URL-safe base64, as "
                    "Fernet.generate_key() makes)"
                )
        return SecretStr(",".join(found))

    @model_validator(mode="after")
    def _production_needs_a_secret(self) -> Settings:
        if self.is_postgres and self.secret_key is None:
            raise ValueError(
                "SNAPSCALE_SECRET_KEY is required when SNAPSCALE_DATABASE_URL is PostgreSQL"
            )
        return self

    @model_validator(mode="after")
    def _jobs_stop_before_they_are_redelivered(self) -> Settings:
        # A job still running at the visibility timeout is given to a second worker: the
        # time limit is what keeps a slow photo from running twice at once.
        if self.job_time_limit_seconds >= self.job_visibility_timeout_seconds:
            raise ValueError(
                f"SNAPSCALE_JOB_TIME_LIMIT_SECONDS ({self.job_time_limit_seconds}) must be "
                "below SNAPSCALE_JOB_VISIBILITY_TIMEOUT_SECONDS "
                f"({self.job_visibility_timeout_seconds}), or a job still running would be "
                "given to a second worker"
            )
        return self

    @property
    def trusted_proxies(self) -> list[str]:
        return split_list(self.forwarded_allow_ips)

    @property
    def cors_origin_list(self) -> list[str]:
        return split_list(self.cors_origins)

    @property
    def is_postgres(self) -> bool:
        return (self.database_url or "").startswith("postgresql")

    @property
    def effective_database_url(self) -> str:
        if self.database_url is not None:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'snapscale.db').resolve()}"

    @cached_property
    def signing_key(self) -> str:
        """The secret key, or the embedded one generated on first start and kept in data_dir."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


def split_list(value: str) -> list[str]:
    """The entries of a comma-separated setting, blanks dropped."""
    return [entry.strip() for entry in value.split(",") if entry.strip()]


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line naming it."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    if not field:
        return f"invalid settings: {message}"
    return f"invalid setting {ENV_PREFIX}{field.upper()}: {message}"
