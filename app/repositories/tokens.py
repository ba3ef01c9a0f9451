"""API tokens: created and revoked by the CLI, looked up by digest on each write."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.errors import Conflict, NotFound
from app.models import ApiToken
from app.repositories.base import flush_or_conflict

SCOPES = ("write", "admin")
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
TOKEN_PREFIX = "pkapi_"  # noqa: S105 (a label, not a secret)


def digest_of(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


class TokenRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, name: str, scope: str) -> tuple[ApiToken, str]:
        """A new token; the plain text is returned once and never stored."""
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
        if await self.session.scalar(select(ApiToken.id).where(ApiToken.name == name)):
            # Names stay taken after revocation, so `tokens list` keeps an honest history.
            raise Conflict(
                f"A token named {name!r} already exists (perhaps revoked); choose another name.",
                field="name",
            )
        plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = ApiToken(name=name, scope=scope, digest=digest_of(plain))
        self.session.add(token)
        await flush_or_conflict(self.session, "token")
        return token, plain

    async def list(self) -> Sequence[ApiToken]:
        return (await self.session.scalars(select(ApiToken).order_by(ApiToken.id))).all()

    async def revoke(self, name: str) -> tuple[ApiToken, bool]:
        """The token, and whether this call revoked it (False: it already was)."""
        token = await self.session.scalar(select(ApiToken).where(ApiToken.name == name))
        if token is None:
            raise NotFound(f"No token named {name!r}.")
        if token.revoked is not None:
            return token, False
        token.revoked = utcnow()
        await self.session.flush()
        return token, True

    async def find(self, plain: str) -> ApiToken | None:
        """The live token with this text, or None. Only reads.

        The lookup is by the SHA-256 of the token, never by the token: what the index
        compares is a digest the guesser cannot steer, so timing tells nothing useful.
        """
        digest = digest_of(plain)
        return await self.session.scalar(
            select(ApiToken).where(ApiToken.digest == digest, ApiToken.revoked.is_(None))
        )

    async def touch(self, token: ApiToken) -> None:
        """Record the use at most once a minute, and never wait for it: the row lock of
        the UPDATE would otherwise serialize every concurrent write made with one token."""
        now = utcnow()
        if token.last_used is not None and now - token.last_used < LAST_USED_RESOLUTION:
            return
        free = await self.session.scalar(
            select(ApiToken.id).where(ApiToken.id == token.id).with_for_update(skip_locked=True)
        )
        if free is not None:
            await self.session.execute(
                update(ApiToken).where(ApiToken.id == token.id).values(last_used=now)
            )
