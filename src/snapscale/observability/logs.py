"""One log format for the whole process: ours, uvicorn's, gunicorn's, Celery's, SQLAlchemy's.

Every line goes through the standard library's logging, and one handler on the root
logger renders it with structlog's ProcessorFormatter: JSON lines in production (one
object per line, ready for a log pipeline) or readable console lines in embedded mode.
The formatter adds the time, level, logger name, the request or job the line belongs to
(structlog's context variables, see context.py) and the fields a call passes as
``extra=``, so our own events stay plain ``logging`` calls:

    log.info("request", extra={"status": 200, "route": "/u/<username>"})
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from snapscale.config import Settings

LogFormat = Literal["json", "console"]

ACCESS_LOGGER = "snapscale.access"
JOBS_LOGGER = "snapscale.jobs"

# Libraries that give these loggers handlers of their own (and stop propagation); their
# lines are sent to the root handler instead, so they share the format.
_LIBRARY_LOGGERS = ("uvicorn", "uvicorn.error", "gunicorn.error", "celery")
# Our access line (one per request, with the route and the account) replaces these.
_REPLACED_ACCESS_LOGGERS = ("uvicorn.access", "gunicorn.access")
# Libraries that narrate routine work at info level (libvips: every step of every image).
_QUIETED_LOGGERS = {"pyvips": logging.WARNING}
# ``extra`` keys some libraries add that only repeat the message.
_NOISY_EXTRAS = ("color_message",)

_access_log = logging.getLogger(ACCESS_LOGGER)
# What log_request gives each access line (JsonLines renders exactly these).
_ACCESS_FIELDS = (
    "request_id",
    "user_id",
    "app",
    "method",
    "route",
    "path",
    "status",
    "duration_ms",
)


def log_format(settings: Settings) -> LogFormat:
    """``auto`` means JSON in production (PostgreSQL), console lines in embedded mode."""
    if settings.log_format == "auto":
        return "json" if settings.is_postgres else "console"
    return settings.log_format


def configure_logging(settings: Settings, *, stream: TextIO | None = None) -> None:
    """Send every log line of this process to ``stream`` (stderr) in the configured format.

    Safe to call again (a forked server worker does, after its server set up its own
    loggers): the previous root handlers are replaced."""
    root = logging.getLogger()
    root.handlers = [log_handler(settings, stream if stream is not None else sys.stderr)]
    root.setLevel(settings.log_level.upper())
    for name in _LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        library.handlers = []
        library.propagate = True
    for name in _REPLACED_ACCESS_LOGGERS:
        replaced = logging.getLogger(name)
        replaced.handlers = []
        replaced.propagate = False
    for name, level in _QUIETED_LOGGERS.items():
        logging.getLogger(name).setLevel(level)
    logging.captureWarnings(True)
    # Code that logs through structlog's own API ends up in the same handler.
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def log_handler(settings: Settings, stream: TextIO) -> logging.Handler:
    """A handler writing each record as one line in the configured format."""
    chosen = log_format(settings)
    formatter = JsonLines if chosen == "json" else structlog.stdlib.ProcessorFormatter
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        formatter(
            foreign_pre_chain=_shared_processors(),
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *_renderers(chosen, stream),
            ],
        )
    )
    return handler


class JsonLines(structlog.stdlib.ProcessorFormatter):
    """JSON lines, with the access line (one per request) rendered directly.

    The processor chain costs several times what the request it describes costs when
    that request is a cached read. The access line's fields are all given by the caller
    (request id and account included), so the same object is built without it."""

    def format(self, record: logging.LogRecord) -> str:
        if record.name != ACCESS_LOGGER or record.exc_info:
            return super().format(record)
        line: dict[str, Any] = {"event": record.getMessage()}
        for field in _ACCESS_FIELDS:
            line[field] = getattr(record, field, None)
        line["logger"] = record.name
        line["level"] = record.levelname.lower()
        created = datetime.fromtimestamp(record.created, UTC).isoformat()
        line["timestamp"] = created.replace("+00:00", "Z")
        return json.dumps(line)


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.stdlib.ExtraAdder(),
        _drop_noisy_extras,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def _renderers(chosen: LogFormat, output: TextIO) -> list[Processor]:
    if chosen == "json":
        return [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    # Plain tracebacks: structlog's default (Rich, when installed) prints every frame's
    # local variables, which can hold passwords and tokens, runs to tens of thousands of
    # lines for one error, and blocks the event loop for most of a minute rendering them.
    return [
        structlog.dev.ConsoleRenderer(
            colors=_is_terminal(output), exception_formatter=structlog.dev.plain_traceback
        )
    ]


def _is_terminal(output: TextIO) -> bool:
    try:
        return output.isatty()
    except ValueError:  # a closed stream
        return False


def _drop_noisy_extras(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
    for key in _NOISY_EXTRAS:
        event.pop(key, None)
    return event


def log_request(
    *,
    front_end: str,
    request_id: str | None,
    method: str,
    route: str,
    path: str,
    status: int,
    duration_seconds: float,
    user_id: str | None,
) -> None:
    """The one access line of a request."""
    _access_log.info(
        "request",
        extra={
            "app": front_end,
            "request_id": request_id,
            "method": method,
            "route": route,
            "path": path,
            "status": status,
            "duration_ms": round(duration_seconds * 1000, 2),
            "user_id": user_id,
        },
    )
