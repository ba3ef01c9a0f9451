"""/api/v4/subscriptions/: outgoing webhooks, managed with an admin token (app/webhooks/)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from app.columns import utcnow
from app.conditional import created, json_response
from app.deps import AdminToken, LinksDep, SessionDep, SettingsDep
from app.errors import READ_ERRORS, WRITE_ERRORS, error_responses
from app.repositories.subscriptions import SubscriptionRepository
from app.schemas.subscription import SubscriptionIn, SubscriptionList, SubscriptionOut
from app.services.subscriptions import SubscriptionService

router = APIRouter(prefix="/subscriptions", tags=["subscriptions"])
ADMIN_READ_ERRORS = error_responses(400, 401, 403, 404, 503)
# An integer column's range: a larger id is a 400, not a database error.
SubscriptionId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The subscription's id.")]


@router.post("/", status_code=201, response_model=SubscriptionOut, responses=WRITE_ERRORS)
async def create_subscription(
    request: Request,
    body: SubscriptionIn,
    session: SessionDep,
    links: LinksDep,
    settings: SettingsDep,
    _token: AdminToken,
) -> Response:
    """Subscribe a URL to change events. The answer carries the secret, once."""
    subscription, secret = await SubscriptionService(session).create(
        body, base_url=links.base, allow_private=settings.webhook_allow_private
    )
    out = SubscriptionOut.of(subscription, secret=secret)
    return created(request, out, f"{links.api}/subscriptions/{subscription.id}/")


@router.get("/", response_model=SubscriptionList, responses=ADMIN_READ_ERRORS)
async def list_subscriptions(request: Request, session: SessionDep, _token: AdminToken) -> Response:
    rows = await SubscriptionRepository(session).all()
    return json_response(request, SubscriptionList(results=[SubscriptionOut.of(s) for s in rows]))


@router.get("/{subscription_id}/", response_model=SubscriptionOut, responses=ADMIN_READ_ERRORS)
async def get_subscription(
    request: Request, subscription_id: SubscriptionId, session: SessionDep, _token: AdminToken
) -> Response:
    """The subscription and its delivery log (the 50 newest deliveries)."""
    repository = SubscriptionRepository(session)
    subscription = await repository.get(subscription_id)
    deliveries = await repository.recent_deliveries(subscription_id)
    return json_response(request, SubscriptionOut.of(subscription, deliveries=deliveries))


@router.delete("/{subscription_id}/", status_code=204, responses=READ_ERRORS | WRITE_ERRORS)
async def delete_subscription(
    subscription_id: SubscriptionId, session: SessionDep, _token: AdminToken
) -> Response:
    subscription = await SubscriptionRepository(session).get(subscription_id, for_update=True)
    await SubscriptionService(session).delete(subscription)
    return Response(status_code=204)


@router.post(
    "/{subscription_id}/enable/",
    response_model=SubscriptionOut,
    responses=READ_ERRORS | WRITE_ERRORS,
    summary="Re-enable a disabled subscription",
)
async def enable_subscription(
    request: Request, subscription_id: SubscriptionId, session: SessionDep, _token: AdminToken
) -> Response:
    """Resume a subscription the sender disabled after 24 h of failed attempts: it is
    active again, its `disabled_reason` cleared, and delivery resumes where it stopped,
    the failed delivery first (same id) with a fresh 24 h of retries, then the changes
    after it in order. An active subscription is answered as it is."""
    repository = SubscriptionRepository(session)
    subscription = await repository.get(subscription_id, for_update=True)
    await SubscriptionService(session).enable(subscription, now=utcnow())
    deliveries = await repository.recent_deliveries(subscription_id)
    return json_response(request, SubscriptionOut.of(subscription, deliveries=deliveries))
