"""Probes for orchestrators: /healthz (the process answers) and /readyz (it can serve).

Outside /api/v4 and untouched by ALLOWED_HOSTS: a probe arrives with the pod's address as
its Host, and neither answer contains a hyperlink that a forged Host could poison.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.errors import error_responses
from app.state import state_of

if TYPE_CHECKING:
    pass

router = APIRouter(tags=["operations"])

_OK_EXAMPLE = {"status": "ok"}
_READY_EXAMPLE = {
    "status": "ok",
    "checks": {
        "database": {"ok": True, "detail": "reachable"},
        "migrations": {"ok": True, "detail": "at head eb8802af9215"},
        "refresher": {"ok": True, "detail": "running"},
    },
}


@router.get(
    "/healthz",
    summary="Liveness: the process answers",
    responses={200: {"content": {"application/json": {"example": _OK_EXAMPLE}}}},
)
async def healthz() -> JSONResponse:
    """200 while the process can answer at all; touches no database, so a database outage
    does not get healthy processes restarted."""
    return JSONResponse(_OK_EXAMPLE)


@router.get(
    "/readyz",
    summary="Readiness: database, migrations, refresher",
    responses={
        200: {"content": {"application/json": {"example": _READY_EXAMPLE}}},
        **error_responses(503),
    },
)
async def readyz(request: Request) -> JSONResponse:
    """200 when the database answers, its schema is at the newest migration and the
    refresher is not stuck; otherwise 503 naming the failing checks."""
    state = state_of(request.app)
    checks = await state.readiness.run(state.engine, getattr(state, "refresher", None))
    report = {name: check.as_json() for name, check in checks.items()}
    failing = [name for name, check in checks.items() if not check.ok]
    if not failing:
        return JSONResponse({"status": "ok", "checks": report})
    body: dict[str, Any] = {
        "status": 503,
        "code": "not_ready",
        "detail": "Not ready: " + "; ".join(f"{n} {checks[n].detail}" for n in failing) + ".",
        "errors": [],
        "checks": report,
    }
    return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})
