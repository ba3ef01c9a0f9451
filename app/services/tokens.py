"""API tokens' rules: a known scope, a name never used before (kept after revocation, so
`tokens list` keeps an honest history), a plain text shown once and stored as a digest."""

from __future__ import annotations

import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from app.columns import utcnow
from app.errors import Conflict, NotFound
from app.models import ApiToken
from app.repositories.base import flush_or_conflict
from app.repositories.tokens import SCOPES, TOKEN_PREFIX, TokenRepository, digest_of

# An admin token may do all a write token may, and edit locked grids (and the lock).
_RANK = {"write": 1, "admin": 2}


def has_scope(token: ApiToken, needed: str) -> bool:
    """Whether the token's scope is `needed` or above it."""
    return _RANK[token.scope] >= _RANK[needed]


def can_admin(token: ApiToken) -> bool:
    return has_scope(token, "admin")


class TokenService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.tokens = TokenRepository(session)

    async def create(self, name: str, scope: str) -> tuple[ApiToken, str]:
        """A new token; the plain text is returned once and never stored."""
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
        if await self.tokens.by_name(name) is not None:
            raise Conflict(
                f"A token named {name!r} already exists (perhaps revoked); choose another name.",
                field="name",
            )
        plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = ApiToken(name=name, scope=scope, digest=digest_of(plain))
        self.session.add(token)
        await flush_or_conflict(self.session, "token")
        return token, plain

    async def revoke(self, name: str) -> tuple[ApiToken, bool]:
        """The token, and whether this call revoked it (False: it already was)."""
        token = await self.tokens.by_name(name)
        if token is None:
            raise NotFound(f"No token named {name!r}.")
        if token.revoked is not None:
            return token, False
        token.revoked = utcnow()
        await self.session.flush()
        return token, True
