"""The moderation log: who did what to whom, written once the change is committed."""

from __future__ import annotations

import logging

from snapscale.core.db import UnitOfWork

log = logging.getLogger(__name__)


def record(uow: UnitOfWork, action: str, *, admin_id: int, **targets: int) -> None:
    """Log a moderation action after ``uow`` commits; a rolled-back one did nothing."""
    described = " ".join(f"{name}={value}" for name, value in targets.items())

    async def write() -> None:
        log.info(
            "moderation: admin_id=%s %s %s",
            admin_id,
            action,
            described,
            extra={"admin_id": admin_id, "moderation_action": action, **targets},
        )

    uow.after_commit(write)
