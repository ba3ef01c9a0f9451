"""API token queries: looked up by digest on each write. Creating and revoking one (the
CLI's): app.services.tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

from sqlalchemy import select, update

from app.columns import utcnow
from app.models import ApiToken
from app.repositories.base import Repository

SCOPES = ("write", "admin")
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
TOKEN_PREFIX = "pkapi_"  # noqa: S105 (a label, not a secret)


def digest_of(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


class TokenRepository(Repository):
    async def by_name(self, name: str) -> ApiToken | None:
        """The token with this name, revoked or not (names stay taken after revocation)."""
        return await self.session.scalar(select(ApiToken).where(ApiToken.name == name))

    async def list(self) -> Sequence[ApiToken]:
        return (await self.session.scalars(select(ApiToken).order_by(ApiToken.id))).all()

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
