"""Refresh triggers: POST /packages/{key}/refresh/ (a write token) and GitHub push webhooks.

Both lease the package in the request's own transaction and start the fetch once it has
committed (a background task), so the answer is exact (started, or coalesced with a
refresh already running anywhere) and SQLite never waits on itself. The work runs in the
app's refresher (app.state.refresh_service), also when the periodic loop is disabled.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Header, Request
from fastapi.security import APIKeyHeader
from starlette.responses import JSONResponse

from app.deps import SessionDep, SettingsDep, WriteToken
from app.errors import AppError, ErrorBody, MalformedBody, NotFound, error_responses
from app.normalize import normalize_repo_url, repo_url_spellings
from app.refresh import repository
from app.refresh.refresher import RefresherBusy
from app.request_session import take_write_turn
from app.routers.params import Key
from app.schemas.refresh import RefreshAccepted, WebhookAnswer
from app.state import state_of

router = APIRouter()


class RefresherUnavailable(AppError, status=503, code="unavailable"):
    def __init__(self) -> None:
        super().__init__(
            "Too many refreshes are running; retry shortly.", headers={"Retry-After": "5"}
        )


class BadSignature(AppError, status=401, code="bad_signature"):
    pass


def _busy_response(status: int, description: str) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorBody, "description": description}}


async def _start(
    request: Request, session: SessionDep, background: BackgroundTasks, package_id: int
) -> tuple[Literal["started", "already_running"], str]:
    """Lease the package in this request's transaction; start it after the commit. The
    answer's status and detail: `already_running` when a refresh of it is running (here or
    on another replica)."""
    refresher = state_of(request.app).refresh_service
    try:
        claimed = await refresher.claim_on_demand(session, package_id)
    except RefresherBusy:
        raise RefresherUnavailable from None
    if not claimed:
        return "already_running", "A refresh of this package is running."
    background.add_task(refresher.start_on_demand, claimed)
    return "started", "Refreshing now."


@router.post(
    "/packages/{key}/refresh/",
    tags=["packages"],
    status_code=202,
    response_model=RefreshAccepted,
    summary="Refresh a package's metrics now",
    responses={
        **error_responses(401, 403, 404, 429),
        **_busy_response(
            503,
            "Too many refreshes are running in this process, or the database is busy; "
            "retry after `Retry-After` seconds.",
        ),
    },
)
async def refresh_package(
    request: Request,
    key: Key,
    session: SessionDep,
    background: BackgroundTasks,
    _token: WriteToken,
) -> RefreshAccepted:
    """Fetch the package's repository and PyPI figures now, whatever their age or back-off.
    Answers 202 at once; read the package later to see the result (`last_fetched`)."""
    found = await repository.package_by_key(session, key)
    if found is None:
        raise NotFound(f"No package matches {key!r}.")
    package_id, slug = found
    status, detail = await _start(request, session, background, package_id)
    return RefreshAccepted(status=status, package=slug, detail=detail)


# Declared as a security scheme, so the document says how this write is authorized.
github_signature = APIKeyHeader(
    name="X-Hub-Signature-256",
    scheme_name="GitHubSignature",
    auto_error=False,
    description="`sha256=` and the hex HMAC-SHA256 of the raw body, keyed with "
    "GITHUB_WEBHOOK_SECRET, as GitHub sends it.",
)


async def verified_github_body(
    request: Request,
    settings: SettingsDep,
    x_hub_signature_256: Annotated[str | None, Depends(github_signature)],
) -> bytes:
    """The raw body, once its signature proves it comes from GitHub. Checked before any
    database work, so unsigned requests cost nothing."""
    configured = settings.github_webhook_secret
    secret = configured.get_secret_value() if configured else ""
    if not secret:
        raise NotFound("GitHub webhooks are not configured (GITHUB_WEBHOOK_SECRET).")
    body = await request.body()
    if not x_hub_signature_256:
        raise BadSignature("The X-Hub-Signature-256 header is missing.")
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    # Constant time: how much of a guess matched must not show in the time to refuse it.
    if not hmac.compare_digest(expected.encode(), x_hub_signature_256.strip().encode()):
        raise BadSignature("The X-Hub-Signature-256 signature does not match the body.")
    return body


def _ignored(detail: str) -> JSONResponse:
    answer = WebhookAnswer(status="ignored", detail=detail)
    return JSONResponse(answer.model_dump(), status_code=202)


@router.post(
    "/webhooks/github/",
    tags=["webhooks"],
    status_code=202,
    response_model=WebhookAnswer,
    summary="GitHub push webhook",
    # The body is read raw (its signature covers the bytes), so FastAPI cannot infer it.
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "description": "GitHub's event payload; a push names "
                        "`repository.html_url`.",
                        "properties": {
                            "repository": {
                                "type": "object",
                                "properties": {"html_url": {"type": "string"}},
                            }
                        },
                    }
                }
            },
        }
    },
    responses={
        200: {"model": WebhookAnswer, "description": "The answer to GitHub's `ping` event."},
        400: {"model": ErrorBody, "description": "The signed body is not a JSON object."},
        **_busy_response(401, "The X-Hub-Signature-256 header is missing or wrong."),
        **_busy_response(404, "Webhooks are not configured: GITHUB_WEBHOOK_SECRET is unset."),
        **error_responses(429),
        **_busy_response(
            503, "Too many refreshes are running, or the database is busy; GitHub retries."
        ),
    },
)
async def github_webhook(
    request: Request,
    body: Annotated[bytes, Depends(verified_github_body)],
    session: SessionDep,
    background: BackgroundTasks,
    x_github_event: Annotated[
        str | None, Header(description="The event: `push` refreshes, `ping` answers.")
    ] = None,
) -> Any:
    """A push to a repository that a package has refreshes that package now (202
    `started`). Payload URL: `https://HOST/api/v4/webhooks/github/` (with the final slash:
    GitHub does not follow redirects), content type `application/json`, the secret of
    GITHUB_WEBHOOK_SECRET. Other events and unknown repositories are `ignored` (202)."""
    if x_github_event == "ping":
        pong = WebhookAnswer(status="pong", detail="Webhook configured.")
        return JSONResponse(pong.model_dump())
    if x_github_event != "push":
        return _ignored(f"Only push events refresh packages, not {x_github_event or 'none'!r}.")
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise MalformedBody("The body is not a JSON object (send `application/json`).")
    repository_info = payload.get("repository")
    html_url = repository_info.get("html_url") if isinstance(repository_info, dict) else None
    if not isinstance(html_url, str):
        return _ignored("The payload names no repository.html_url.")
    try:
        repo_url = normalize_repo_url(html_url)
    except ValueError:
        return _ignored(f"{html_url!r} is not a repository URL.")
    # Signed and about a repository: only now does it queue to write (SQLite).
    await take_write_turn(request)
    # The normalized URL (as the API stores it) and the spellings an import may have kept.
    spellings = [repo_url, *repo_url_spellings(html_url)]
    found = await repository.package_by_repo_url(session, spellings)
    if found is None:
        return _ignored(f"No package has the repository {repo_url}.")
    package_id, slug = found
    status, detail = await _start(request, session, background, package_id)
    return WebhookAnswer(status=status, package=slug, detail=detail)
