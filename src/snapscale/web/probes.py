"""/healthz and /readyz for a site process of its own (embedded mode sends both to the API).

The answers are the API's: JSON for load balancers and orchestrators, a problem+json
document when not ready, never a page.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from snapscale.core import health
from snapscale.web.core_access import site_core

bp = Blueprint("probes", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify(health.LIVE)


@bp.get("/readyz")
def readyz() -> Response:
    core = site_core()
    readiness = core.bridge.call(health.check_readiness, core.runtime)
    if readiness.ready:
        response = jsonify(readiness.as_dict())
    else:
        response = jsonify(
            type="urn:snapscale:problem:not-ready",
            title="Not ready",
            status=503,
            detail=readiness.failures(),
            instance=request.path,
        )
        response.status_code = 503
        response.mimetype = "application/problem+json"
    response.headers["Cache-Control"] = "no-store"
    return response
