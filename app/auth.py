"""Who may write: bearer tokens with a scope. Reads stay public."""

from __future__ import annotations

from fastapi import Request
from fastapi.security import HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import without_write_intent
from app.errors import Forbidden, Unauthorized
from app.models import ApiToken
from app.repositories.tokens import TokenRepository
from app.request_session import take_write_turn
from app.services.tokens import has_scope
from app.state import state_of

# Declares the scheme in the OpenAPI document (the docs page's Authorize button). We read
# the header ourselves because we also accept DRF's `Token <key>` spelling.
bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="BearerToken",
    description="`Authorization: Bearer <token>` (or `Token <token>`); "
    "create one with `packages-api tokens create NAME --scope write`.",
)


def token_from_header(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() not in {"bearer", "token"} or not value.strip():
        raise Unauthorized("Use `Authorization: Bearer <token>`.", invalid_token=True)
    return value.strip()


async def authenticate(request: Request, session: AsyncSession, needed: str) -> ApiToken:
    plain = token_from_header(request)
    if plain is None:
        raise Unauthorized("Writing needs a token: `Authorization: Bearer <token>`.")
    # Checked in a read of its own before the request's transaction starts: on SQLite that
    # one takes the write lock (app.db), which a bad token must never wait for or hold.
    maker = state_of(request.app).sessionmaker
    with without_write_intent():
        async with maker() as lookup:
            token = await TokenRepository(lookup).find(plain)
    if token is None:
        raise Unauthorized("The token is unknown or revoked.", invalid_token=True)
    if not has_scope(token, needed):
        raise Forbidden(f"This needs a token with the {needed!r} scope; yours has {token.scope!r}.")
    # Allowed to write: only now does the request queue for the SQLite write turn.
    await take_write_turn(request)
    await TokenRepository(session).touch(token)
    return token
