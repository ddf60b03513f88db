"""``/healthz``: the process answers; ``storage`` says whether the database does."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from sqlalchemy import text

from autorl import db
from autorl.api.deps import StorageUrl
from autorl.api.schemas import Health

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


def storage_reachable(url: str) -> bool:
    try:
        with db.session_scope(url) as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "not reachable"; the reason is logged
        log.warning("health check: storage unreachable: %s", exc)
        return False
    return True


@router.get("/healthz", response_model=Health)
def healthz(url: StorageUrl) -> Health:
    return Health(status="ok", storage=storage_reachable(url))
