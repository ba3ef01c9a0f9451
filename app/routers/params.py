"""Path parameters several routers declare."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

# No length limit: a long key is simply not found (404), as in the original.
Key = Annotated[str, Path(description="A numeric id or a slug.")]
